/**
 * What an operator's flow can do to Node-RED must not reach the data path: a function node stuck in `while(true){}`,
 * an array growing until the heap cap, a flows file corrupted on disk. Real gateway, real Node-RED child, flows
 * deployed through the gateway's /red/ proxy as the editor does it.
 */
import { existsSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { getPriority } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { hashPassword } from '../../gateway/broker/password.js';
import { nodeRedNice } from '../../gateway/node-red/host.js';
import { mosquittoSub } from '../peers/mosquitto-sub.js';
import { freePort, waitFor } from '../peers/net.js';
import { alertLatencyProbe, PROBE_RULE, type AlertLatencies } from '../support/alert-latency.js';
import { startGateway, type RunningGateway } from '../support/gateway.js';
import { basicAuth } from '../support/http-client.js';
import { brokerNode, busyLoopFlow, deployFlows, injectInto, memoryBlowUpFlow, nodeRedHealth, nodeRedReady, nodeRedSection } from '../support/node-red-child.js';

const operator = basicAuth('olga', 'olga-secret');
const olgaHash = await hashPassword('olga-secret', { ln: 10 });
/** A field device's login: unlike the gateway's internal one it outlives a restart, so the restored flow can use it. */
const deviceHash = await hashPassword('kept-secret', { ln: 10 });
/** Reading → alert p99 the data path must keep while Node-RED misbehaves, on a loaded 2-core machine. */
const P99_BOUND_MS = 250;

function config(nodeRed: Record<string, string> = {}, mqttPort = 0): string {
  return `site: lab
mqtt:
  listeners: [{ host: 127.0.0.1, port: ${mqttPort} }]
  users:
    - { username: olga, role: operator, password_hash: "${olgaHash}" }
    - { username: kept-1, role: device, password_hash: "${deviceHash}" }
http:
  listen: { port: 0 }
${nodeRedSection(nodeRed)}rules:
${PROBE_RULE}`;
}

function describeLatency(name: string, latencies: AlertLatencies): string {
  return `${name}: ${latencies.samples.length} alerts, p50 ${latencies.at(0.5).toFixed(1)} ms, p99 ${latencies.at(0.99).toFixed(1)} ms, max ${latencies.at(1).toFixed(1)} ms`;
}

describe('Node-RED misbehaving', () => {
  let gw: RunningGateway | undefined;
  afterEach(async () => {
    await gw?.stop();
    gw = undefined;
  });

  it('a busy-looping flow: alerts stay on time, Node-RED is restarted, then held in safe mode, the gateway stays ok', async () => {
    gw = await startGateway(config({ safe_mode_after: '2' }));
    const base = gw.gateway.httpAddress!.url;
    await nodeRedReady(gw.gateway);
    // Its flows get a core after the gateway's readings and alerts.
    expect(getPriority(nodeRedHealth(gw.gateway)!.pid)).toBe(nodeRedNice(getPriority()));
    const before = await alertLatencyProbe(gw.gateway, { durationMs: 2000, periodMs: 20 });

    expect((await deployFlows(base, operator, busyLoopFlow())).status).toBe(204);
    await waitFor(() => ((nodeRedHealth(gw!.gateway)?.heartbeatAgeMs ?? 0) > 500 ? true : undefined), { what: 'Node-RED stuck in the loop' });
    const during = await alertLatencyProbe(gw.gateway, { durationMs: 3000, periodMs: 20 });
    console.log(`${describeLatency('before the loop', before)}\n${describeLatency('during the loop', during)}`);
    expect(during.samples.length).toBeGreaterThan(50);
    expect(during.at(0.99)).toBeLessThan(P99_BOUND_MS);

    // The same flows come back with every restart: after two failed runs in a row Node-RED starts with them stopped.
    const safe = await waitFor(() => {
      const health = nodeRedHealth(gw!.gateway);
      return health?.safeMode && health.state === 'running' ? health : undefined;
    }, { what: 'Node-RED in safe mode', timeoutMs: 60_000 });
    expect(safe.restartsBy.unresponsive).toBeGreaterThanOrEqual(2);
    expect(safe.lastRestart).toMatchObject({ reason: 'unresponsive', detail: expect.stringMatching(/^no heartbeat for \d+ ms$/) });
    expect(gw.gateway.health().state).toBe('ok');
    expect(gw.logs.some((line) => line.includes('Node-RED stopped; restarting it') && line.includes('reason=unresponsive'))).toBe(true);

    // An operator deploys a fix from the editor: the flows run again and Node-RED stays up.
    expect((await deployFlows(base, operator, [{ id: 'fixed', type: 'tab', label: 'fixed' }])).status).toBe(204);
    const restarts = nodeRedHealth(gw.gateway)!.restarts;
    const after = await alertLatencyProbe(gw.gateway, { durationMs: 1500, periodMs: 20 });
    expect(after.at(0.99)).toBeLessThan(P99_BOUND_MS);
    expect(nodeRedHealth(gw.gateway)).toMatchObject({ state: 'running', restarts });
  });

  it('a flow hoarding memory: Node-RED dies at its cap and is restarted, alerts stay on time', async () => {
    gw = await startGateway(config({ max_old_space: '96MB', max_rss: '256MB', safe_mode_after: '2' }));
    const base = gw.gateway.httpAddress!.url;
    await nodeRedReady(gw.gateway);
    expect((await deployFlows(base, operator, memoryBlowUpFlow())).status).toBe(204);
    const during = await alertLatencyProbe(gw.gateway, { durationMs: 4000, periodMs: 20 });
    console.log(describeLatency('while Node-RED hoards memory', during));
    expect(during.at(0.99)).toBeLessThan(P99_BOUND_MS);
    const health = await waitFor(() => {
      const now = nodeRedHealth(gw!.gateway);
      return now && now.restarts >= 1 ? now : undefined;
    }, { what: 'Node-RED restarted', timeoutMs: 60_000 });
    // Which comes first depends on the machine: the V8 heap cap (a crash), the RSS cap, or a GC-bound event loop.
    expect(['crashed', 'memory', 'unresponsive']).toContain(health.lastRestart?.reason);
    expect(gw.gateway.health().state).toBe('ok');
    await waitFor(() => (nodeRedHealth(gw!.gateway)?.safeMode ? true : undefined), { what: 'safe mode after repeated failures', timeoutMs: 60_000 });
  });

  it('a corrupt flows file: reported, set aside, and the last good flows run', async () => {
    const mqttPort = await freePort();
    gw = await startGateway(config({}, mqttPort));
    const dir = gw.dir;
    const base = gw.gateway.httpAddress!.url;
    await nodeRedReady(gw.gateway);
    const flows = [
      { id: 'kept', type: 'tab', label: 'kept flow' },
      ...injectInto('kept', 'msg.payload = JSON.stringify({ kept: 1 }); return msg;', { everyS: 0.5, wires: ['kept-out'] }),
      { id: 'kept-out', type: 'mqtt out', z: 'kept', topic: 'city/lab/ingest/water/kept-1', qos: '1', retain: 'false', broker: 'kept-broker', wires: [] },
      brokerNode('kept-broker', gw.mqttPort, { username: 'kept-1', password: 'kept-secret' }),
    ];
    expect((await deployFlows(base, operator, flows)).status).toBe(204);
    const userDir = join(dir, 'data', 'node-red');
    // The copy of the deployed flows, not of the shipped ones the first start kept.
    const lastGood = join(userDir, 'flows.json.last-good');
    await waitFor(() => (existsSync(lastGood) && readFileSync(lastGood, 'utf8').includes('"kept-out"') && readdirSync(userDir).includes('flows_cred.json.last-good') ? true : undefined), { what: 'the last good copy of the deployed flows', timeoutMs: 30_000 });
    await gw.gateway.stop();

    writeFileSync(join(userDir, 'flows.json'), '[{"id":"kept","type":"tab"'); // cut short, as by a power cut mid-write
    // The same MQTT port: the restored broker node points at it.
    gw = await startGateway(config({}, mqttPort), { dir });
    const health = await nodeRedReady(gw.gateway);
    expect(health.flows).toMatchObject({ origin: 'last-good', problem: expect.stringContaining('not JSON') });
    expect(readdirSync(userDir).some((name) => name.startsWith('flows.json.corrupt-'))).toBe(true);
    expect(gw.logs.some((line) => line.includes('ERROR') && line.includes('flows file unusable; Node-RED runs the last good flows instead'))).toBe(true);
    // The restored flow runs, with its credentials (the gateway login of its broker node).
    const sub = mosquittoSub({ port: gw.mqttPort, topic: ['city/lab/water/kept-1/#'], username: 'olga', password: 'olga-secret' });
    try {
      await sub.ready();
      await waitFor(() => sub.messages.find((m) => m.topic === 'city/lab/water/kept-1/kept'), { what: 'the restored flow publishing', timeoutMs: 30_000 });
    } finally {
      await sub.stop();
    }
  });
});
