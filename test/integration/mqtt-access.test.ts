/**
 * The MQTT side as independent clients see it (mosquitto_pub / mosquitto_sub): logins with scrypt-hashed passwords,
 * per-role topic permissions, field-device ingest with validation, and the per-client error topic.
 */
import { spawn } from 'node:child_process';
import { connect, connectAsync, type MqttClient } from 'mqtt';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { hashPassword } from '../../gateway/broker/password.js';
import { mosquittoPub } from '../peers/mosquitto-pub.js';
import { mosquittoSub, type MosquittoSub, type MqttMessage } from '../peers/mosquitto-sub.js';
import { waitFor } from '../peers/net.js';
import { startGateway, type RunningGateway } from '../support/gateway.js';

const T = 60_000;
const passwords = { 'pump-7': 'pump-pass', 'lora-gw': 'lora-pass', desk: 'desk-pass', ops: 'ops-pass' } as const;
type User = keyof typeof passwords;

describe('MQTT logins, permissions and ingest', () => {
  let gw: RunningGateway;
  let all: MosquittoSub;
  const subs: MosquittoSub[] = [];
  const clients: MqttClient[] = [];

  const as = (user: User) => ({ port: gw.mqttPort, username: user, password: passwords[user] });
  const pub = (user: User, topic: string, message: string | Buffer, clientId = `${user}-pub`) => mosquittoPub({ ...as(user), topic, message, qos: 1, clientId });
  const sub = (opts: Parameters<typeof mosquittoSub>[0]) => {
    const s = mosquittoSub(opts);
    subs.push(s);
    return s;
  };
  const errorsOf = (clientId: string) => (m: MqttMessage) => m.topic === `city/lab/clients/${clientId}/errors`;

  beforeAll(async () => {
    const hash = (user: User) => hashPassword(passwords[user], { ln: 10 });
    gw = await startGateway(`site: lab
mqtt:
  listeners: [{ type: tcp, host: 127.0.0.1, port: 0 }]
  allow_anonymous: false
  users:
    - { username: pump-7, role: device, password_hash: "${await hash('pump-7')}" }
    - { username: lora-gw, role: device, devices: ["lora-*"], password_hash: "${await hash('lora-gw')}" }
    - { username: desk, role: staff, password_hash: "${await hash('desk')}" }
    - { username: ops, role: operator, password_hash: "${await hash('ops')}" }
  limits: { max_payload: 4KB }
devices:
  - { name: lora-3, driver: mqtt, domain: water, tags: { zone: north } }
`);
    all = sub({ ...as('ops'), topic: 'city/lab/#', qos: 1 });
    await all.ready();
  }, T);

  afterAll(async () => {
    for (const client of clients) client.end(true);
    for (const s of subs) await s.stop();
    await gw?.stop();
  });

  it('turns a valid ingest publish into normalised readings and marks the device online', { timeout: T }, async () => {
    const ts = Date.now() - 5_000;
    const result = await pub('pump-7', 'city/lab/ingest/water/pump-7', JSON.stringify({ flow: 12.3, level: { value: 1.2, unit: 'm', ts }, running: true }));
    expect(result.code, result.output).toBe(0);
    const flow = await all.next((m) => m.topic === 'city/lab/water/pump-7/flow');
    expect(JSON.parse(flow.payload)).toMatchObject({ value: 12.3, quality: 'good' });
    const level = await all.next((m) => m.topic === 'city/lab/water/pump-7/level');
    expect(JSON.parse(level.payload)).toEqual({ value: 1.2, unit: 'm', ts, quality: 'good' });
    expect(JSON.parse((await all.next((m) => m.topic === 'city/lab/water/pump-7/running')).payload)).toMatchObject({ value: true });
    expect(JSON.parse((await all.next((m) => m.topic === 'city/lab/status/pump-7')).payload)).toMatchObject({ state: 'online' });
  });

  it('refuses each kind of bad payload with its reason on the client error topic, keeping the good metrics', { timeout: T }, async () => {
    const now = Date.now();
    const cases: [string | Buffer, RegExp][] = [
      ['{"flow": 12.3', /payload is not JSON/],
      ['[1,2,3]', /must be a JSON object/],
      ['{}', /no metrics/],
      ['{"flow": 1e400}', /"flow": .*finite/],
      ['{"flow": null}', /"flow": .*null/],
      [`{"flow": {"value": 1, "ts": ${now + 3_600_000}}}`, /"flow": .*future/],
      [`{"flow": {"value": 1, "ts": ${Math.floor(now / 1000)}}}`, /"flow": .*seconds/],
      ['{"flow": {"value": 1, "colour": "red"}}', /"flow": .*colour/],
      ['{"fl/ow": 1}', /fl\/ow/],
      [Buffer.from([0x7b, 0xff, 0xfe, 0x7d]), /UTF-8/],
      [`{"note": "${'x'.repeat(3000)}"}`, /"note": .*string/],
    ];
    for (const [index, [payload, reason]] of cases.entries()) {
      const clientId = `pump-7-bad-${index}`;
      const result = await pub('pump-7', 'city/lab/ingest/water/pump-7', payload, clientId);
      expect(result.code, result.output).toBe(0); // acknowledged: sending it again would not make it valid
      const told = JSON.parse((await all.next(errorsOf(clientId))).payload) as { topic: string; errors: string[] };
      expect(told.topic).toBe('city/lab/ingest/water/pump-7');
      expect(told.errors.join(' | ')).toMatch(reason);
    }
    // One bad metric does not cost the payload its good ones.
    await pub('pump-7', 'city/lab/ingest/water/pump-7', '{"pressure": 3.5, "flow": "fast", "temp": {"value": 1, "unit": 7}}', 'pump-7-mixed');
    expect((await all.next(errorsOf('pump-7-mixed'))).payload).toMatch(/temp/);
    expect(JSON.parse((await all.next((m) => m.topic === 'city/lab/water/pump-7/pressure')).payload)).toMatchObject({ value: 3.5 });
    expect(JSON.parse((await all.next((m) => m.topic === 'city/lab/water/pump-7/flow' && m.payload.includes('fast'))).payload)).toMatchObject({ value: 'fast' });
    // Too big for the listener's limit.
    await pub('pump-7', 'city/lab/ingest/water/pump-7', `{"flow": 1, "pad": "${'x'.repeat(5000)}"}`, 'pump-7-big');
    expect((await all.next(errorsOf('pump-7-big'))).payload).toMatch(/over the limit of 4096/);
    expect(gw.gateway.health().ingest).toMatchObject({ payloadsRejected: expect.any(Number), metricsRejected: expect.any(Number) });
    expect(gw.gateway.health().broker!.payloadsTooLarge).toBe(1);
  });

  it('refuses a wrong password, a missing password and an unknown user', { timeout: T }, async () => {
    const message = '{"flow": 1}';
    const wrong = await mosquittoPub({ port: gw.mqttPort, username: 'pump-7', password: 'guess', topic: 'city/lab/ingest/water/pump-7', message });
    expect(wrong.code).not.toBe(0);
    expect(wrong.output).toMatch(/bad user name or password|not authori[sz]ed/i);
    const none = await mosquittoPub({ port: gw.mqttPort, topic: 'city/lab/ingest/water/pump-7', message });
    expect(none.code).not.toBe(0);
    expect(none.output).toMatch(/not authori[sz]ed/i);
    const stranger = await mosquittoPub({ port: gw.mqttPort, username: 'mallory', password: 'x', topic: 'city/lab/ingest/water/pump-7', message });
    expect(stranger.code).not.toBe(0);
    expect(gw.gateway.health().broker!.loginsRefused).toBeGreaterThanOrEqual(3);
    // The log names the refusal but never the password.
    expect(gw.logs.join('\n')).toMatch(/login refused/);
    expect(gw.logs.join('\n')).not.toMatch(/guess/);
  });

  it('keeps a device to its own topics', { timeout: T }, async () => {
    const denied = gw.gateway.health().broker!.publishesDenied;
    // Another device's ingest, and a forged gateway reading: acknowledged, routed nowhere, told, counted.
    for (const [clientId, topic] of [
      ['pump-7-other', 'city/lab/ingest/water/pump-8'],
      ['pump-7-forge', 'city/lab/water/pump-7/flow'],
      ['pump-7-status', 'city/lab/status/pump-7'],
    ] as const) {
      const result = await pub('pump-7', topic, '{"flow": 999}', clientId);
      expect(result.code, result.output).toBe(0);
      expect((await all.next(errorsOf(clientId))).payload).toMatch(/not allowed to publish/);
    }
    expect(gw.gateway.health().broker!.publishesDenied).toBe(denied + 3);
    // The refused payload itself, or a reading made of it; not any '999' (a timestamp can hold one: 1796299980000).
    expect(all.messages.some((m) => m.payload.includes('{"flow": 999}') || /"value":999[,}]/.test(m.payload))).toBe(false);
    expect(all.messages.some((m) => m.topic.includes('pump-8'))).toBe(false);

    // Reads: its own commands only; not readings, not another device's commands.
    await expect(sub({ ...as('pump-7'), topic: 'city/lab/#' }).ready()).rejects.toThrow(/refused/);
    await expect(sub({ ...as('pump-7'), topic: 'city/lab/command/+/setpoint' }).ready()).rejects.toThrow(/refused/);
    await expect(sub({ ...as('pump-7'), topic: 'city/lab/command/pump-8/setpoint' }).ready()).rejects.toThrow(/refused/);
    const own = sub({ ...as('pump-7'), topic: 'city/lab/command/pump-7/+', qos: 1 });
    await own.ready();
    // An operator commands it; the device answers on .../result, which the operator sees.
    expect((await pub('ops', 'city/lab/command/pump-7/setpoint', '{"value":42}')).code).toBe(0);
    expect(JSON.parse((await own.next((m) => m.topic === 'city/lab/command/pump-7/setpoint')).payload)).toEqual({ value: 42 });
    expect((await pub('pump-7', 'city/lab/command/pump-7/setpoint/result', '{"ok":true}')).code).toBe(0);
    await all.next((m) => m.topic === 'city/lab/command/pump-7/setpoint/result');
    expect(gw.gateway.health().broker!.subscriptionsDenied).toBeGreaterThanOrEqual(3);
  });

  it('never relays or keeps a retained command: a device would carry it out again on every subscribe', { timeout: T }, async () => {
    const topic = 'city/lab/command/lora-3/valve';
    const retained = await mosquittoPub({ ...as('ops'), topic, message: '{"value":1}', qos: 1, clientId: 'ops-retained', extra: ['-r'] });
    expect(retained.code, retained.output).toBe(0);
    expect(JSON.parse((await all.next(errorsOf('ops-retained'))).payload)).toMatchObject({ topic, errors: [expect.stringMatching(/^a retained command is never relayed/)] });
    expect(gw.gateway.health().broker!.retainedCommandsRefused).toBe(1);
    // The device subscribing now gets no command (it would have got the retained one), then a live one as usual.
    const device = sub({ ...as('lora-gw'), topic: 'city/lab/command/lora-3/+', qos: 1 });
    await device.ready();
    expect((await pub('ops', topic, '{"value":2}')).code).toBe(0);
    expect(JSON.parse((await device.next((m) => m.topic === topic)).payload)).toEqual({ value: 2 });
    expect(device.messages.filter((m) => m.topic === topic).map((m) => m.payload)).toEqual(['{"value":2}']);
    expect(all.messages.some((m) => m.topic === topic && m.payload === '{"value":1}')).toBe(false);
    // An empty retained message clears one (a broker of an older version may hold it): it passes, and is no refusal.
    const cleared = await mosquittoPub({ ...as('ops'), topic, message: '', qos: 1, clientId: 'ops-clear', extra: ['-r'] });
    expect(cleared.code, cleared.output).toBe(0);
    expect(gw.gateway.health().broker!.retainedCommandsRefused).toBe(1);
  });

  it('lets a gateway login speak for the devices its globs name, with their declared tags and domain', { timeout: T }, async () => {
    expect((await pub('lora-gw', 'city/lab/ingest/water/lora-3', '{"level": 2.5}')).code).toBe(0);
    expect(JSON.parse((await all.next((m) => m.topic === 'city/lab/water/lora-3/level')).payload)).toMatchObject({ value: 2.5 });
    await pub('lora-gw', 'city/lab/ingest/traffic/lora-3', '{"level": 2.5}', 'lora-wrong-domain');
    expect((await all.next(errorsOf('lora-wrong-domain'))).payload).toMatch(/declared in domain \\"water\\"/);
    await pub('lora-gw', 'city/lab/ingest/water/pump-7', '{"level": 2.5}', 'lora-not-its-own');
    expect((await all.next(errorsOf('lora-not-its-own'))).payload).toMatch(/not allowed/);
  });

  it('gives staff alerts and status, and alert acknowledgement, but not readings or commands', { timeout: T }, async () => {
    const desk = sub({ ...as('desk'), topic: ['city/lab/alerts/#', 'city/lab/status/#', 'city/lab/events/#'] });
    await desk.ready();
    // Retained status of the device that published earlier (mosquitto_pub has disconnected since).
    expect(JSON.parse((await desk.next((m) => m.topic === 'city/lab/status/pump-7')).payload)).toMatchObject({ state: 'offline', error: 'disconnected' });
    await expect(sub({ ...as('desk'), topic: 'city/lab/water/#' }).ready()).rejects.toThrow(/refused/);
    await pub('desk', 'city/lab/command/pump-7/setpoint', '{"value":1}', 'desk-command');
    expect((await all.next(errorsOf('desk-command'))).payload).toMatch(/not allowed to publish/);
    // An acknowledgement of an unknown alert is allowed through and answered.
    expect((await pub('desk', 'city/lab/alerts/no-rule/pump-7/flow/ack', '{"by":"desk"}')).code).toBe(0);
    await desk.next((m) => m.topic === 'city/lab/alerts/no-rule/pump-7/flow/ack/result');
  });

  it('marks a device offline when its connection is lost, and says so differently for a clean disconnect', { timeout: T }, async () => {
    const open = (clientId: string) =>
      new Promise<MqttClient>((resolve, reject) => {
        const client = connect(`mqtt://127.0.0.1:${gw.mqttPort}`, { ...as('lora-gw'), clientId, reconnectPeriod: 0, keepalive: 60 });
        clients.push(client);
        client.once('connect', () => resolve(client));
        client.once('error', reject);
      });
    const lost = await open('lora-lost');
    await lost.publishAsync('city/lab/ingest/water/lora-9', '{"level": 1}', { qos: 1 });
    await all.next((m) => m.topic === 'city/lab/status/lora-9' && m.payload.includes('online'));
    lost.stream.destroy(); // the radio link dies: no DISCONNECT
    expect(JSON.parse((await all.next((m) => m.topic === 'city/lab/status/lora-9' && m.payload.includes('offline'))).payload)).toMatchObject({ error: 'connection lost' });

    const clean = await open('lora-clean');
    await clean.publishAsync('city/lab/ingest/water/lora-10', '{"level": 1}', { qos: 1 });
    await all.next((m) => m.topic === 'city/lab/status/lora-10' && m.payload.includes('online'));
    await clean.endAsync();
    expect(JSON.parse((await all.next((m) => m.topic === 'city/lab/status/lora-10' && m.payload.includes('offline'))).payload)).toMatchObject({ error: 'disconnected' });
  });

  it('gives the gateway\'s own helpers (Node-RED) an internal login for this run', { timeout: T }, async () => {
    const { username, password } = gw.gateway.internalLogin('nodered');
    const client = await connectAsync(`mqtt://127.0.0.1:${gw.mqttPort}`, { username, password, reconnectPeriod: 0 });
    clients.push(client);
    await client.subscribeAsync('city/lab/#');
    // It may feed derived readings for any device, but not forge the gateway's own topics.
    await client.publishAsync('city/lab/ingest/energy/derived-1', '{"load_share": 0.42}', { qos: 1 });
    expect(JSON.parse((await all.next((m) => m.topic === 'city/lab/energy/derived-1/load_share')).payload)).toMatchObject({ value: 0.42 });
    const denied = gw.gateway.health().broker!.publishesDenied;
    await client.publishAsync('city/lab/status/derived-1', '{"state":"online"}', { qos: 1 });
    expect(gw.gateway.health().broker!.publishesDenied).toBe(denied + 1);
    await expect(connectAsync(`mqtt://127.0.0.1:${gw.mqttPort}`, { username, password: 'guess', reconnectPeriod: 0 })).rejects.toThrow(/Bad username or password/i);
  });

  it('marks a device offline when its keep-alive runs out (a frozen client)', { timeout: T }, async () => {
    // mosquitto_pub -l keeps its connection and publishes each stdin line; SIGSTOP freezes it: no PINGREQ any more
    // (5 s is the shortest keep-alive it takes).
    const child = spawn('mosquitto_pub', ['-h', '127.0.0.1', '-p', String(gw.mqttPort), ...['-u', 'lora-gw', '-P', passwords['lora-gw']], '-k', '5', '-q', '1', '-i', 'lora-frozen', '-t', 'city/lab/ingest/water/lora-11', '-l'], { stdio: ['pipe', 'ignore', 'ignore'] });
    try {
      child.stdin.write('{"level": 3}\n');
      await all.next((m) => m.topic === 'city/lab/status/lora-11' && m.payload.includes('online'));
      child.kill('SIGSTOP');
      // aedes gives up after 1.5 keep-alive periods (7.5 s).
      const offline = await all.next((m) => m.topic === 'city/lab/status/lora-11' && m.payload.includes('offline'), 30_000);
      expect(JSON.parse(offline.payload)).toMatchObject({ error: 'connection lost' });
      expect(gw.logs.join('\n')).toMatch(/keep-alive timed out.*client=lora-frozen/);
    } finally {
      child.kill('SIGKILL');
    }
  });

  it('lets only the same user take over a client id', { timeout: T }, async () => {
    const device = await connectAsync(`mqtt://127.0.0.1:${gw.mqttPort}`, { ...as('pump-7'), clientId: 'pump-7-main', reconnectPeriod: 0 });
    clients.push(device);
    // Another user cannot push the device off by reusing its client id...
    await expect(connectAsync(`mqtt://127.0.0.1:${gw.mqttPort}`, { ...as('desk'), clientId: 'pump-7-main', reconnectPeriod: 0 })).rejects.toThrow(/Identifier rejected/i);
    expect(device.connected).toBe(true);
    // ...while the device itself may reconnect over a half-dead session.
    const again = await connectAsync(`mqtt://127.0.0.1:${gw.mqttPort}`, { ...as('pump-7'), clientId: 'pump-7-main', reconnectPeriod: 0 });
    clients.push(again);
    expect(again.connected).toBe(true);
  });

  it('keeps anonymous clients out when anonymous access is off', { timeout: T }, async () => {
    await expect(sub({ port: gw.mqttPort, topic: 'city/lab/#' }).ready()).rejects.toThrow();
    await waitFor(() => (gw.logs.some((line) => line.includes('anonymous access is off')) ? true : undefined), { what: 'the refusal in the log' });
  });
});
