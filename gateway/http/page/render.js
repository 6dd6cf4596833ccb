/** The page's parts as DOM: built with textContent only (names and messages come from devices and config, never HTML). */

export function h(tag, attrs = {}, ...children) {
  const node = document.createElement(tag);
  for (const [name, value] of Object.entries(attrs)) {
    if (value === undefined || value === false) continue;
    if (name === 'class') node.className = value;
    else node.setAttribute(name, value === true ? '' : String(value));
  }
  node.append(...children.filter((child) => child !== undefined && child !== null));
  return node;
}

const byId = (id) => document.getElementById(id);

const number = new Intl.NumberFormat(undefined, { maximumFractionDigits: 3 });
const clock = new Intl.DateTimeFormat(undefined, { hour: '2-digit', minute: '2-digit', second: '2-digit' });

export function formatValue(value) {
  // A BigInt (a 64-bit counter) is formatted with all its digits.
  if (typeof value === 'number' || typeof value === 'bigint') return number.format(value);
  if (typeof value === 'boolean') return value ? 'true' : 'false';
  return String(value);
}

export function formatBytes(bytes) {
  if (typeof bytes !== 'number') return '–';
  const units = ['B', 'kB', 'MB', 'GB'];
  let i = 0;
  while (bytes >= 1000 && i < units.length - 1) {
    bytes /= 1000;
    i++;
  }
  return `${number.format(Math.round(bytes * 10) / 10)} ${units[i]}`;
}

export function formatAge(ms) {
  if (typeof ms !== 'number') return '–';
  if (ms < 60_000) return `${Math.round(ms / 1000)} s`;
  if (ms < 3_600_000) return `${Math.round(ms / 60_000)} min`;
  return `${number.format(Math.round(ms / 360_000) / 10)} h`;
}

export function renderHeader(session, readiness) {
  if (session) {
    byId('site').textContent = session.site;
    document.title = `${session.site} · city edge gateway`;
    byId('user').textContent = `${session.user} (${session.role})`;
  }
  if (readiness) {
    const state = byId('gateway-state');
    const parts = readiness.degraded.map((part) => part.part).join(', ');
    state.textContent = readiness.ready ? (parts ? `degraded: ${parts}` : 'running') : `not ready: ${parts}`;
    state.className = `badge ${readiness.ready ? (parts ? 'warn' : 'ok') : 'bad'}`;
  }
}

export function showConnection(connected) {
  byId('connection').hidden = connected;
  document.body.classList.toggle('offline', !connected);
}

/** Active alerts, most severe and newest first; an Acknowledge button for those who may acknowledge. */
export function renderAlerts(alerts, mayAcknowledge, onAcknowledge) {
  const list = byId('alerts');
  const focused = document.activeElement?.closest?.('[data-alert]')?.dataset.alert;
  const rank = { critical: 0, warning: 1, info: 2 };
  const sorted = [...alerts.values()].sort((a, b) => (rank[a.severity] ?? 3) - (rank[b.severity] ?? 3) || b.since - a.since);
  list.replaceChildren(...sorted.map((alert) => alertItem(alert, mayAcknowledge, onAcknowledge)));
  byId('no-alerts').hidden = sorted.length > 0;
  byId('alert-count').textContent = String(sorted.length);
  if (focused) list.querySelector(`[data-alert="${CSS.escape(focused)}"] button`)?.focus();
}

function alertItem(alert, mayAcknowledge, onAcknowledge) {
  const messageId = `alert-${alert.id.replace(/[^A-Za-z0-9_-]/g, '_')}`;
  const ack = alert.acknowledged
    ? h('p', { class: 'acked' }, `Acknowledged by ${alert.acknowledged.by} at ${clock.format(alert.acknowledged.at)}`)
    : mayAcknowledge
      ? h('button', { type: 'button', class: 'ack', 'aria-describedby': messageId }, 'Acknowledge')
      : undefined;
  const problem = h('p', { class: 'problem', role: 'alert', hidden: true });
  if (ack?.tagName === 'BUTTON') {
    ack.addEventListener('click', async () => {
      ack.disabled = true;
      problem.hidden = true;
      try {
        await onAcknowledge(alert);
      } catch (error) {
        problem.textContent = `Not acknowledged: ${error.message}`;
        problem.hidden = false;
        ack.disabled = false;
      }
    });
  }
  return h(
    'li',
    { class: `alert sev-${alert.severity}`, 'data-alert': alert.id },
    h('span', { class: `badge sev-${alert.severity}` }, alert.severity),
    h('p', { class: 'message', id: messageId }, alert.message),
    h('p', { class: 'muted' }, `${alert.device} · ${alert.metric} · since ${clock.format(alert.since)}`),
    ack,
    problem,
  );
}

/** InfluxDB and bridge: state, backlog lines, bytes and age, last error. */
export function renderUplinks(uplinks) {
  byId('uplinks').replaceChildren(
    ...uplinks.map((uplink) => {
      const good = ['ok', 'connected'].includes(uplink.state);
      return h(
        'li',
        { class: 'uplink', 'data-uplink': uplink.name },
        h('strong', {}, uplink.name),
        h('span', { class: `badge ${good ? 'ok' : 'warn'}` }, String(uplink.state ?? 'unknown')),
        h(
          'dl',
          {},
          h('dt', {}, 'backlog'),
          h('dd', {}, typeof uplink.backlog_lines === 'number' ? `${number.format(uplink.backlog_lines)} lines` : '–'),
          h('dt', {}, 'size'),
          h('dd', {}, formatBytes(uplink.backlog_bytes)),
          h('dt', {}, 'oldest'),
          h('dd', {}, formatAge(uplink.backlog_age_ms)),
        ),
        uplink.last_error ? h('p', { class: 'error' }, String(uplink.last_error)) : undefined,
      );
    }),
  );
  byId('no-uplinks').hidden = uplinks.length > 0;
}

/** Devices grouped by domain, each with its state and its metrics' latest values and charts. */
export class Board {
  constructor(charts) {
    this.charts = charts;
    this.domains = new Map();
    this.devices = new Map();
    this.root = byId('domains');
  }

  /** A device's card; one first heard of without a domain (a status before its first reading) moves once it has one. */
  device(name, domain) {
    let device = this.devices.get(name);
    if (device) {
      if (device.domain === OTHER && domain) this.move(device, domain, name);
      return device;
    }
    const title = h('h4', {}, name);
    const state = h('span', { class: 'badge' }, 'unknown');
    const error = h('p', { class: 'error', hidden: true });
    const metrics = h('ul', { class: 'metrics' });
    const card = h('article', { class: 'device', 'data-device': name, 'aria-label': `device ${name}` }, h('header', {}, title, state), error, metrics);
    device = { card, state, error, metrics, rows: new Map(), domain: domain ?? OTHER };
    this.devices.set(name, device);
    insertSorted(this.domain(device.domain), card, name);
    return device;
  }

  move(device, domain, name) {
    const from = this.domains.get(device.domain);
    insertSorted(this.domain(domain), device.card, name);
    device.domain = domain;
    if (from && !from.children.length) {
      from.parentElement.remove();
      this.domains.delete(OTHER);
    }
  }

  status({ device, state, error }, domain) {
    const view = this.device(device, domain);
    view.state.textContent = state;
    view.state.className = `badge ${state === 'online' ? 'ok' : state === 'offline' ? 'bad' : ''}`;
    view.error.textContent = error ?? '';
    view.error.hidden = !error;
  }

  reading(reading) {
    const device = this.device(reading.device, reading.domain);
    let row = device.rows.get(reading.metric);
    if (!row) {
      const value = h('span', { class: 'value' });
      const unit = h('span', { class: 'unit' });
      const chart = h('div', { class: 'chart', role: 'img', 'aria-label': `${reading.metric} of ${reading.device}, last 10 minutes` });
      const item = h('li', { 'data-metric': reading.metric }, h('span', { class: 'metric' }, reading.metric), h('span', { class: 'reading' }, value, ' ', unit), chart);
      row = { value, unit, ts: 0 };
      device.rows.set(reading.metric, row);
      insertSorted(device.metrics, item, reading.metric);
      this.charts.watch(seriesKey(reading), reading.device, chart);
    }
    if (reading.ts < row.ts) return;
    row.ts = reading.ts;
    const text = formatValue(reading.value);
    if (row.value.textContent !== text) row.value.textContent = text;
    row.unit.textContent = reading.unit ?? '';
    row.value.classList.toggle('doubtful', reading.quality !== 'good');
    row.value.title = reading.quality === 'good' ? '' : `quality: ${reading.quality}`;
    this.charts.add(seriesKey(reading), reading.ts, reading.value);
  }

  domain(name) {
    let grid = this.domains.get(name);
    if (!grid) {
      grid = h('div', { class: 'grid' });
      insertSorted(this.root, h('section', { class: 'domain', 'data-domain': name, 'aria-label': `domain ${name}` }, h('h3', {}, name), grid), name);
      this.domains.set(name, grid);
    }
    return grid;
  }
}

const OTHER = 'other';

export function seriesKey({ device, metric }) {
  return `${device}\u0000${metric}`;
}

/** Keeps siblings in name order, so nothing jumps about as devices and metrics appear. */
function insertSorted(parent, node, name) {
  node.dataset.sort = name;
  const after = [...parent.children].find((child) => child.dataset.sort > name);
  parent.insertBefore(node, after ?? null);
}
