/**
 * `npm run soak -- --minutes N [--rate R]`: the gateway as its own process for N minutes under a steady load of about R
 * readings/s (default 5,000), with everything on — Modbus polling of simulated devices, MQTT ingest at QoS 0 and 1,
 * alert rules, InfluxDB forwarding into a real InfluxDB 1.6.7, and a live MQTT subscriber. Every interval it prints the
 * gateway's RSS, heap, active handles and event-loop delay (from a probe preloaded into the gateway), so a leak or a
 * creeping stall shows as a trend. At the end it checks that every ingested reading reached InfluxDB.
 * Not run in CI: it takes as long as you ask.
 */
import { fork } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { connectAsync, type MqttClient } from 'mqtt';
import { hashPassword } from '../gateway/broker/password.js';
import { startInfluxDb1 } from '../test/peers/influxdb.js';
import { freePort, waitFor } from '../test/peers/net.js';
import { stopChild } from '../test/peers/process.js';
import type { ProbeSample } from './soak-probe.js';

const { values: args } = parseArgs({ options: { minutes: { type: 'string', default: '30' }, rate: { type: 'string', default: '5000' }, sample: { type: 'string', default: '' } } });
const minutes = Number(args.minutes);
const targetRate = Number(args.rate);
if (!(minutes > 0) || !(targetRate > 0)) {
  console.error('usage: npm run soak -- --minutes N [--rate READINGS_PER_S] [--sample SECONDS]');
  process.exit(2);
}
// About 30 lines for any length of run, but at least one every 10 s.
const sampleMs = args.sample ? Number(args.sample) * 1000 : Math.max(10_000, Math.round((minutes * 60_000) / 30));

/** Polled: 16 simulated energy meters, 12 points every 250 ms = 768 readings/s; MQTT ingest makes up the rest. */
const METERS = 16;
const POLL_MS = 250;
const POLLED_RATE = (METERS * 12 * 1000) / POLL_MS;
const INGEST_DEVICES = 40;
const METRICS_PER_MESSAGE = 5;
const PASSWORD = 'soak-load-password';

const dir = mkdtempSync(join(tmpdir(), 'gw-soak-'));
const influx = await startInfluxDb1();
const mqttPort = await freePort();
const slavePorts = await Promise.all(Array.from({ length: METERS }, () => freePort()));
writeFileSync(
  join(dir, 'gateway.yaml'),
  `site: soak
data_dir: ${join(dir, 'data')}
log: { level: warn }
profiles_dir: ${resolve('config', 'profiles')}
mqtt:
  listeners: [{ host: 127.0.0.1, port: ${mqttPort} }]
  users:
    - { username: soak-load, role: device, devices: ['load-*'], password_hash: "${await hashPassword(PASSWORD, { ln: 10 })}" }
  limits: { publish_rate: 100000, publish_burst: 100000 }
simulator:
  slaves:
${slavePorts.map((port, i) => `    - { model: energy-meter, port: ${port}, profile: sim-energy-meter, seed: ${i + 1} }`).join('\n')}
devices:
${slavePorts.map((port, i) => `  - { name: meter-${i + 1}, driver: modbus-tcp, host: 127.0.0.1, port: ${port}, profile: sim-energy-meter, poll_interval: ${POLL_MS}ms }`).join('\n')}
rules:
  - { name: voltage-low, match: { metric: voltage_l1 }, below: 200, for: 10s }
  - { name: current-high, match: { metric: "current_*" }, above: 400, clear: 350 }
  - { name: power-rising, match: { metric: active_power }, rate: { above: 500, per: 1m } }
  - { name: meter-silent, match: { device: "meter-*", metric: frequency }, stale: 30s }
  - { name: load-high, match: { device: "load-*", metric: m1 }, above: 95, clear: 90, severity: critical }
  - { name: device-down, offline: true, for: 30s, severity: critical }
influx:
  url: ${influx.url}
  api: v1
  database: city
  create_database: true
`,
);

console.log(`soak: ${minutes} min, about ${targetRate} readings/s (${POLLED_RATE} polled, the rest over MQTT ingest), a sample every ${sampleMs / 1000} s`);
const gateway = fork(resolve('gateway', 'main.ts'), ['--config', join(dir, 'gateway.yaml')], {
  execArgv: ['--import', 'tsx', '--import', resolve('bench', 'soak-probe.ts')],
  env: { ...process.env, SOAK_SAMPLE_MS: String(sampleMs) },
  stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
});
gateway.on('error', (error) => console.error(`soak: gateway process: ${error.message}`));
const samples: ProbeSample[] = [];
let sent = 0;
let refused = 0;
gateway.on('message', (message) => {
  const s = message as ProbeSample;
  const previous = samples.at(-1);
  samples.push(s);
  // CPU over the last interval, in % of one core.
  const cpu = previous ? Math.round(((s.cpuUserS + s.cpuSystemS - previous.cpuUserS - previous.cpuSystemS) * 100) / Math.max(1, s.uptimeS - previous.uptimeS)) : '';
  console.log(
    [s.uptimeS, s.rssMb, s.heapUsedMb, s.externalMb, s.handles, s.loopDelayP50Ms, s.loopDelayP99Ms, s.loopDelayMaxMs, cpu, sent]
      .map((v) => String(v).padStart(9))
      .join(''),
  );
});

const subscriber = await waitFor(() => connectAsync(`mqtt://127.0.0.1:${mqttPort}`, { reconnectPeriod: 0 }), { what: 'the gateway to accept a subscriber', timeoutMs: 60_000 });
let received = 0;
subscriber.on('message', () => received++);
await subscriber.subscribeAsync('city/soak/#');

// Ingest: one connection, messages of 5 metrics for 40 devices, alternating QoS 0 and 1, paced in 100 ms slices.
const loader: MqttClient = await connectAsync(`mqtt://127.0.0.1:${mqttPort}`, { username: 'soak-load', password: PASSWORD, reconnectPeriod: 1000 });
loader.on('error', (error) => console.error(`soak: load client: ${error.message}`));
const messagesPerSlice = Math.max(1, Math.round((targetRate - POLLED_RATE) / METRICS_PER_MESSAGE / 10));
let sequence = 0;
// InfluxDB keeps one point per series and timestamp: each device's readings get a timestamp of their own.
const lastTs = new Map<string, number>();
console.log(['uptime s', 'rss MB', 'heap MB', 'ext MB', 'handles', 'eld p50', 'eld p99', 'eld max', 'cpu %', 'ingested'].map((h) => h.padStart(9)).join(''));
const pacer = setInterval(() => {
  for (let i = 0; i < messagesPerSlice; i++) {
    const n = sequence++;
    const device = `load-${String((n % INGEST_DEVICES) + 1).padStart(2, '0')}`;
    const ts = Math.max(Date.now(), (lastTs.get(device) ?? 0) + 1);
    lastTs.set(device, ts);
    const payload: Record<string, { value: number; ts: number }> = {};
    for (let m = 1; m <= METRICS_PER_MESSAGE; m++) payload[`m${m}`] = { value: Math.round((50 + 45 * Math.sin(n / 500 + m)) * 100) / 100, ts };
    loader.publish(`city/soak/ingest/load/${device}`, JSON.stringify(payload), { qos: n % 2 ? 1 : 0 }, (error) => {
      if (error) refused += METRICS_PER_MESSAGE;
    });
    sent += METRICS_PER_MESSAGE;
  }
}, 100);

await new Promise<void>((done) => {
  const onExit = (code: number | null, signal: string | null) => {
    clearTimeout(end);
    console.error(`soak: the gateway exited during the run (code ${code}, signal ${signal})`);
    done();
  };
  const end = setTimeout(() => {
    gateway.off('exit', onExit);
    done();
  }, minutes * 60_000);
  gateway.once('exit', onExit);
});
clearInterval(pacer);
await loader.endAsync();

// Every reading the load sent must reach InfluxDB; the forwarder may still be draining its last batches.
const expected = sent - refused;
const count = async (): Promise<number> => {
  const [series] = await influx.query(`SELECT count(m1) FROM load`, 'city');
  return Number(series?.values[0]?.[1] ?? 0) * METRICS_PER_MESSAGE;
};
let stored = 0;
try {
  stored = await waitFor(async () => ((stored = await count()) >= expected ? stored : undefined), { what: 'every ingested reading in InfluxDB', timeoutMs: 120_000 });
} catch {
  // Reported below with the figures.
}
await subscriber.endAsync();
await stopChild(gateway, 'SIGTERM', 15_000);
await influx.remove();
rmSync(dir, { recursive: true, force: true });

const first = samples.slice(0, Math.max(1, Math.floor(samples.length / 4)));
const last = samples.slice(-Math.max(1, Math.floor(samples.length / 4)));
const mean = (list: ProbeSample[], pick: (s: ProbeSample) => number) => Math.round((list.reduce((sum, s) => sum + pick(s), 0) / Math.max(1, list.length)) * 10) / 10;
console.log(`
soak summary (${minutes} min, ${samples.length} samples)
  ingested over MQTT: ${sent} readings (${refused} refused by the client library), in InfluxDB: ${stored} (${stored >= expected ? 'none lost' : `${expected - stored} MISSING`})
  live subscriber received: ${received} messages
  RSS MB, first quarter → last quarter: ${mean(first, (s) => s.rssMb)} → ${mean(last, (s) => s.rssMb)}
  heap MB: ${mean(first, (s) => s.heapUsedMb)} → ${mean(last, (s) => s.heapUsedMb)}
  handles: ${mean(first, (s) => s.handles)} → ${mean(last, (s) => s.handles)}
  event-loop delay p99 ms: ${mean(first, (s) => s.loopDelayP99Ms)} → ${mean(last, (s) => s.loopDelayP99Ms)}`);
process.exit(stored >= expected && gateway.exitCode === 0 ? 0 : 1);
