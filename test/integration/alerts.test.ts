/**
 * Alerts end to end: a pymodbus slave's register crosses a rule's threshold and Mosquitto's own client sees the
 * alert on the contract topics; an acknowledgement over MQTT stops reminders; a restart keeps a firing alert firing
 * without announcing it again; an edited config file changes the rules without a restart.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { hashPassword } from '../../gateway/broker/password.js';
import { startModbusSlave, type ModbusSlave } from '../peers/modbus-slave.js';
import { mosquittoPub } from '../peers/mosquitto-pub.js';
import { mosquittoSub, type MosquittoSub } from '../peers/mosquitto-sub.js';
import { waitFor } from '../peers/net.js';
import { startGateway, type RunningGateway } from '../support/gateway.js';

const TOPIC = 'city/lab/alerts/level-high/pump-1/level';
const READING = 'city/lab/water/pump-1/level';
// The readings serve as the test's clock: the rules judge a reading before it is published, so an alert event caused
// by a reading always reaches a subscriber before that reading does.
const SUBSCRIBED = ['city/lab/alerts/#', 'city/lab/events/alerts', READING];

/** Resolves once `count` more readings have arrived after message index `from`. */
async function readingsAfter(sub: MosquittoSub, from: number, count: number): Promise<void> {
  await waitFor(() => (sub.messages.slice(from).filter((m) => m.topic === READING).length >= count ? true : undefined), { what: `${count} readings`, timeoutMs: 30_000 });
}

/** The duty officer's login: an acknowledgement is recorded in the name of the user who logged in. */
const ANA = { username: 'ana', password: 'ana-pass' };
const ANA_HASH = await hashPassword(ANA.password, { ln: 10 });

function config(slavePort: number, rule = 'above: 4.5\n    clear: 4.3'): string {
  return `site: lab
mqtt:
  listeners: [{ host: 127.0.0.1, port: 0 }]
  users:
    - { username: ${ANA.username}, role: staff, password_hash: "${ANA_HASH}" }
devices:
  - name: pump-1
    driver: modbus-tcp
    host: 127.0.0.1
    port: ${slavePort}
    domain: water
    poll_interval: 100ms
    timeout: 1s
    points: [{ name: level, address: 0, scale: 0.01, unit: m }]
rules:
  - name: level-high
    match: { domain: water, metric: level }
    ${rule}
    severity: critical
    renotify: 1s
    message: "{device} {metric} = {value} {unit} ({threshold})"
`;
}

async function acknowledge(port: number, topic: string, message: string): Promise<void> {
  const result = await mosquittoPub({ port, topic, message, qos: 1, ...ANA });
  expect(result.code, result.output).toBe(0);
}

describe('alerts end to end', () => {
  let slave: ModbusSlave;
  let gw: RunningGateway;
  let sub: MosquittoSub;

  beforeAll(async () => {
    slave = await startModbusSlave({ spec: { units: { '1': { holding: { '0': 300 } } } } });
    gw = await startGateway(config(slave.port));
    sub = mosquittoSub({ port: gw.mqttPort, topic: SUBSCRIBED });
    await sub.ready();
  });
  afterAll(async () => {
    await sub?.stop();
    await gw?.stop();
    await slave?.stop();
  });

  it('fires when the register crosses the threshold, retained, and on the event stream', async () => {
    await slave.set(1, 'holding', 0, [470]);
    const state = await sub.next((m) => m.topic === TOPIC);
    expect(JSON.parse(state.payload)).toMatchObject({ state: 'firing', severity: 'critical', rule: 'level-high', device: 'pump-1', metric: 'level', value: 4.7, unit: 'm', message: 'pump-1 level = 4.7 m (> 4.5)', acknowledged: null });
    const event = await sub.next((m) => m.topic === 'city/lab/events/alerts');
    expect(JSON.parse(event.payload)).toMatchObject({ id: 'level-high/pump-1/level', kind: 'firing', site: 'lab', value: 4.7 });

    const late = mosquittoSub({ port: gw.mqttPort, topic: 'city/lab/alerts/#' });
    try {
      const retained = await late.next((m) => m.topic === TOPIC);
      expect(retained.retained).toBe(true);
      expect(JSON.parse(retained.payload)).toMatchObject({ state: 'firing' });
    } finally {
      await late.stop();
    }
  });

  it('reminds until acknowledged over MQTT, recording who logged in (not who the payload claims)', async () => {
    await sub.next((m) => m.topic === 'city/lab/events/alerts' && m.payload.includes('"kind":"reminder"'));
    await acknowledge(gw.mqttPort, `${TOPIC}/ack`, '{"by":"the mayor"}');
    const result = await sub.next((m) => m.topic === `${TOPIC}/ack/result`);
    expect(JSON.parse(result.payload)).toEqual({ ok: true, by: 'ana' });
    const acked = await sub.next((m) => m.topic === TOPIC && m.payload.includes('"acknowledged":{'));
    expect(JSON.parse(acked.payload).acknowledged).toMatchObject({ by: 'ana' });
    // No reminder after it: 30 polls (3 s, three reminder intervals) pass in silence.
    const seen = sub.messages.length;
    await readingsAfter(sub, seen, 30);
    expect(sub.messages.slice(seen).filter((m) => m.payload.includes('"kind":"reminder"'))).toEqual([]);
  });

  it('keeps firing across a restart without announcing it again', async () => {
    const dir = gw.dir;
    const yaml = readFileSync(join(dir, 'gateway.yaml'), 'utf8');
    await gw.gateway.stop();
    await sub.stop();
    gw = await startGateway(yaml, { dir });
    sub = mosquittoSub({ port: gw.mqttPort, topic: SUBSCRIBED });
    const retained = await sub.next((m) => m.topic === TOPIC);
    expect(retained.retained).toBe(true);
    expect(JSON.parse(retained.payload)).toMatchObject({ state: 'firing', acknowledged: { by: 'ana' } });
    expect(gw.logs.some((l) => l.includes('alerts still active from the last run'))).toBe(true);
    // Readings still above the threshold are judged again: still firing, nothing announced.
    await readingsAfter(sub, 0, 10);
    expect(sub.messages.filter((m) => m.topic === 'city/lab/events/alerts')).toEqual([]);
    expect(gw.gateway.alerts?.active()).toMatchObject([{ id: 'level-high/pump-1/level', state: 'firing' }]);
  });

  it('resolves past the clear threshold only, then clears the retained state', async () => {
    await slave.set(1, 'holding', 0, [440]); // inside the hysteresis band: still firing
    await waitFor(() => (gw.gateway.alerts?.active()[0]?.value === 4.4 ? true : undefined), { what: 'the 4.4 reading judged' });
    expect(gw.gateway.alerts?.active()).toHaveLength(1);
    await slave.set(1, 'holding', 0, [420]);
    const resolved = await sub.next((m) => m.topic === TOPIC && m.payload.includes('"resolved"'));
    expect(JSON.parse(resolved.payload)).toMatchObject({ state: 'resolved', value: 4.2 });
    const cleared = await sub.next((m) => m.topic === TOPIC && m.payload === '');
    expect(sub.messages.indexOf(cleared)).toBeGreaterThan(sub.messages.indexOf(resolved));
    const late = mosquittoSub({ port: gw.mqttPort, topic: 'city/lab/alerts/+/+/+' });
    try {
      await late.ready();
      await expect(late.next(() => true, 1000)).rejects.toThrow(/no matching message/);
    } finally {
      await late.stop();
    }
  });

  it('takes an edited rule without a restart', async () => {
    const file = join(gw.dir, 'gateway.yaml');
    writeFileSync(file, config(slave.port, 'above: 4.0\n    clear: 3.9'));
    await waitFor(() => (gw.logs.some((l) => l.includes('alert rules reloaded')) ? true : undefined), { what: 'the rules reloaded' });
    const state = await sub.next((m) => m.topic === TOPIC && m.payload.includes('"firing"') && m.payload.includes('(> 4)'));
    expect(JSON.parse(state.payload)).toMatchObject({ value: 4.2 });
    writeFileSync(file, config(slave.port, 'above: [oops'));
    await waitFor(() => (gw.logs.some((l) => l.includes('configuration not reloaded')) ? true : undefined), { what: 'the broken file refused' });
    expect(gw.gateway.alerts?.active()).toHaveLength(1);
  });
});
