/**
 * A client flooding the broker: Mosquitto's own publisher, reconnecting each time it is cut off, floods the gateway
 * process with small QoS 0 ingest, 100 KB QoS 1 commands and payloads over the size limit, while the gateway polls a
 * pymodbus slave and a well-behaved client publishes and subscribes. The process must stay up, the device's readings
 * and the other client's messages must stay on schedule, and everything must be back to normal once the flood ends.
 * The per-client limits themselves (throttle, flood disconnect, packet cap) are tested in mqtt-limits.test.ts.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { connectAsync, type MqttClient } from 'mqtt';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { hashPassword } from '../../gateway/broker/password.js';
import { startModbusSlave, type ModbusSlave } from '../peers/modbus-slave.js';
import { freePort, waitFor } from '../peers/net.js';
import { exitOf, stopChild } from '../peers/process.js';
import { spawnGateway, type GatewayProcess } from '../support/gateway-process.js';

const T = 120_000;
const FLOOD_MS = 8_000;
const POLL_MS = 200;
const READING = 'city/lab/water/pump-1/level';
const STEADY = 'city/lab/command/valve-1/position';
const passwords = { ops: 'ops-pass', flood: 'flood-pass', 'lora-1': 'lora-pass' } as const;
type User = keyof typeof passwords;

interface Arrival {
  topic: string;
  payload: string;
  at: number;
}

/** Keeps one mosquitto_pub flooding until stopped: when the broker cuts it off, it connects again at once. */
function floodLoop(port: number, user: User, clientId: string, args: string[]): { stop(): Promise<number> } {
  let running = true;
  let child: ChildProcess | undefined;
  let runs = 0;
  const loop = (async () => {
    while (running) {
      runs++;
      child = spawn('mosquitto_pub', ['-h', '127.0.0.1', '-p', String(port), '-u', user, '-P', passwords[user], '-i', clientId, ...args], { stdio: 'ignore' });
      await exitOf(child);
    }
  })();
  return {
    async stop() {
      running = false;
      if (child) await stopChild(child, 'SIGKILL');
      await loop;
      return runs;
    },
  };
}

/** The largest gap between consecutive arrivals inside [from, to], counting the window's edges. */
function largestGap(arrivals: readonly Arrival[], from: number, to: number): number {
  const times = [from, ...arrivals.map((a) => a.at).filter((at) => at > from && at < to), to];
  return Math.max(...times.slice(1).map((at, i) => at - times[i]!));
}

function rssMb(pid: number): number {
  const line = readFileSync(`/proc/${pid}/status`, 'utf8').split('\n').find((l) => l.startsWith('VmRSS:'))!;
  return Math.round(Number(line.split(/\s+/)[1]) / 1024);
}

describe('a client flooding the broker', () => {
  let dir: string;
  let slave: ModbusSlave;
  let gw: GatewayProcess;
  let port: number;
  let watcher: MqttClient;
  let steady: MqttClient;
  const arrivals: Arrival[] = [];

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'gw-flood-'));
    slave = await startModbusSlave({ spec: { units: { '1': { holding: { '0': 300 } } } } });
    port = await freePort();
    const hash = (user: User) => hashPassword(passwords[user], { ln: 10 });
    // 100 KB and 400 KB payloads (the limit is 256 KB), sent from files so mosquitto_pub can repeat them.
    writeFileSync(join(dir, 'big.txt'), 'x'.repeat(100 * 1024));
    writeFileSync(join(dir, 'too-big.txt'), 'y'.repeat(400 * 1024));
    const config = join(dir, 'gateway.yaml');
    writeFileSync(
      config,
      `site: lab
data_dir: ${join(dir, 'data')}
mqtt:
  listeners: [{ type: tcp, host: 127.0.0.1, port: ${port} }]
  users:
    - { username: ops, role: operator, password_hash: "${await hash('ops')}" }
    - { username: flood, role: operator, password_hash: "${await hash('flood')}" }
    - { username: lora-1, role: device, password_hash: "${await hash('lora-1')}" }
  # The broker reads at most 8 KB of a client per turn: about 200 of these small publishes, which at 100/s put a
  # flooder 2 s behind, past max_throttle: it is cut off (and comes back) again and again. With more room it would
  # only be slowed down.
  limits: { publish_rate: 100, publish_burst: 200, max_throttle: 1s }
devices:
  - name: pump-1
    driver: modbus-tcp
    host: 127.0.0.1
    port: ${slave.port}
    domain: water
    poll_interval: ${POLL_MS}ms
    timeout: 1s
    points: [{ name: level, address: 0, scale: 0.01, unit: m }]
`,
    );
    gw = await spawnGateway(config);
    const open = (clientId: string) => connectAsync(`mqtt://127.0.0.1:${port}`, { clientId, username: 'ops', password: passwords.ops, reconnectPeriod: 0 });
    watcher = await open('watcher');
    watcher.on('message', (topic, payload) => arrivals.push({ topic, payload: payload.toString(), at: Date.now() }));
    await watcher.subscribeAsync([READING, STEADY], { qos: 1 });
    steady = await open('steady');
  }, T);

  afterAll(async () => {
    watcher?.end(true);
    steady?.end(true);
    await gw?.cleanup();
    await slave?.stop();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  /** Publishes one steady command every 100 ms for `ms`; returns each one's send time by payload. */
  async function steadyTraffic(label: string, ms: number): Promise<Map<string, number>> {
    const sent = new Map<string, number>();
    const end = Date.now() + ms;
    for (let i = 0; Date.now() < end; i++) {
      const payload = `${label}-${i}`;
      sent.set(payload, Date.now());
      await steady.publishAsync(STEADY, payload, { qos: 1 });
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
    return sent;
  }

  /** The worst delay from send to delivery of the steady commands, once all of them have arrived. */
  async function worstLatency(sent: Map<string, number>): Promise<number> {
    await waitFor(() => ([...sent.keys()].every((payload) => arrivals.some((a) => a.payload === payload)) ? true : undefined), { what: 'every steady command', timeoutMs: 30_000 });
    return Math.max(...[...sent].map(([payload, at]) => arrivals.find((a) => a.payload === payload)!.at - at));
  }

  it('keeps the process up, the readings on schedule and the other client served, and recovers afterwards', { timeout: T }, async () => {
    await waitFor(() => (arrivals.filter((a) => a.topic === READING).length >= 5 ? true : undefined), { what: 'readings before the flood' });
    const rssBefore = rssMb(gw.child.pid!);

    const floods = [
      floodLoop(port, 'lora-1', 'flood-ingest', ['-t', 'city/lab/ingest/water/lora-1', '-q', '0', '-m', '{"level": 1}', '--repeat', '1000000']),
      floodLoop(port, 'flood', 'flood-q0', ['-t', 'city/lab/command/flood-1/position', '-q', '0', '-m', '1', '--repeat', '1000000']),
      floodLoop(port, 'flood', 'flood-big', ['-t', 'city/lab/command/flood-2/position', '-q', '1', '-f', join(dir, 'big.txt'), '--repeat', '100000']),
      floodLoop(port, 'flood', 'flood-too-big', ['-t', 'city/lab/command/flood-3/position', '-q', '1', '-f', join(dir, 'too-big.txt'), '--repeat', '100000']),
    ];
    const floodStart = Date.now();
    const sentDuring = await steadyTraffic('during', FLOOD_MS);
    const floodEnd = Date.now();
    const runs = await Promise.all(floods.map((flood) => flood.stop()));
    const rssFlood = rssMb(gw.child.pid!);

    expect(gw.child.exitCode, gw.output()).toBeNull();
    const readingsDuring = arrivals.filter((a) => a.topic === READING && a.at > floodStart && a.at < floodEnd).length;
    const gapDuring = largestGap(arrivals.filter((a) => a.topic === READING), floodStart, floodEnd);
    const latencyDuring = await worstLatency(sentDuring);
    // The flooders were cut off (and came back) again and again: the limits were doing their work.
    expect(gw.output()).toMatch(/client disconnected: it keeps publishing faster than allowed/);
    expect(gw.output()).toMatch(/connection cut: packet over the size limit/);

    const sentAfter = await steadyTraffic('after', 2_000);
    const latencyAfter = await worstLatency(sentAfter);
    const afterStart = sentAfter.values().next().value!;
    const readingsAfter = arrivals.filter((a) => a.topic === READING && a.at > afterStart).length;

    console.log(
      `flood ${FLOOD_MS} ms (flooder connections: ${runs.join('/')}): readings ${readingsDuring} (every ${POLL_MS} ms: ${Math.floor(FLOOD_MS / POLL_MS)} due), ` +
        `largest gap ${gapDuring} ms; steady commands ${sentDuring.size}, worst latency ${latencyDuring} ms; after: ${latencyAfter} ms; ` +
        `RSS ${rssBefore} -> ${rssFlood} MB`,
    );
    // Generous bounds for a loaded 2-core machine; without the limits the readings stop for the whole flood.
    expect(readingsDuring).toBeGreaterThanOrEqual(Math.floor(FLOOD_MS / POLL_MS / 2));
    expect(gapDuring).toBeLessThan(2_000);
    expect(latencyDuring).toBeLessThan(2_000);
    expect(latencyAfter).toBeLessThan(500);
    expect(readingsAfter).toBeGreaterThanOrEqual(3);
    expect(rssFlood - rssBefore).toBeLessThan(200);
  });
});
