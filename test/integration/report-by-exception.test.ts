/**
 * Report-by-exception against a real pymodbus slave whose registers the test changes while the gateway polls: what
 * reaches Mosquitto's own client and InfluxDB 1.6.7 is the reduced stream (deadband, absolute and percent; a
 * heartbeat after max_silence; every quality change), while the rules judge every sample (an alert fires on a sample
 * that was never published).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startInfluxDb1, type InfluxDb1 } from '../peers/influxdb.js';
import { startModbusSlave, type ModbusSlave } from '../peers/modbus-slave.js';
import { mosquittoSub, type MosquittoSub, type MqttMessage } from '../peers/mosquitto-sub.js';
import { waitFor } from '../peers/net.js';
import { influxV1Section } from '../support/config-sections.js';
import { startGateway, type RunningGateway } from '../support/gateway.js';

const READING = (metric: string) => `city/lab/water/pump-1/${metric}`;
const ALERT = 'city/lab/alerts/level-high/pump-1/level';
const HEARTBEAT_MS = 1000;

function config(slavePort: number, influxUrl: string): string {
  return `site: lab
devices:
  - name: pump-1
    driver: modbus-tcp
    host: 127.0.0.1
    port: ${slavePort}
    domain: water
    poll_interval: 100ms
    timeout: 500ms
    backoff_max: 500ms
    points:
      - { name: level, address: 0, scale: 0.01, unit: m, deadband: 0.5 }
      - { name: flow, address: 1, unit: m3/h, deadband: "10%" }
      - { name: pressure, address: 2, unit: kPa, deadband: 1000, max_silence: ${HEARTBEAT_MS}ms }
      - { name: temperature, address: 3, type: float32, unit: C, deadband: 100 }
      - { name: polled, address: 5 }
rules:
  - { name: level-high, match: { metric: level }, above: 4.5, severity: critical }
${influxV1Section(influxUrl)}`;
}

const FLOAT32_NAN = [0x7fc0, 0x0000];
const FLOAT32_20 = [0x41a0, 0x0000];

function values(sub: MosquittoSub, metric: string): unknown[] {
  return published(sub, metric).map((m) => (JSON.parse(m.payload) as { value: unknown }).value);
}

function published(sub: MosquittoSub, metric: string): MqttMessage[] {
  return sub.messages.filter((m) => m.topic === READING(metric));
}

describe('report-by-exception against a pymodbus slave', () => {
  let slave: ModbusSlave;
  let influx: InfluxDb1;
  let gw: RunningGateway;
  let sub: MosquittoSub;

  /** The suppressed count of pump-1 once it passed `atLeast`: proof the poller has judged (and held back) more samples. */
  const suppressedPast = (atLeast: number) =>
    waitFor(() => {
      const figures = gw.gateway.health().deviceFigures['modbus-tcp']?.['pump-1'] as { suppressed: number } | undefined;
      return figures && figures.suppressed > atLeast ? figures.suppressed : undefined;
    }, { what: `more than ${atLeast} readings suppressed`, timeoutMs: 30_000 });
  const suppressedNow = () => (gw.gateway.health().deviceFigures['modbus-tcp']?.['pump-1'] as { suppressed: number }).suppressed;
  /** Waits until the slave has answered `polls` more polls after now. */
  const polls = async (count: number) => {
    const from = (await slave.requests()).length;
    await waitFor(async () => ((await slave.requests()).length >= from + count ? true : undefined), { what: `${count} more polls`, timeoutMs: 30_000 });
  };

  beforeAll(async () => {
    influx = await startInfluxDb1();
    // The unit answers only once the subscriber listens: the first samples, which always report, must not be missed.
    slave = await startModbusSlave({ spec: { units: {} } });
    gw = await startGateway(config(slave.port, influx.url));
    sub = mosquittoSub({ port: gw.mqttPort, topic: ['city/lab/water/pump-1/+', ALERT] });
    await sub.ready();
    await slave.set(1, 'holding', 0, [440, 1000, 500, ...FLOAT32_20, 7]);
    await sub.next((m) => m.topic === READING('level'), 30_000);
  }, 60_000);
  afterAll(async () => {
    await sub?.stop();
    await gw?.stop();
    await slave?.stop();
    await influx?.remove();
  });

  it('publishes a point without deadband or max_silence on every poll', async () => {
    await polls(5);
    expect(published(sub, 'polled').length).toBeGreaterThanOrEqual(5);
  });

  it('holds back a change within the absolute deadband, yet the rule fires on it; a move past the band reports', async () => {
    await slave.set(1, 'holding', 0, [460]);
    const alert = await sub.next((m) => m.topic === ALERT && m.payload.includes('"firing"'));
    expect(JSON.parse(alert.payload)).toMatchObject({ value: 4.6 });
    await polls(5);
    expect(values(sub, 'level')).toEqual([4.4]);
    await slave.set(1, 'holding', 0, [500]);
    await waitFor(() => (values(sub, 'level').length === 2 ? true : undefined), { what: 'the level past the band' });
    expect(values(sub, 'level')).toEqual([4.4, 5]);
  });

  it('percent deadband: 5% of the last reported value is held back, 12% reports', async () => {
    const before = suppressedNow();
    await slave.set(1, 'holding', 1, [1050]);
    await suppressedPast(before + 10);
    expect(values(sub, 'flow')).toEqual([1000]);
    await slave.set(1, 'holding', 1, [1120]);
    await waitFor(() => (values(sub, 'flow').length === 2 ? true : undefined), { what: 'the flow past 10%' });
    expect(values(sub, 'flow')).toEqual([1000, 1120]);
  });

  it('an unchanged value reports again once max_silence has passed (a heartbeat), and not before', async () => {
    await waitFor(() => (published(sub, 'pressure').length >= 4 ? true : undefined), { what: 'four heartbeats', timeoutMs: 30_000 });
    const stamps = published(sub, 'pressure').map((m) => (JSON.parse(m.payload) as { ts: number }).ts);
    for (let i = 1; i < stamps.length; i++) expect(stamps[i]! - stamps[i - 1]!).toBeGreaterThanOrEqual(HEARTBEAT_MS - 150);
    expect(values(sub, 'pressure').every((value) => value === 500)).toBe(true);
  });

  it('a value that goes bad and good again reports each quality change, whatever its deadband', async () => {
    await slave.set(1, 'holding', 3, FLOAT32_NAN);
    const bad = await sub.next((m) => m.topic === READING('temperature') && m.payload.includes('"bad"'));
    expect(JSON.parse(bad.payload)).toMatchObject({ value: null, quality: 'bad' });
    await slave.set(1, 'holding', 3, FLOAT32_20);
    await waitFor(() => (published(sub, 'temperature').length === 3 ? true : undefined), { what: 'the temperature good again' });
    expect(published(sub, 'temperature').map((m) => JSON.parse(m.payload) as { value: unknown; quality: string }).map(({ value, quality }) => [value, quality])).toEqual([
      [20, 'good'],
      [null, 'bad'],
      [20, 'good'],
    ]);
  });

  it('writes to InfluxDB what it publishes on MQTT, not every sample', async () => {
    const level = await waitFor(async () => {
      const [series] = await influx.query('SELECT level, flow FROM water', 'city');
      const rows = series?.values.filter((row) => row[1] !== null) ?? [];
      return rows.length === 2 ? series : undefined;
    }, { what: 'the reported levels in InfluxDB', timeoutMs: 30_000 });
    const column = (name: string) => level.values.map((row) => row[level.columns.indexOf(name)]).filter((value) => value !== null);
    expect(column('level')).toEqual(values(sub, 'level'));
    expect(column('flow')).toEqual(values(sub, 'flow'));
    expect(suppressedNow()).toBeGreaterThan(20);
  });
});
