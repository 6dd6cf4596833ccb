/**
 * Small uPlot charts of the last minutes of each metric. Points are kept per series (one a second at most, the
 * server's history step); a chart exists only while its row is on screen, and charts redraw at most once a second
 * and not at all while the page is hidden: a phone with a hundred series stays cool.
 */
const WINDOW_S = 10 * 60;
const HEIGHT = 72;
const REDRAW_MS = 1000;

const options = (width) => ({
  width,
  height: HEIGHT,
  legend: { show: false },
  cursor: { show: false },
  select: { show: false },
  scales: { x: { time: true } },
  axes: [
    { size: 22, font: '11px system-ui, sans-serif', ticks: { size: 3 }, gap: 2 },
    { size: labelWidth, font: '11px system-ui, sans-serif', ticks: { size: 3 }, gap: 2 },
  ],
  series: [{}, { stroke: '#1d5fa6', width: 1.5, fill: 'rgba(29, 95, 166, 0.10)', points: { show: false } }],
});

export class Charts {
  /** `loadHistory(device)` resolves to the device's series from /api/readings/history; asked once per device. */
  constructor({ loadHistory }) {
    this.loadHistory = loadHistory;
    this.series = new Map();
    this.seeded = new Set();
    this.visible = new IntersectionObserver((entries) => entries.forEach((entry) => this.onVisibility(entry)), { rootMargin: '150px' });
    this.resized = new ResizeObserver((entries) => entries.forEach((entry) => this.onResize(entry.target)));
    setInterval(() => this.redraw(), REDRAW_MS);
  }

  /** Charts the series `key` of `device` in the element `box` once it comes on screen. */
  watch(key, device, box) {
    this.entry(key).box = box;
    box.dataset.series = key;
    box.dataset.seriesDevice = device;
    this.visible.observe(box);
  }

  /** A live point (epoch ms); a later one in the same second replaces it. */
  add(key, ts, value) {
    // A chart plots a 64-bit counter (BigInt) as the nearest double; the table shows its digits.
    if (typeof value === 'boolean' || typeof value === 'bigint') value = Number(value);
    if (typeof value !== 'number') return;
    const series = this.entry(key);
    const t = ts / 1000;
    const last = series.ts.length - 1;
    if (last >= 0 && t < series.ts[last]) return;
    if (last >= 0 && Math.floor(series.ts[last]) === Math.floor(t)) {
      series.ts[last] = t;
      series.values[last] = value;
    } else {
      series.ts.push(t);
      series.values.push(value);
      trim(series, t - WINDOW_S);
    }
    series.dirty = true;
  }

  /** Forgets which devices' history was loaded (after a reconnect: the gap is filled from the server again). */
  reseed() {
    this.seeded.clear();
    for (const series of this.series.values()) if (series.chart) this.seed(series.box.dataset.seriesDevice);
  }

  entry(key) {
    let series = this.series.get(key);
    if (!series) {
      series = { ts: [], values: [], chart: undefined, box: undefined, dirty: false };
      this.series.set(key, series);
    }
    return series;
  }

  onVisibility(entry) {
    const series = this.series.get(entry.target.dataset.series);
    if (!series) return;
    if (entry.isIntersecting && !series.chart) {
      series.chart = new window.uPlot(options(widthOf(series.box)), [series.ts, series.values], series.box);
      this.resized.observe(series.box);
      this.seed(series.box.dataset.seriesDevice);
    } else if (!entry.isIntersecting && series.chart) {
      this.resized.unobserve(series.box);
      series.chart.destroy();
      series.chart = undefined;
    }
  }

  onResize(box) {
    this.series.get(box.dataset.series)?.chart?.setSize({ width: widthOf(box), height: HEIGHT });
  }

  async seed(device) {
    if (this.seeded.has(device)) return;
    this.seeded.add(device);
    try {
      for (const { key, ts, values } of await this.loadHistory(device)) {
        const series = this.entry(key);
        // History up to the first live point kept here, then the live points.
        const firstLive = series.ts[0] ?? Infinity;
        const older = ts.map((t) => t / 1000).filter((t) => t < firstLive);
        series.values = [...values.slice(0, older.length), ...series.values];
        series.ts = [...older, ...series.ts];
        series.dirty = true;
      }
    } catch (error) {
      this.seeded.delete(device);
      console.warn(`history of ${device}:`, error);
    }
  }

  redraw() {
    if (document.hidden) return;
    const since = Date.now() / 1000 - WINDOW_S;
    for (const series of this.series.values()) {
      if (!series.dirty || !series.chart) continue;
      trim(series, since);
      series.chart.setData([series.ts, series.values]);
      series.dirty = false;
    }
  }
}

/** Drops the points before `since` (seconds): a series off screen keeps ten minutes, not the whole day. */
function trim(series, since) {
  let old = 0;
  while (old < series.ts.length && series.ts[old] < since) old++;
  if (old) {
    series.ts.splice(0, old);
    series.values.splice(0, old);
  }
}

/** The y axis as wide as its longest label (482,913.4 kWh needs more room than 0.94). */
function labelWidth(chart, values, axisIndex, cycle) {
  const axis = chart.axes[axisIndex];
  if (cycle > 1) return axis._size;
  const longest = (values ?? []).reduce((a, b) => (b.length > a.length ? b : a), '');
  chart.ctx.font = axis.font[0];
  return Math.ceil(axis.ticks.size + axis.gap + chart.ctx.measureText(longest).width / devicePixelRatio) + 4;
}

function widthOf(box) {
  return Math.max(120, Math.floor(box.clientWidth));
}
