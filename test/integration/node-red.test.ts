/**
 * Node-RED as a supervised child of a running gateway, through the gateway's own HTTP server: logins and roles at
 * /red/, a flow deployed through the admin API whose derived reading reaches MQTT, InfluxDB 1.6.7 and the rules, and
 * the flows file surviving restarts.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startInfluxDb1, type InfluxDb1 } from '../peers/influxdb.js';
import { mosquittoSub, type MosquittoSub } from '../peers/mosquitto-sub.js';
import { waitFor } from '../peers/net.js';
import { PROBE_RULE } from '../support/alert-latency.js';
import { influxV1Section, mqttUsersLines, testPassword } from '../support/config-sections.js';
import { startGateway, type RunningGateway } from '../support/gateway.js';
import { basicAuth, httpCall } from '../support/http-client.js';
import { brokerNode, deployFlows, injectInto, nodeRedHealth, nodeRedReady, nodeRedSection } from '../support/node-red-child.js';

const users = { olga: 'operator', sam: 'staff', vera: 'viewer' } as const;
const password = testPassword;
const usersLines = await mqttUsersLines(users);
const as = (user: keyof typeof users) => basicAuth(user, password(user));
const HEARTBEAT_INTERVAL_MS = 200;
const HEARTBEAT_TIMEOUT_MS = 3000;

function config(influxUrl: string): string {
  return `site: lab
mqtt:
  listeners: [{ host: 127.0.0.1, port: 0 }]
  users:
${usersLines}
http:
  listen: { port: 0 }
${influxV1Section(influxUrl)}${nodeRedSection({ heartbeat: `{ interval: ${HEARTBEAT_INTERVAL_MS}ms, timeout: ${HEARTBEAT_TIMEOUT_MS}ms }` })}rules:
  - { name: derived-high, match: { domain: water, device: derived-1, metric: derived_flow }, above: 40, clear: 30, severity: warning }
${PROBE_RULE}`;
}

/** inject → function → mqtt out on the ingest topic, with the gateway's internal identity: a derived reading. */
function derivedReadingFlow(gw: RunningGateway): object[] {
  return [
    { id: 'derived', type: 'tab', label: 'derived flow' },
    ...injectInto('derived', 'msg.payload = JSON.stringify({ derived_flow: { value: 42.5, unit: "l/s" } }); return msg;', { everyS: 0.5, wires: ['derived-out'] }),
    { id: 'derived-out', type: 'mqtt out', z: 'derived', topic: 'city/lab/ingest/water/derived-1', qos: '1', retain: 'false', broker: 'derived-broker', wires: [] },
    brokerNode('derived-broker', gw.mqttPort, gw.gateway.internalLogin('flow-test')),
  ];
}

describe('Node-RED, supervised', () => {
  let influx: InfluxDb1;
  let gw: RunningGateway;
  let base: string;

  beforeAll(async () => {
    influx = await startInfluxDb1();
    gw = await startGateway(config(influx.url));
    base = gw.gateway.httpAddress!.url;
    await nodeRedReady(gw.gateway);
  });
  afterAll(async () => {
    await gw?.stop();
    await influx?.remove();
  });

  it('lets operators and staff in at /red/, and nobody else', async () => {
    const none = await httpCall(`${base}/red/flows`);
    expect(none.status).toBe(401);
    expect((await httpCall(`${base}/red/flows`, { headers: as('vera') })).status).toBe(403);
    const staff = await httpCall(`${base}/red/flows`, { headers: as('sam') });
    expect(staff.status).toBe(200);
    expect((await httpCall(`${base}/red/`, { headers: as('olga') })).body).toContain('City edge gateway');
    // Writes: refused to anonymous, viewers and staff by the gateway; and Node-RED's own port trusts nobody unvouched.
    for (const auth of [{}, as('vera'), as('sam')]) expect((await deployFlows(base, auth, [])).status).toBeGreaterThanOrEqual(401);
    const direct = `http://127.0.0.1:${nodeRedHealth(gw.gateway)!.port}/red/flows`;
    expect((await httpCall(direct)).status).toBe(401);
    expect((await httpCall(direct, { headers: { 'x-gateway-editor-token': 'forged.token' } })).status).toBe(401);
  });

  it('deploys a flow whose derived reading reaches MQTT, InfluxDB and the rules', async () => {
    const sub: MosquittoSub = mosquittoSub({ port: gw.mqttPort, topic: ['city/lab/water/derived-1/#'], username: 'olga', password: password('olga') });
    try {
      await sub.ready();
      const deployed = await deployFlows(base, as('olga'), derivedReadingFlow(gw));
      expect(deployed.status, deployed.body).toBe(204);
      await waitFor(() => sub.messages.find((m) => m.topic === 'city/lab/water/derived-1/derived_flow'), { what: 'the derived reading on MQTT' });
      await waitFor(() => gw.gateway.alerts?.views().find((alert) => alert.rule === 'derived-high' && alert.state === 'firing'), { what: 'derived-high firing' });
      const [series] = await waitFor(async () => {
        const found = await influx.query('SELECT derived_flow FROM water WHERE device = \'derived-1\'', 'city');
        return found.length ? found : undefined;
      }, { what: 'the derived reading in InfluxDB' });
      expect(series!.values[0]![1]).toBe(42.5);
      expect(nodeRedHealth(gw.gateway)).toMatchObject({ state: 'running', restarts: 0, flows: { origin: 'shipped' } });
      const metrics = (await httpCall(`${base}/metrics`, { headers: as('olga') })).body;
      expect(metrics).toContain('gateway_node_red_up 1');
      expect(metrics).toContain('gateway_node_red_restarts_total{reason="unresponsive"} 0');
      expect(metrics).toMatch(/gateway_node_red_resident_memory_bytes \d{7,}/);
    } finally {
      await sub.stop();
    }
  });

  it('takes no stall of the gateway itself for a silent Node-RED: heartbeats waiting on the channel are read first', async () => {
    const { restarts } = nodeRedHealth(gw.gateway)!;
    // The gateway's event loop blocked past the heartbeat timeout (a long synchronous job, a swapping box), while
    // Node-RED kept sending its heartbeats into the IPC channel.
    Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, HEARTBEAT_TIMEOUT_MS + 1000);
    // A watchdog round or two later: the child's heartbeats were read, and it was not killed.
    await waitFor(() => ((nodeRedHealth(gw.gateway)?.heartbeatAgeMs ?? Infinity) < HEARTBEAT_TIMEOUT_MS ? true : undefined), { what: 'a fresh heartbeat' });
    await new Promise((resolve) => setTimeout(resolve, 2 * HEARTBEAT_INTERVAL_MS));
    expect(nodeRedHealth(gw.gateway)).toMatchObject({ state: 'running', restarts });
  });
});
