/**
 * The broker keeps the MQTT contract with real clients (mqtt.js, Mosquitto's own, a raw socket): a refused publish
 * reaches nobody — not live subscribers, not persistent sessions that reconnect later; QoS follows each client's
 * subscriptions [MQTT-3.3.5-1]; a subscription that can never match a contract topic is refused with SUBACK 0x80; an
 * unsupported protocol level gets CONNACK 0x01 [MQTT-3.1.2-2]; anonymous loopback clients may only watch.
 */
import { once } from 'node:events';
import { createConnection } from 'node:net';
import { connectAsync, type IClientOptions, type MqttClient } from 'mqtt';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { hashPassword } from '../../gateway/broker/password.js';
import { mosquittoPub } from '../peers/mosquitto-pub.js';
import { mosquittoSub, type MosquittoSub } from '../peers/mosquitto-sub.js';
import { waitFor } from '../peers/net.js';
import { startGateway, type RunningGateway } from '../support/gateway.js';

const T = 60_000;
const passwords = { ops: 'ops-pass', desk: 'desk-pass', 'pump-7': 'pump-pass' } as const;
type User = keyof typeof passwords;

interface Received {
  topic: string;
  payload: string;
  qos: number;
}

describe('broker contract with real clients', () => {
  let gw: RunningGateway;
  const clients: MqttClient[] = [];
  const subs: MosquittoSub[] = [];

  const as = (user: User) => ({ port: gw.mqttPort, username: user, password: passwords[user] });
  const open = async (user: User | undefined, opts: IClientOptions = {}): Promise<{ client: MqttClient; received: Received[] }> => {
    const client = await connectAsync(`mqtt://127.0.0.1:${gw.mqttPort}`, { reconnectPeriod: 0, ...(user ? { username: user, password: passwords[user] } : {}), ...opts });
    clients.push(client);
    const received: Received[] = [];
    client.on('message', (topic, payload, packet) => received.push({ topic, payload: payload.toString(), qos: packet.qos }));
    return { client, received };
  };
  const until = (received: Received[], payload: string) => waitFor(() => (received.some((m) => m.payload === payload) ? true : undefined), { what: `message "${payload}"` });

  beforeAll(async () => {
    const hash = (user: User) => hashPassword(passwords[user], { ln: 10 });
    gw = await startGateway(`site: lab
mqtt:
  listeners: [{ type: tcp, host: 127.0.0.1, port: 0 }]
  users:
    - { username: ops, role: operator, password_hash: "${await hash('ops')}" }
    - { username: desk, role: staff, password_hash: "${await hash('desk')}" }
    - { username: pump-7, role: device, password_hash: "${await hash('pump-7')}" }
`);
  }, T);

  afterAll(async () => {
    for (const client of clients) client.end(true);
    for (const sub of subs) await sub.stop();
    await gw?.stop();
  });

  it('queues no refused publish for a persistent session that reconnects', { timeout: T }, async () => {
    const first = await open('ops', { clientId: 'night-watch', clean: false });
    await first.client.subscribeAsync('#', { qos: 1 });
    await first.client.endAsync();

    // Refused (staff may not command) yet acknowledged under deny_action: ignore; then an allowed marker.
    const refused = await mosquittoPub({ ...as('desk'), topic: 'city/lab/command/valve-1/open', message: 'forged', qos: 1 });
    expect(refused.code, refused.output).toBe(0);
    expect((await mosquittoPub({ ...as('ops'), topic: 'city/lab/command/valve-1/open', message: 'marker', qos: 1 })).code).toBe(0);

    const again = await open('ops', { clientId: 'night-watch', clean: false });
    await until(again.received, 'marker');
    expect(again.received.filter((m) => m.payload === 'forged' || m.topic.startsWith('$'))).toEqual([]);
  });

  it('relays no raw payload of a refused ingest, while a valid one still goes through', { timeout: T }, async () => {
    const watcher = await open('ops');
    await watcher.client.subscribeAsync('city/lab/ingest/#', { qos: 1 });
    const bad = await mosquittoPub({ ...as('pump-7'), topic: 'city/lab/ingest/water/pump-7', message: '{"flow": 12.3', qos: 1 });
    expect(bad.code, bad.output).toBe(0);
    expect((await mosquittoPub({ ...as('pump-7'), topic: 'city/lab/ingest/water/pump-7', message: '{"flow": 1}', qos: 1 })).code).toBe(0);
    await until(watcher.received, '{"flow": 1}');
    expect(watcher.received.map((m) => m.payload)).toEqual(['{"flow": 1}']);
  });

  it('delivers overlapping subscriptions at their own QoS, never above [MQTT-3.3.5-1]', { timeout: T }, async () => {
    const { client, received } = await open('ops');
    await client.subscribeAsync({ 'city/lab/command/#': { qos: 2 }, 'city/lab/command/+/open': { qos: 1 }, 'city/lab/command/+/close': { qos: 0 } });
    await (await open('ops')).client.publishAsync('city/lab/command/valve-2/open', 'both', { qos: 2 });
    await until(received, 'both');
    await (await open('ops')).client.publishAsync('city/lab/command/valve-2/close', 'three', { qos: 2 });
    await until(received, 'three');
    // Copies arrive together; give a straggler the time a whole round trip takes.
    await (await open('ops')).client.publishAsync('city/lab/command/valve-2/close', 'end', { qos: 0 });
    await until(received, 'end');
    const qosOf = (payload: string) => received.filter((m) => m.payload === payload).map((m) => m.qos).sort();
    // Either one copy at the highest subscription's QoS, or one per subscription at its own QoS.
    expect([[2], [1, 2]]).toContainEqual(qosOf('both'));
    expect([[2], [0, 2]]).toContainEqual(qosOf('three'));
  });

  it('delivers at the QoS granted to a single wildcard subscription', { timeout: T }, async () => {
    const { client, received } = await open('ops');
    await client.subscribeAsync('city/lab/command/+/stop', { qos: 1 });
    await (await open('ops')).client.publishAsync('city/lab/command/valve-3/stop', 'stop', { qos: 2 });
    await until(received, 'stop');
    expect(received.map((m) => m.qos)).toEqual([1]);
  });

  it('refuses with 0x80 a subscription no contract topic can match', { timeout: T }, async () => {
    const { client } = await open('ops');
    // mqtt.js rejects a SUBACK holding 0x80; the packet it carries says what was granted, topic by topic.
    const suback = await client
      .subscribeAsync({ 'test/nosubscribe': { qos: 1 }, '$SYS/#': { qos: 0 }, 'city/other-site/#': { qos: 0 }, 'city/lab/#': { qos: 1 }, '+/+/water/#': { qos: 0 }, '#': { qos: 0 } })
      .then(
        () => undefined,
        (error: unknown) => (error as { packet?: { granted: number[] } }).packet,
      );
    expect(suback?.granted).toEqual([128, 128, 128, 1, 0, 0]);
    expect(gw.gateway.health().broker!.subscriptionsDenied).toBeGreaterThanOrEqual(3);
  });

  it('answers an unsupported protocol level with CONNACK 0x01 and closes [MQTT-3.1.2-2]', { timeout: T }, async () => {
    for (const level of [6, 5]) {
      const socket = createConnection({ host: '127.0.0.1', port: gw.mqttPort });
      await once(socket, 'connect');
      const chunks: Buffer[] = [];
      socket.on('data', (chunk: Buffer) => chunks.push(chunk));
      const closed = once(socket, 'close');
      // CONNECT: "MQTT", the level, clean session, keep-alive 60, client id "p".
      const body = [0x00, 0x04, 0x4d, 0x51, 0x54, 0x54, level, 0x02, 0x00, 0x3c, ...(level === 5 ? [0x00] : []), 0x00, 0x01, 0x70];
      socket.write(Buffer.from([0x10, body.length, ...body]));
      await closed;
      expect(Buffer.concat(chunks), `level ${level}`).toEqual(Buffer.from([0x20, 0x02, 0x00, 0x01]));
    }
  });
});

describe('anonymous loopback clients by default', () => {
  let gw: RunningGateway;
  const clients: MqttClient[] = [];

  beforeAll(async () => {
    gw = await startGateway('site: lab\n');
  }, T);
  afterAll(async () => {
    for (const client of clients) client.end(true);
    await gw?.stop();
  });

  it('may watch everything but publish nothing: no command, no acknowledgement', { timeout: T }, async () => {
    const watch = mosquittoSub({ port: gw.mqttPort, topic: 'city/lab/#', qos: 1 });
    try {
      await watch.ready();
      const denied = gw.gateway.health().broker!.publishesDenied;
      for (const topic of ['city/lab/command/valve-1/open', 'city/lab/alerts/level-high/pump-1/level/ack']) {
        const result = await mosquittoPub({ port: gw.mqttPort, topic, message: '{"by":"anyone"}', qos: 1, clientId: 'local-script' });
        expect(result.code, result.output).toBe(0);
      }
      expect(gw.gateway.health().broker!.publishesDenied).toBe(denied + 2);
      const told = await watch.next((m) => m.topic === 'city/lab/clients/local-script/errors');
      expect(told.payload).toMatch(/not allowed to publish here \(viewer anonymous\)/);
      expect(watch.messages.filter((m) => m.topic.includes('/command/') || m.topic.includes('/ack'))).toEqual([]);
    } finally {
      await watch.stop();
    }
  });
});
