/**
 * InfluxDB forwarding against real servers: InfluxDB 1.6.7 on the v1 write API, VictoriaMetrics on the v2 one.
 * Readings enter the gateway's pipeline as a driver would emit them; the tests read them back from the server.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { Reading } from '../../gateway/model.js';
import { startInfluxDb1, type InfluxDb1 } from '../peers/influxdb.js';
import { freePort, waitFor } from '../peers/net.js';
import { startVictoriaMetrics, type VictoriaMetrics } from '../peers/victoria-metrics.js';
import { startGateway, type RunningGateway } from '../support/gateway.js';
import { influxHealth } from '../support/health.js';

const T0 = Date.UTC(2026, 10, 23, 8, 0, 0);

/** One reading of each domain with the values a real poll gives: floats, whole numbers, booleans, strings. */
function districtReadings(ts: number): Reading[] {
  return [
    { device: 'pump-3', domain: 'water', metric: 'level', value: 3.0554912, unit: 'm', ts, quality: 'good', tags: { zone: 'north' } },
    { device: 'pump-3', domain: 'water', metric: 'pump_running', value: true, ts, quality: 'good', tags: { zone: 'north' } },
    { device: 'loop-a12', domain: 'traffic', metric: 'vehicle_count', value: 18234, unit: 'veh', ts, quality: 'good', tags: { zone: 'centre', lane: 'northbound' } },
    { device: 'feeder-7', domain: 'energy', metric: 'active_power', value: -214.75, unit: 'kW', ts, quality: 'good' },
    { device: 'feeder-7', domain: 'energy', metric: 'firmware', value: 'v2.1 "beta"', ts, quality: 'good' },
  ];
}

function influxSection(lines: string[]): string {
  return `influx:\n${lines.map((l) => `  ${l}`).join('\n')}\n  flush_interval: 50ms\n  retry_initial: 50ms\n  retry_max: 300ms\n`;
}

describe('InfluxDB 1.6.7 over the v1 write API', () => {
  let influx: InfluxDb1;
  let gw: RunningGateway | undefined;

  beforeAll(async () => {
    influx = await startInfluxDb1();
  });
  afterEach(async () => {
    await gw?.stop();
    gw = undefined;
  });
  afterAll(async () => {
    await influx?.remove();
  });

  it('writes every domain with exact values, tags and timestamps (creating the database)', async () => {
    gw = await startGateway(`site: lab\n${influxSection([`url: ${influx.url}`, 'api: v1', 'database: city', 'create_database: true'])}`);
    gw.gateway.pipeline.publish(districtReadings(T0));
    const water = await waitFor(async () => {
      const series = await influx.query('SELECT * FROM water', 'city');
      return series[0]?.values.length === 1 ? series[0] : undefined;
    }, { what: 'the water point in InfluxDB' });
    expect(rows(water)).toEqual([{ time: T0, device: 'pump-3', site: 'lab', zone: 'north', level: 3.0554912, pump_running: true }]);
    const [traffic] = await influx.query('SELECT * FROM traffic', 'city');
    expect(rows(traffic!)).toEqual([{ time: T0, device: 'loop-a12', site: 'lab', zone: 'centre', lane: 'northbound', vehicle_count: 18234 }]);
    // One batch carried all five, so the other domains are there too.
    const [energy] = await influx.query('SELECT * FROM energy', 'city');
    expect(rows(energy!)).toEqual([{ time: T0, device: 'feeder-7', site: 'lab', active_power: -214.75, firmware: 'v2.1 "beta"' }]);
    // Whole numbers are floats, so the field type never changes with the value.
    const [types] = await influx.query('SHOW FIELD KEYS FROM traffic', 'city');
    expect(types!.values).toEqual([['vehicle_count', 'float']]);
    expect(influxHealth(gw.gateway)).toMatchObject({ state: 'ok', backlog: 0, written: 5, dropped: 0, deadLettered: 0 });
  });

  it('loses nothing and duplicates nothing across an outage of the server', async () => {
    gw = await startGateway(`site: lab\n${influxSection([`url: ${influx.url}`, 'api: v1', 'database: outage', 'create_database: true'])}`);
    const running = gw;
    let n = 0;
    const publish = (count: number) => {
      for (let i = 0; i < count; i++, n++) running.gateway.pipeline.publish([{ device: 'pump-1', domain: 'water', metric: 'flow', value: n * 0.25, ts: T0 + n, quality: 'good' }]);
    };
    publish(200);
    await waitFor(() => (influxHealth(running.gateway)!.written >= 200 ? true : undefined), { what: 'the first 200 written' });

    await influx.stop();
    publish(300);
    await waitFor(() => (influxHealth(running.gateway)!.state === 'unreachable' ? true : undefined), { what: 'the outage noticed' });
    publish(300);
    expect(influxHealth(running.gateway)!.backlog).toBeGreaterThan(0);

    influx = await startInfluxDb1({ port: influx.port, dataDir: influx.dataDir });
    publish(200);
    const values = await waitFor(async () => {
      const [series] = await influx.query('SELECT flow FROM water', 'outage');
      return series && series.values.length >= 1000 ? series.values : undefined;
    }, { what: 'all 1000 readings after the outage', timeoutMs: 60_000 });
    expect(values).toHaveLength(1000);
    expect(values.map((row) => row[0])).toEqual(Array.from({ length: 1000 }, (_, i) => T0 + i));
    expect(values.map((row) => row[1])).toEqual(Array.from({ length: 1000 }, (_, i) => i * 0.25));
    expect(influxHealth(running.gateway)).toMatchObject({ state: 'ok', backlog: 0, dropped: 0 });
    expect(running.logs.filter((line) => line.includes('InfluxDB unreachable'))).toHaveLength(1);
  });

  it('sets a field type conflict aside in the dead-letter file and keeps writing the good points', async () => {
    gw = await startGateway(`site: lab\n${influxSection([`url: ${influx.url}`, 'api: v1', 'database: conflicts', 'create_database: true'])}`);
    const point = (i: number, value: number | string): Reading => ({ device: 'pump-2', domain: 'water', metric: 'level', value, ts: T0 + i, quality: 'good' });
    gw.gateway.pipeline.publish([point(0, 1.5)]);
    await waitFor(() => (influxHealth(gw!.gateway)!.written === 1 ? true : undefined), { what: 'the first float written' });
    gw.gateway.pipeline.publish([point(1, 2.5), point(2, 'sensor fault'), point(3, 3.5)]);
    gw.gateway.pipeline.publish([point(4, 4.5)]);
    const levels = await waitFor(async () => {
      const [series] = await influx.query('SELECT level FROM water', 'conflicts');
      return series && series.values.length >= 4 ? series.values : undefined;
    }, { what: 'the good points around the bad one' });
    expect(levels).toEqual([[T0, 1.5], [T0 + 1, 2.5], [T0 + 3, 3.5], [T0 + 4, 4.5]]);
    // InfluxDB 1.x writes the good points of a partial write at once: the forwarder may still be isolating the bad one.
    const health = await waitFor(() => (influxHealth(gw!.gateway)!.backlog === 0 ? influxHealth(gw!.gateway) : undefined), { what: 'the batch isolated and committed' });
    expect(health).toMatchObject({ deadLettered: 1, backlog: 0, state: 'ok' });
    const deadLetters = readFileSync(join(gw.dir, 'data', 'influx', 'dead-letter.jsonl'), 'utf8').trim().split('\n').map((l) => JSON.parse(l) as { status: number; reason: string; line: string });
    expect(deadLetters).toHaveLength(1);
    expect(deadLetters[0]).toMatchObject({ status: 400, line: `water,device=pump-2,site=lab level="sensor fault" ${T0 + 2}` });
    expect(deadLetters[0]!.reason).toMatch(/field type conflict/);
  });
});

describe('VictoriaMetrics over the v2 write API', () => {
  let vm: VictoriaMetrics;
  let gw: RunningGateway;

  beforeAll(async () => {
    vm = await startVictoriaMetrics();
    gw = await startGateway(`site: lab\n${influxSection([`url: ${vm.url}`, 'api: v2', 'org: city', 'bucket: sensors', 'token: secret'])}`);
  });
  afterAll(async () => {
    await gw?.stop();
    await vm?.remove();
  });

  it('writes every domain with exact values, tags and timestamps', async () => {
    gw.gateway.pipeline.publish(districtReadings(T0));
    const series = await waitFor(async () => {
      const found = await vm.exportSeries('{__name__=~"(water|traffic|energy)_.*"}');
      return found.length >= 4 ? found : undefined;
    }, { what: 'the numeric series in VictoriaMetrics', timeoutMs: 30_000 });
    const byName = Object.fromEntries(series.map((s) => [s.metric.__name__, s]));
    expect(byName.water_level).toMatchObject({ metric: { __name__: 'water_level', device: 'pump-3', site: 'lab', zone: 'north' }, values: [3.0554912], timestamps: [T0] });
    expect(byName.water_pump_running).toMatchObject({ values: [1], timestamps: [T0] });
    expect(byName.traffic_vehicle_count).toMatchObject({ metric: { device: 'loop-a12', lane: 'northbound', zone: 'centre', site: 'lab' }, values: [18234], timestamps: [T0] });
    expect(byName.energy_active_power).toMatchObject({ metric: { device: 'feeder-7', site: 'lab' }, values: [-214.75], timestamps: [T0] });
    expect(influxHealth(gw.gateway)).toMatchObject({ state: 'ok', backlog: 0, written: 5 });
  });
});

describe('buffer limit while InfluxDB is unreachable', () => {
  it('drops the oldest beyond the limit, counts them, and keeps the files within it', async () => {
    const port = await freePort(); // nothing listens there
    const gw = await startGateway(`site: lab\n${influxSection([`url: http://127.0.0.1:${port}`, 'api: v2', 'org: o', 'bucket: b', 'buffer: { max_size: 64KB }'])}`);
    try {
      for (let i = 0; i < 100; i++) {
        gw.gateway.pipeline.publish(Array.from({ length: 50 }, (_, j) => ({ device: 'meter-9', domain: 'energy', metric: 'voltage_l1', value: 230 + j / 100, ts: T0 + i * 50 + j, quality: 'good' as const })));
      }
      await waitFor(() => (influxHealth(gw.gateway)!.state === 'unreachable' ? true : undefined), { what: 'the unreachable server noticed' });
      const health = influxHealth(gw.gateway)!;
      expect(health.dropped).toBeGreaterThan(0);
      expect(health.backlog + health.dropped).toBe(5000);
      expect(health.backlogBytes).toBeLessThanOrEqual(64 * 1024);
      expect(health.lastError).toMatch(/ECONNREFUSED/);
      expect(gw.logs.some((line) => line.includes('buffer full: dropped the oldest readings'))).toBe(true);
    } finally {
      await gw.stop();
    }
  });
});

/** InfluxQL series as objects (tags folded in), for whole-row comparisons. */
function rows(series: { columns: string[]; values: unknown[][]; tags?: Record<string, string> }): Record<string, unknown>[] {
  return series.values.map((row) => {
    const out: Record<string, unknown> = { ...series.tags };
    series.columns.forEach((column, i) => {
      if (row[i] !== null) out[column] = row[i];
    });
    return out;
  });
}

describe('a v2 writer pointed at InfluxDB 1.6.7', () => {
  it('says what is wrong (no v2 endpoint) and keeps the readings', async () => {
    const influx = await startInfluxDb1();
    const gw = await startGateway(`site: lab\n${influxSection([`url: ${influx.url}`, 'api: v2', 'org: o', 'bucket: b'])}`);
    try {
      gw.gateway.pipeline.publish(districtReadings(T0));
      const health = await waitFor(() => (influxHealth(gw.gateway)!.state === 'misconfigured' ? influxHealth(gw.gateway) : undefined), { what: 'the missing endpoint noticed' });
      expect(health).toMatchObject({ backlog: 5, written: 0 });
      expect(health!.lastError).toMatch(/use api: v1/);
    } finally {
      await gw.stop();
      await influx.remove();
    }
  });
});
