/*
 * Real-server peers for InfluxDB forwarding: what these server versions answer, observed on this machine kind
 * (Debian influxdb 1.6.7~rc0-1+b13, victoria-metrics 1.79.5+ds1-2+b5) and checked below.
 *
 * InfluxDB 1.6.7, v1 API (every error answer also carries the message in an `X-Influxdb-Error` header):
 * - Field type conflict (`water,device=a level=1.5 1000`, then `water,device=a level="x" 2000`): POST /write → 400,
 *   application/json, body
 *     {"error":"partial write: field type conflict: input field \"level\" on measurement \"water\" is type string, already exists as type float dropped=1"}
 *   The other lines of the same batch ARE written ("partial write"; `dropped=N` counts the rejected ones).
 * - POST /api/v2/write (any query) → 404, text/plain, body `404 page not found` (Go's mux; no JSON, no X-Influxdb-Error).
 *   The endpoint arrived in 1.8: a v2 client cannot talk to this server.
 * - POST /write?db=missing → 404, application/json, body {"error":"database not found: \"missing\""}
 * - A line that does not parse → 400, {"error":"unable to parse '<line>': <reason>"}.
 * - Acknowledged writes (204) are visible to the next query at once; /query reports a missing database or a bad
 *   statement inside results[i].error with HTTP 200 (a parse error of the whole query is HTTP 400).
 *
 * VictoriaMetrics 1.79.5, POST /api/v2/write?org=..&bucket=..&precision=ms:
 * - Answers 204 (with `X-Influxdb-Version: 1.8.0`) even for rows it throws away: unparsable lines, and rows outside
 *   the retention (default 1 month; the helper sets 100y) or more than ~2 days in the future. It only logs them.
 * - A string field value is stored as the number 0 (`level="x"` becomes a 0 in `water_level`): there is no type conflict.
 * - The bucket does NOT become a label (only the v1 `/write?db=NAME` adds `db="NAME"`).
 * - A new series is invisible to /api/v1/export for up to ~10 s after the write unless /internal/force_flush is
 *   called (exportSeries does that); with it, points show up within about a second. A new point of an existing
 *   series takes about 1 s.
 */
import { existsSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startInfluxDb1, type InfluxDb1 } from './influxdb.js';
import { waitFor } from './net.js';
import { startVictoriaMetrics, type VictoriaMetrics, type VmSeries } from './victoria-metrics.js';

const T = 30_000;
/** A fixed time well before "now" (beyond VictoriaMetrics' default one-month retention). */
const T0 = Date.UTC(2024, 0, 15, 12, 0, 0);

async function post(url: string, body: string): Promise<{ status: number; body: string }> {
  const res = await fetch(url, { method: 'POST', body, signal: AbortSignal.timeout(10_000) });
  return { status: res.status, body: await res.text() };
}

async function refused(url: string): Promise<boolean> {
  try {
    await fetch(url, { signal: AbortSignal.timeout(5_000) });
    return false;
  } catch {
    return true;
  }
}

describe('InfluxDB 1.6.7 peer', () => {
  let influx: InfluxDb1;

  beforeAll(async () => {
    influx = await startInfluxDb1();
  }, T);
  afterAll(async () => {
    await influx?.remove();
  }, T);

  it('reads back what it acknowledged, in epoch ms, across a stop, a kill and restarts on the same port and data', async () => {
    const { port, dataDir, url } = influx;
    await influx.createDatabase('city');
    expect(await post(`${url}/write?db=city&precision=ms`, `water,device=a level=1.5 ${T0}\nwater,device=b level=2.5 ${T0 + 1}`)).toEqual({ status: 204, body: '' });
    const expected = [{ name: 'water', columns: ['time', 'device', 'level'], values: [[T0, 'a', 1.5], [T0 + 1, 'b', 2.5]] }];
    expect(await influx.query('SELECT * FROM water', 'city')).toEqual(expected);
    expect(await influx.query('SELECT level FROM water GROUP BY device', 'city')).toEqual([
      { name: 'water', tags: { device: 'a' }, columns: ['time', 'level'], values: [[T0, 1.5]] },
      { name: 'water', tags: { device: 'b' }, columns: ['time', 'level'], values: [[T0 + 1, 2.5]] },
    ]);

    await influx.stop();
    await influx.stop(); // idempotent
    expect(await refused(`${url}/ping`)).toBe(true);
    influx = await startInfluxDb1({ port, dataDir });
    expect(influx.url).toBe(url);
    expect(await influx.query('SELECT * FROM water', 'city')).toEqual(expected);

    // A power cut right after the acknowledgement loses nothing: the WAL is fsynced per write.
    expect((await post(`${url}/write?db=city&precision=ms`, `water,device=c level=3.5 ${T0 + 2}`)).status).toBe(204);
    await influx.kill();
    await influx.kill();
    influx = await startInfluxDb1({ port, dataDir });
    const [water] = await influx.query('SELECT * FROM water', 'city');
    expect(water?.values).toEqual([[T0, 'a', 1.5], [T0 + 1, 'b', 2.5], [T0 + 2, 'c', 3.5]]);
  }, T);

  it('answers a field type conflict with 400 and writes the rest of the batch', async () => {
    await influx.createDatabase('conflict');
    const write = `${influx.url}/write?db=conflict&precision=ms`;
    expect((await post(write, 'water,device=a level=1.5 1000')).status).toBe(204);
    const conflict = await post(write, 'water,device=a level="x" 2000');
    expect(conflict.status).toBe(400);
    expect(conflict.body).toContain('field type conflict');
    expect(JSON.parse(conflict.body)).toEqual({
      error: 'partial write: field type conflict: input field "level" on measurement "water" is type string, already exists as type float dropped=1',
    });

    const batch = await post(write, 'water,device=b level=2.5 3000\nwater,device=b level="y" 4000\nwater,device=c level=3.5 5000');
    expect(batch.status).toBe(400);
    expect(batch.body).toMatch(/partial write: field type conflict: .* dropped=1/);
    const [water] = await influx.query('SELECT level FROM water', 'conflict');
    expect(water?.values).toEqual([[1000, 1.5], [3000, 2.5], [5000, 3.5]]);
  }, T);

  it('has no v2 write API and 404s a write to a missing database', async () => {
    const v2 = await post(`${influx.url}/api/v2/write?org=o&bucket=city&precision=ms`, 'water,device=a level=1.5 1000');
    expect(v2).toEqual({ status: 404, body: '404 page not found\n' });
    const missing = await post(`${influx.url}/write?db=missing&precision=ms`, 'water,device=a level=1.5 1000');
    expect(missing.status).toBe(404);
    expect(JSON.parse(missing.body)).toEqual({ error: 'database not found: "missing"' });
    const unparsable = await post(`${influx.url}/write?db=city&precision=ms`, 'water,device=a level= 1000');
    expect(unparsable.status).toBe(400);
    expect(JSON.parse(unparsable.body)).toEqual({ error: "unable to parse 'water,device=a level= 1000': missing field value" });

    await expect(influx.query('SELECT * FROM water', 'missing')).rejects.toThrow(/database not found: missing/);
    await expect(influx.query('SELEC * FROM water', 'city')).rejects.toThrow(/InfluxDB 400 .*error parsing query/);
  }, T);

  it('remove() stops it and deletes its temp dir', async () => {
    const { dataDir, url } = influx;
    expect(existsSync(dataDir)).toBe(true);
    await influx.remove();
    await influx.remove(); // idempotent
    expect(existsSync(dataDir)).toBe(false);
    expect(await refused(`${url}/ping`)).toBe(true);
  }, T);
});

describe('VictoriaMetrics peer', () => {
  let vm: VictoriaMetrics;

  beforeAll(async () => {
    vm = await startVictoriaMetrics();
  }, T);
  afterAll(async () => {
    await vm?.remove();
  }, T);

  const byName = (series: VmSeries[]): Record<string, VmSeries> =>
    Object.fromEntries(series.map((s) => [s.metric.__name__, s]));

  it('reads back v2 writes as <measurement>_<field> series, also after a restart on the same port and data', async () => {
    const { port, dataDir, url } = vm;
    const write = `${url}/api/v2/write?org=o&bucket=b&precision=ms`;
    const lines = [
      `water,device=a level=1.5,temp=20i ${T0}`,
      `water,device=a level=2.5,temp=21i ${T0 + 1000}`,
      `water,device=a level="x" ${T0 + 2000}`,
      'this line does not parse',
      'water,device=old level=9 1000', // 1970: kept only thanks to -retentionPeriod=100y
    ];
    expect(await post(write, lines.join('\n'))).toEqual({ status: 204, body: '' });

    const expected = {
      water_level: { metric: { __name__: 'water_level', device: 'a' }, values: [1.5, 2.5, 0], timestamps: [T0, T0 + 1000, T0 + 2000] },
      water_temp: { metric: { __name__: 'water_temp', device: 'a' }, values: [20, 21], timestamps: [T0, T0 + 1000] },
    };
    const found = await waitFor(async () => {
      const series = byName(await vm.exportSeries('{__name__=~"water_.*",device="a"}'));
      return series.water_level?.values.length === 3 && series.water_temp?.values.length === 2 ? series : undefined;
    }, { what: 'the water series in VictoriaMetrics', timeoutMs: T });
    expect(found).toEqual(expected);
    const old = await waitFor(async () => (await vm.exportSeries('{device="old"}'))[0], { what: 'the 1970 point', timeoutMs: T });
    expect(old).toEqual({ metric: { __name__: 'water_level', device: 'old' }, values: [9], timestamps: [1000] });

    await vm.stop();
    await vm.stop(); // idempotent
    expect(await refused(`${url}/health`)).toBe(true);
    vm = await startVictoriaMetrics({ port, dataDir });
    expect(vm.url).toBe(url);
    const again = await waitFor(async () => {
      const series = byName(await vm.exportSeries('{__name__=~"water_.*",device="a"}'));
      return Object.keys(series).length === 2 ? series : undefined;
    }, { what: 'the water series after the restart', timeoutMs: T });
    expect(again).toEqual(expected);
  }, 2 * T);

  it('remove() stops it and deletes its temp dir', async () => {
    const { dataDir, url } = vm;
    expect(existsSync(dataDir)).toBe(true);
    await vm.remove();
    await vm.remove(); // idempotent
    expect(existsSync(dataDir)).toBe(false);
    expect(await refused(`${url}/health`)).toBe(true);
  }, T);
});
