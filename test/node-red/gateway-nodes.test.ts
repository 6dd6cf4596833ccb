/**
 * The gateway's Node-RED nodes (flows/node-red-contrib-city-gateway) in node-red-node-test-helper, against the real
 * embedded broker of a gateway started in this process, logged in with the internal identity the gateway gives
 * its Node-RED child. Field devices are independent MQTT clients (mosquitto_pub, mqtt.js).
 */
import { connectAsync, type MqttClient } from 'mqtt';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { hashPassword } from '../../gateway/broker/password.js';
import { mosquittoPub } from '../peers/mosquitto-pub.js';
import { mosquittoSub, type MosquittoSub } from '../peers/mosquitto-sub.js';
import { waitFor } from '../peers/net.js';
import { startGateway, type RunningGateway } from '../support/gateway.js';
import { gatewayNodeModules, nodeOf, nodeRedHelper, onTab, Recorder, statusesOf, stopNodeRedHelper, subscribed, type FlowNode, type NodeMessage } from '../support/node-red.js';

const T = 90_000;
const root = 'city/lab';
const valvePassword = 'valve-pass';

describe('gateway nodes for Node-RED', () => {
  let gw: RunningGateway;
  let login: { username: string; password: string };
  let observer: MosquittoSub;
  let valve: MqttClient | undefined;

  beforeAll(async () => {
    gw = await startGateway(`site: lab
mqtt:
  listeners: [{ type: tcp, host: 127.0.0.1, port: 0 }]
  allow_anonymous: false
  users:
    - { username: valve-7, role: device, password_hash: "${await hashPassword(valvePassword, { ln: 10 })}" }
devices:
  - { name: tank-9, driver: mqtt, domain: water }
rules:
  - { name: tank-high, match: { domain: water, metric: level }, above: 5, clear: 4, severity: critical, message: "{device} level {value} {unit}" }
  - { name: tank-warm, match: { domain: water, metric: temperature }, above: 30, clear: 25, severity: warning }
`);
    login = gw.gateway.internalLogin('node-red-test');
    const watcher = gw.gateway.internalLogin('observer');
    observer = mosquittoSub({ port: gw.mqttPort, username: watcher.username, password: watcher.password, topic: `${root}/#`, qos: 1 });
    await observer.ready();
    await nodeRedHelper();
  }, T);

  afterEach(async () => {
    await (await nodeRedHelper()).unload();
    await valve?.endAsync();
    valve = undefined;
  });

  afterAll(async () => {
    await stopNodeRedHelper();
    await observer?.stop();
    await gw?.stop();
  });

  /** Loads a flow of gateway nodes with a gateway-broker `gw` logged in as the internal identity. */
  async function load(nodes: FlowNode[]) {
    const helper = await nodeRedHelper();
    const broker: FlowNode = { id: 'gw', type: 'gateway-broker', url: `mqtt://127.0.0.1:${gw.mqttPort}`, root };
    await helper.load(gatewayNodeModules(), onTab([broker, ...nodes]), { gw: { username: login.username, password: login.password } });
    await subscribed(helper, 'gw');
    return helper;
  }

  const ingest = (domain: string, device: string, payload: object) =>
    mosquittoPub({ port: gw.mqttPort, ...login, topic: `${root}/ingest/${domain}/${device}`, message: JSON.stringify(payload), qos: 1 });

  it('reading in: passes on the readings its selector matches, value as payload and the reading beside it', { timeout: T }, async () => {
    const helper = await load([
      { id: 'in', type: 'gateway-reading-in', broker: 'gw', domain: 'water', device: 'tank-*', metric: 'level,temperature', wires: [['out']] },
      { id: 'out', type: 'helper' },
    ]);
    const out = new Recorder(nodeOf(helper, 'out'));
    const shown = statusesOf(nodeOf(helper, 'in'));
    const ts = Date.now() - 1000;
    // Neither another device, nor another metric, nor another domain passes.
    expect((await ingest('water', 'pump-2', { level: 1.5 })).code).toBe(0);
    expect((await ingest('water', 'tank-9', { flow: 7 })).code).toBe(0);
    expect((await ingest('energy', 'tank-meter', { level: 2 })).code).toBe(0);
    expect((await ingest('water', 'tank-9', { level: { value: 3.25, unit: 'm', ts }, temperature: 21 })).code).toBe(0);

    const level = await out.next((msg) => msg.topic === `${root}/water/tank-9/level`);
    expect(level.payload).toBe(3.25);
    expect(level.reading).toEqual({ domain: 'water', device: 'tank-9', metric: 'level', value: 3.25, unit: 'm', ts, quality: 'good' });
    const temperature = await out.next((msg) => msg.topic === `${root}/water/tank-9/temperature`);
    expect(temperature.reading).toMatchObject({ value: 21, quality: 'good' });
    expect(temperature.reading).not.toHaveProperty('unit');
    expect(out.messages.map((msg) => msg.topic)).toEqual([`${root}/water/tank-9/level`, `${root}/water/tank-9/temperature`]);
    await waitFor(() => (shown.some((s) => s.fill === 'green' && /tank-9\/(level|temperature) =/.test(s.text ?? '')) ? true : undefined), { what: 'the last value on the node' });
  });

  it('reading in: shows disconnected while the broker is unreachable', { timeout: T }, async () => {
    const helper = await nodeRedHelper();
    await helper.load(
      gatewayNodeModules(),
      onTab([
        { id: 'gw', type: 'gateway-broker', url: 'mqtt://127.0.0.1:1', root },
        { id: 'in', type: 'gateway-reading-in', broker: 'gw', wires: [] },
      ]),
    );
    const shown = statusesOf(nodeOf(helper, 'in'));
    await waitFor(() => (shown.some((s) => s.fill === 'red' && /disconnected.*ECONNREFUSED/.test(s.text ?? '')) ? true : undefined), { what: 'a disconnected status' });
  });

  it('alert in: passes on critical events of the selected rule, and the retained state to a late subscriber', { timeout: T }, async () => {
    const helper = await load([
      { id: 'events', type: 'gateway-alert-in', broker: 'gw', source: 'events', critical: true, warning: false, info: false, rule: 'tank-*', wires: [['out']] },
      { id: 'out', type: 'helper' },
    ]);
    const out = new Recorder(nodeOf(helper, 'out'));
    // A warning does not pass the severity filter.
    await ingest('water', 'tank-9', { temperature: 35 });
    await observer.next((m) => m.topic === `${root}/events/alerts` && m.payload.includes('tank-warm'));
    await ingest('water', 'tank-9', { level: { value: 6.5, unit: 'm' } });
    const firing = await out.next();
    expect(firing.topic).toBe(`${root}/events/alerts`);
    expect(firing.alert).toBe('event');
    expect(firing.payload).toMatchObject({ id: 'tank-high/tank-9/level', rule: 'tank-high', device: 'tank-9', kind: 'firing', severity: 'critical', message: 'tank-9 level 6.5 m', value: 6.5 });
    expect(out.messages).toHaveLength(1);

    // A node deployed after the alert fired gets its retained state at once.
    await helper.unload();
    const late = await load([
      { id: 'states', type: 'gateway-alert-in', broker: 'gw', source: 'state', critical: true, warning: true, info: true, rule: 'tank-high', wires: [['out']] },
      { id: 'out', type: 'helper' },
    ]);
    const states = new Recorder(nodeOf(late, 'out'));
    const state = await states.next();
    expect(state.topic).toBe(`${root}/alerts/tank-high/tank-9/level`);
    expect(state.payload).toMatchObject({ state: 'firing', severity: 'critical', rule: 'tank-high', device: 'tank-9', metric: 'level', value: 6.5 });
    await ingest('water', 'tank-9', { level: 3 });
    expect((await states.next((msg) => (msg.payload as { state: string }).state === 'resolved')).payload).toMatchObject({ value: 3 });
    // The empty retained message that clears the state is not passed on.
    await observer.next((m) => m.topic === `${root}/alerts/tank-high/tank-9/level` && m.payload === '');
    expect(states.messages.map((msg) => (msg.payload as { state: string }).state)).toEqual(['firing', 'resolved']);
  });

  it('reading out: a derived reading comes out of the gateway normalised, on its reading topic', { timeout: T }, async () => {
    const helper = await load([{ id: 'derive', type: 'gateway-reading-out', broker: 'gw', domain: 'water', device: 'derived-1', metric: 'balance', unit: 'm3/h' }]);
    nodeOf(helper, 'derive').receive({ payload: -4.25 });
    const single = await observer.next((m) => m.topic === `${root}/water/derived-1/balance`);
    expect(JSON.parse(single.payload)).toMatchObject({ value: -4.25, unit: 'm3/h', quality: 'good' });
    // An object of metrics, with device and domain from the message when the node leaves them blank.
    await helper.unload();
    const open = await load([{ id: 'derive', type: 'gateway-reading-out', broker: 'gw' }]);
    const ts = Date.now() - 2000;
    nodeOf(open, 'derive').receive({ domain: 'traffic', device: 'congestion-a12', payload: { congestion_index: { value: 62, unit: '%', ts, quality: 'uncertain' }, jammed: true } });
    const index = await observer.next((m) => m.topic === `${root}/traffic/congestion-a12/congestion_index`);
    expect(JSON.parse(index.payload)).toEqual({ value: 62, unit: '%', ts, quality: 'uncertain' });
    expect(JSON.parse((await observer.next((m) => m.topic === `${root}/traffic/congestion-a12/jammed`)).payload)).toMatchObject({ value: true });
  });

  it('reading out: refuses what ingest would refuse, and shows what only the gateway can refuse', { timeout: T }, async () => {
    const helper = await load([
      { id: 'derive', type: 'gateway-reading-out', broker: 'gw', wires: [] },
      { id: 'catcher', type: 'catch', scope: null, uncaught: false, wires: [['caught']] },
      { id: 'caught', type: 'helper' },
    ]);
    const derive = nodeOf(helper, 'derive');
    const shown = statusesOf(derive);
    const caught = new Recorder(nodeOf(helper, 'caught'));
    const errorText = (msg: NodeMessage) => String((msg.error as { message?: string } | undefined)?.message);

    derive.receive({ domain: 'water', device: 'derived-2', metric: 'balance', payload: Number.NaN });
    expect(errorText(await caught.next())).toMatch(/"balance": value must be a finite number/);
    derive.receive({ domain: 'command', device: 'derived-2', payload: { x: 1 } });
    expect(errorText(await caught.next((msg) => /domain/.test(errorText(msg))))).toMatch(/domain "command" is reserved/);
    derive.receive({ domain: 'water', device: 'derived-2', payload: { good: 1, 'bad name': 2 } });
    expect(errorText(await caught.next((msg) => /bad name/.test(errorText(msg))))).toMatch(/metric "bad name": name must be/);
    // The valid metric of that message went through.
    await observer.next((m) => m.topic === `${root}/water/derived-2/good`);

    // tank-9 is declared in domain water: only the gateway knows, and says so on the client's error topic.
    derive.receive({ domain: 'energy', device: 'tank-9', metric: 'load', payload: 12, _id: 'refused-by-gateway' });
    const refused = await caught.next((msg) => /gateway refused/.test(errorText(msg)));
    expect(errorText(refused)).toMatch(/"tank-9" is declared in domain "water", not "energy"/);
    expect(refused._id).toBe('refused-by-gateway');
    await waitFor(() => (shown.some((s) => s.fill === 'red' && /refused: .*declared in domain/.test(s.text ?? '')) ? true : undefined), { what: 'the refusal on the node' });
    expect(derive.counts).toMatchObject({ refusedHere: 3, refusedByGateway: 1 });
    expect(observer.messages.some((m) => m.topic === `${root}/energy/tank-9/load`)).toBe(false);
  });

  it('command: writes a device point and passes on the device\'s result; no answer is a timeout', { timeout: T }, async () => {
    valve = await connectAsync(`mqtt://127.0.0.1:${gw.mqttPort}`, { username: 'valve-7', password: valvePassword, clientId: 'valve-7', reconnectPeriod: 0 });
    const device = valve;
    const commands: { topic: string; payload: string }[] = [];
    device.on('message', (topic, payload) => {
      commands.push({ topic, payload: payload.toString() });
      const { value } = JSON.parse(payload.toString()) as { value: unknown };
      const answer = typeof value === 'number' && value <= 100 ? { ok: true, value, ts: Date.now() } : { ok: false, error: 'setpoint out of range' };
      if (topic.endsWith('/setpoint')) void device.publishAsync(`${topic}/result`, JSON.stringify(answer), { qos: 1 });
    });
    await device.subscribeAsync(`${root}/command/valve-7/+`, { qos: 1 });

    const helper = await load([
      { id: 'cmd', type: 'gateway-command', broker: 'gw', device: 'valve-7', point: '', timeout: 2, wires: [['out']] },
      { id: 'catcher', type: 'catch', scope: ['cmd'], uncaught: false, wires: [['caught']] },
      { id: 'out', type: 'helper' },
      { id: 'caught', type: 'helper' },
    ]);
    const out = new Recorder(nodeOf(helper, 'out'));
    const caught = new Recorder(nodeOf(helper, 'caught'));
    const cmd = nodeOf(helper, 'cmd');

    cmd.receive({ point: 'setpoint', payload: 42, _id: 'first' });
    cmd.receive({ point: 'setpoint', payload: 420, _id: 'second' });
    const first = await out.next((msg) => msg._id === 'first');
    expect(first.topic).toBe(`${root}/command/valve-7/setpoint/result`);
    expect(first.payload).toMatchObject({ ok: true, value: 42 });
    expect((await out.next((msg) => msg._id === 'second')).payload).toEqual({ ok: false, error: 'setpoint out of range' });
    expect(commands.map((c) => c.payload)).toEqual(['{"value":42}', '{"value":420}']);

    // The valve ignores this point: no result within the timeout.
    cmd.receive({ point: 'mode', payload: 'auto', _id: 'third' });
    expect((await out.next((msg) => msg._id === 'third')).payload).toEqual({ ok: false, error: 'no result from valve-7 within 2 s' });
    expect((await caught.next()).error).toMatchObject({ message: expect.stringMatching(/no result within 2 s/) as unknown });
    expect(caught.messages).toHaveLength(1);
    expect(cmd.counts).toMatchObject({ sent: 3, ok: 1, notOk: 1, timedOut: 1 });
  });
});
