/**
 * The data disk fills up under `data_dir` (a real 2 MB tmpfs) while InfluxDB is down, then InfluxDB comes back, then
 * something else takes the last bytes of the disk. The gateway runs as its own process, a field device publishes at
 * QoS 1 with mqtt.js (which sends an unacknowledged message again on every reconnect), and a live subscriber counts
 * what the gateway republishes on the normalised topics and the alerts it announces.
 */
import { mkdtempSync, rmSync, unlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import mqtt, { type MqttClient } from 'mqtt';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { hashPassword } from '../../gateway/broker/password.js';
import { startInfluxDb1, type InfluxDb1 } from '../peers/influxdb.js';
import { freePort, waitFor } from '../peers/net.js';
import { stopChild } from '../peers/process.js';
import { spawnGateway, type GatewayProcess } from '../support/gateway-process.js';
import { canMountTmpfs, fillDisk, mountTmpfs, unmountTmpfs } from '../support/tmpfs.js';
import { influxV1Section } from '../support/config-sections.js';

const METRICS = 200;
const TOPIC = 'city/lab/ingest/water/gauge-4';

/** One publish: METRICS readings sharing the timestamp `ts` (one InfluxDB point with METRICS fields); m0 is `level`. */
function payload(ts: number, level = 0): string {
  return JSON.stringify(Object.fromEntries(Array.from({ length: METRICS }, (_, m) => [`m${m}`, { value: m === 0 ? level : m, ts }])));
}

/** Readings (fields) stored in InfluxDB, and the timestamps of the points. */
async function storedReadings(influx: InfluxDb1): Promise<{ readings: number; points: number[] }> {
  const [counts] = await influx.query('SELECT COUNT(*) FROM water', 'city');
  const [points] = await influx.query('SELECT m0 FROM water', 'city');
  const readings = ((counts?.values[0] ?? []).slice(1) as number[]).reduce((sum, n) => sum + n, 0);
  return { readings, points: (points?.values ?? []).map((row) => row[0] as number) };
}

/** The running total the gateway logs with each drop to make room on the data disk (0 when it never dropped). */
function droppedForSpace(output: string): number {
  const totals = [...output.matchAll(/ total_dropped_disk_full=(\d+)/g)].map((m) => Number(m[1]));
  return totals.at(-1) ?? 0;
}

/** The promise's value, or a failure naming what did not happen within `ms`. */
async function within<T>(promise: Promise<T>, ms: number, what: () => string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const bound = new Promise<never>((_, reject) => (timer = setTimeout(() => reject(new Error(`no ${what()} within ${ms} ms`)), ms)));
  try {
    return await Promise.race([promise, bound]);
  } finally {
    clearTimeout(timer);
  }
}

function connect(port: number, opts: mqtt.IClientOptions): Promise<MqttClient> {
  return mqtt.connectAsync(`mqtt://127.0.0.1:${port}`, { reconnectPeriod: 200, connectTimeout: 5000, ...opts });
}

describe.skipIf(!canMountTmpfs)('disk full under data_dir (mounts a 2 MB tmpfs: needs root)', () => {
  let influx: InfluxDb1 | undefined;
  let dir = '';
  let dataDir = '';
  let mounted = false;
  const gateways: GatewayProcess[] = [];
  const clients: MqttClient[] = [];

  beforeAll(async () => {
    influx = await startInfluxDb1();
    dir = mkdtempSync(join(tmpdir(), 'gw-disk-full-'));
    dataDir = join(dir, 'data');
    mountTmpfs(dataDir, '2m');
    mounted = true;
  });
  afterAll(async () => {
    for (const client of clients) await client.endAsync(true);
    for (const gateway of gateways) await gateway.cleanup();
    await influx?.remove();
    if (mounted) unmountTmpfs(dataDir);
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it('drops the oldest (counted), resumes forwarding by itself, refuses QoS 1 with a reason while nothing fits, and restarts on a full disk', { timeout: 300_000 }, async () => {
    const lab = influx!;
    const mqttPort = await freePort();
    const config = join(dir, 'gateway.yaml');
    writeFileSync(
      config,
      `site: lab
data_dir: ${dataDir}
mqtt:
  listeners: [{ host: 127.0.0.1, port: ${mqttPort} }]
  users:
    - { username: gauge-4, role: device, password_hash: "${await hashPassword('gauge-pass', { ln: 10 })}" }
devices:
  - { name: gauge-4, driver: mqtt, domain: water, tags: { river: east } }
rules:
  - { name: flood, match: { metric: m0 }, above: 1000, clear: 900, severity: critical }
${influxV1Section(lab.url)}`,
    );
    await lab.stop();
    const first = await spawnGateway(config);
    gateways.push(first);

    const seen = new Map<number, number>();
    const subscriber = await connect(mqttPort, { clientId: 'watcher' });
    clients.push(subscriber);
    const errors: string[] = [];
    const alerts: { kind: string; rule: string }[] = [];
    subscriber.on('message', (topic, message) => {
      if (topic.endsWith('/errors')) errors.push(message.toString());
      else if (topic === 'city/lab/events/alerts') alerts.push(JSON.parse(message.toString()) as { kind: string; rule: string });
      else {
        const ts = (JSON.parse(message.toString()) as { ts: number }).ts;
        seen.set(ts, (seen.get(ts) ?? 0) + 1);
      }
    });
    await subscriber.subscribeAsync(['city/lab/water/#', 'city/lab/clients/gauge-pub/errors', 'city/lab/events/alerts'], { qos: 0 });

    const device = await connect(mqttPort, { clientId: 'gauge-pub', username: 'gauge-4', password: 'gauge-pass' });
    clients.push(device);

    // 1. InfluxDB down: the buffer fills the disk (~13 KB per publish, 300 publishes on 2 MB); every publish is acknowledged.
    const base = Date.now() - 3_600_000;
    const acknowledged: number[] = [];
    for (let i = 0; i < 300; i++) {
      await within(device.publishAsync(TOPIC, payload(base + i), { qos: 1 }), 20_000, () => `PUBACK of publish ${i} (republished so far: ${[...seen.values()].reduce((a, b) => a + b, 0)} readings for ${i + 1} publishes)`);
      acknowledged.push(base + i);
    }
    expect(droppedForSpace(first.output())).toBeGreaterThan(0);

    // 2. InfluxDB back: forwarding resumes by itself; what is missing is exactly what was counted as dropped.
    influx = await startInfluxDb1({ port: lab.port, dataDir: lab.dataDir });
    const afterOutage = await waitFor(
      async () => {
        const stored = await storedReadings(influx!);
        return stored.readings + droppedForSpace(first.output()) === acknowledged.length * METRICS ? stored : undefined;
      },
      { what: 'every acknowledged reading in InfluxDB or counted as dropped', timeoutMs: 120_000 },
    );
    // Drops take whole publishes (a publish is appended as one), oldest first: the newest are all there. (The oldest
    // may be there too: the batch in flight when its segment was dropped reached InfluxDB after all, uncounted.)
    expect(afterOutage.readings).toBe(afterOutage.points.length * METRICS);
    expect(afterOutage.points).toEqual(expect.arrayContaining(acknowledged.slice(-50)));
    expect(first.output()).not.toMatch(/forwarder stopped/);

    // 3. Something else takes the rest of the disk while the buffer is empty (it gave back the room of what it sent):
    // nothing can be stored, QoS 1 is refused. The rules judge what arrives all the same: a flood is announced at once.
    const filler = fillDisk(dataDir, 'filler');
    const refusedTs = base + 1000;
    expect(alerts).toEqual([]);
    const pending = device.publishAsync(TOPIC, payload(refusedTs, 5000), { qos: 1 });
    await waitFor(() => (alerts.some((a) => a.kind === 'firing' && a.rule === 'flood') ? true : undefined), { what: 'the flood alert for a reading the full disk refused', timeoutMs: 30_000 });
    // Each refusal is told on the error topic; mqtt.js sends the unacknowledged message again on each reconnect.
    const refusals = (): number => errors.filter((e) => /cannot be stored/.test(e)).length;
    await waitFor(() => (refusals() >= 3 ? true : undefined), { what: 'three refusals on the error topic', timeoutMs: 30_000 });
    expect(seen.get(refusedTs)).toBeUndefined(); // refused readings are not republished, however often they come
    // Sent again and again, the same reading is the same flood: announced once. (A restart on this full disk may announce
    // it again: the active alerts could not be saved.)
    expect(alerts.filter((a) => a.kind === 'firing')).toHaveLength(1);

    // 4. A restart with the disk still full works.
    await stopChild(first.child, 'SIGTERM', 30_000);
    expect(first.output()).toMatch(/gateway stopped/);
    const refusedBefore = refusals();
    const second = await spawnGateway(config);
    gateways.push(second);
    // The restarted gateway refuses the redelivered message too; the watcher, back and subscribed, hears it.
    await waitFor(() => (refusals() > refusedBefore ? true : undefined), { what: 'a refusal by the restarted gateway', timeoutMs: 30_000 });
    expect(seen.get(refusedTs)).toBeUndefined();

    // 5. Space comes back: the pending publish is taken once, republished once, and reaches InfluxDB.
    unlinkSync(filler);
    await pending;
    await waitFor(() => (seen.get(refusedTs) === METRICS ? true : undefined), { what: 'the once-refused readings republished', timeoutMs: 30_000 });
    await waitFor(async () => ((await storedReadings(influx!)).points.includes(refusedTs) ? true : undefined), { what: 'the once-refused readings in InfluxDB', timeoutMs: 60_000 });
    expect(seen.get(refusedTs)).toBe(METRICS);
    // Every acknowledged publish was republished exactly once (no republish loop).
    for (const ts of acknowledged) expect(seen.get(ts)).toBe(METRICS);
    expect(second.output()).not.toMatch(/forwarder stopped/);
  });
});
