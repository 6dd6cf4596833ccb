/**
 * The wall clock jumps an hour forward and back under a running gateway, as when NTP corrects a box that booted
 * with a wrong time. Polling must stay on schedule, time-based rules (stale, offline) must not fire from the jump,
 * and every reading must still reach InfluxDB (stamped with the wall clock of its moment).
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { fakeClock } from '../peers/faketime.js';
import { startInfluxDb1, type InfluxDb1 } from '../peers/influxdb.js';
import { mosquittoSub, type MosquittoSub } from '../peers/mosquitto-sub.js';
import { freePort, waitFor } from '../peers/net.js';
import { spawnGateway, type GatewayProcess } from '../support/gateway-process.js';
import { influxV1Section, simulatedFeederSections } from '../support/config-sections.js';

const HOUR = 3_600_000;
const POLL_MS = 200;

describe('the wall clock jumping an hour forward and back (libfaketime)', () => {
  let dir = '';
  let influx: InfluxDb1;
  let gateway: GatewayProcess | undefined;
  const subs: MosquittoSub[] = [];

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'gw-clock-'));
    influx = await startInfluxDb1();
  });
  afterAll(async () => {
    for (const sub of subs) await sub.stop();
    await gateway?.cleanup();
    await influx?.remove();
    rmSync(dir, { recursive: true, force: true });
  });

  it('keeps polling on schedule, fires no time-based alert and loses no reading', async () => {
    const mqttPort = await freePort();
    const slavePort = await freePort();
    const config = join(dir, 'gateway.yaml');
    writeFileSync(
      config,
      `site: lab
data_dir: ${join(dir, 'data')}
mqtt:
  listeners: [{ host: 127.0.0.1, port: ${mqttPort} }]
profiles_dir: ${resolve('config', 'profiles')}
${simulatedFeederSections(slavePort, { pollMs: POLL_MS, seed: 5 })}rules:
  - { name: feeder-silent, match: { device: feeder-1, metric: frequency }, stale: 5s }
  - { name: feeder-down, offline: true, for: 2s }
  - { name: frequency-swing, match: { metric: frequency }, rate: { above: 1000, per: 10s } }
${influxV1Section(influx.url)}`,
    );
    const clock = fakeClock(dir);
    gateway = await spawnGateway(config, { env: clock.env });
    const readings = mosquittoSub({ port: mqttPort, topic: 'city/lab/energy/feeder-1/frequency' });
    const alerts = mosquittoSub({ port: mqttPort, topic: ['city/lab/events/alerts', 'city/lab/status/#'] });
    subs.push(readings, alerts);
    await Promise.all([readings.ready(), alerts.ready()]);

    /** Moves the clock, waits for the first reading stamped in the new frame, then counts readings for a while. */
    const phase = async (offset: string, shiftMs: number) => {
      clock.set(offset);
      const from = readings.messages.length;
      await waitFor(
        () => readings.messages.slice(from).some((m) => Math.abs((JSON.parse(m.payload) as { ts: number }).ts - (Date.now() + shiftMs)) < 60_000) || undefined,
        { what: `a reading stamped ${offset}`, timeoutMs: 20_000 },
      );
      const counted = readings.messages.length;
      const started = performance.now();
      await waitFor(() => (performance.now() - started >= 4_000 ? true : undefined), { what: '4 s of readings', timeoutMs: 10_000 });
      return ((readings.messages.length - counted) * 1000) / (performance.now() - started);
    };

    const rates = { before: await phase('+0', 0), forward: await phase('+1h', HOUR), back: await phase('+0', 0), behind: await phase('-1h', -HOUR) };
    const expected = 1000 / POLL_MS;
    for (const [name, rate] of Object.entries(rates)) expect(rate, `readings/s ${name}`).toBeGreaterThan(expected * 0.5);

    expect(gateway.child.exitCode).toBeNull();
    const fired = alerts.messages.filter((m) => m.topic.endsWith('events/alerts')).map((m) => m.payload);
    expect(fired, 'alert events').toEqual([]);
    // One status, never changed. A subscription racing its publish may get that one twice (retained and live): the
    // same payload, so distinct payloads are counted.
    const statuses = new Set(alerts.messages.filter((m) => m.topic.endsWith('status/feeder-1')).map((m) => m.payload));
    expect([...statuses].map((payload) => (JSON.parse(payload) as { state: string }).state)).toEqual(['online']);

    // Every reading seen on MQTT is in InfluxDB, under its own timestamp (an hour ahead, behind, or now).
    const seen = readings.messages.map((m) => (JSON.parse(m.payload) as { ts: number }).ts);
    await waitFor(
      async () => {
        const [series] = await influx.query(`SELECT frequency FROM energy WHERE device = 'feeder-1' AND time > now() - 3h AND time < now() + 3h`, 'city');
        const stored = new Set(series?.values.map((row) => Number(row[0])) ?? []);
        return seen.every((ts) => stored.has(ts)) || undefined;
      },
      { what: 'every reading seen on MQTT, in InfluxDB', timeoutMs: 30_000 },
    );
  });
});
