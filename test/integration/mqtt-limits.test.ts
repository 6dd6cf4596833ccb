/**
 * Limits that keep one client from hurting the others: connection count and per-client publish rate (a client over
 * its allowance is slowed down; one that keeps flooding is disconnected), while other clients go on undisturbed.
 */
import { once } from 'node:events';
import { createConnection } from 'node:net';
import { connectAsync, type MqttClient } from 'mqtt';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { mosquittoSub, type MosquittoSub } from '../peers/mosquitto-sub.js';
import { waitFor } from '../peers/net.js';
import { startGateway, type RunningGateway } from '../support/gateway.js';

const T = 60_000;

describe('MQTT limits', () => {
  let gw: RunningGateway;
  let all: MosquittoSub;
  const clients: MqttClient[] = [];
  const open = async (clientId: string): Promise<MqttClient> => {
    const client = await connectAsync(`mqtt://127.0.0.1:${gw.mqttPort}`, { clientId, reconnectPeriod: 0 });
    clients.push(client);
    return client;
  };

  beforeAll(async () => {
    gw = await startGateway(`site: lab
mqtt:
  listeners: [{ type: tcp, host: 127.0.0.1, port: 0 }]
  anonymous_role: operator # the test's clients publish commands without a login
  limits: { max_connections: 4, publish_rate: 50, publish_burst: 50, max_throttle: 1s }
`);
    all = mosquittoSub({ port: gw.mqttPort, topic: 'city/lab/command/#', qos: 1 });
    await all.ready();
  }, T);

  afterAll(async () => {
    for (const client of clients) client.end(true);
    await all?.stop();
    await gw?.stop();
  });

  it('slows a client that publishes faster than allowed, and disconnects one that keeps flooding, without touching the others', { timeout: T }, async () => {
    const flooder = await open('flooder');
    const steady = await open('steady');
    const closed = new Promise<void>((resolve) => flooder.once('close', () => resolve()));
    // 2,000 publishes at once: far past the burst and a second of allowance.
    for (let i = 0; i < 2000; i++) flooder.publish('city/lab/command/valve-1/position', String(i), { qos: 0 });
    // Meanwhile a well-behaved client's 40 commands all go through.
    for (let i = 0; i < 40; i++) await steady.publishAsync('city/lab/command/valve-2/position', String(i), { qos: 1 });
    await closed;
    await waitFor(() => (all.messages.filter((m) => m.topic.endsWith('valve-2/position')).length === 40 ? true : undefined), { what: 'all 40 steady commands' });
    expect(all.messages.filter((m) => m.topic.endsWith('valve-2/position')).map((m) => Number(m.payload))).toEqual([...Array(40).keys()]);
    const stats = gw.gateway.health().broker!;
    expect(stats.floodDisconnects).toBe(1);
    expect(stats.publishesThrottled).toBeGreaterThan(0);
    // It got no more than its burst and a second's worth through before it was cut off.
    expect(all.messages.filter((m) => m.topic.endsWith('valve-1/position')).length).toBeLessThanOrEqual(50 + 50 + 5);
    expect(gw.logs.join('\n')).toMatch(/client disconnected: it keeps publishing faster than allowed.*client=flooder/);
  });

  it('throttles a burst over the allowance instead of dropping it', { timeout: T }, async () => {
    const eager = await open('eager');
    const throttled = gw.gateway.health().broker!.publishesThrottled;
    // 80 at once: 50 pass as the burst, the other 30 wait their turn (well under the 1 s that would disconnect).
    await Promise.all([...Array(80).keys()].map((i) => eager.publishAsync('city/lab/command/valve-3/position', String(i), { qos: 1 })));
    expect(eager.connected).toBe(true);
    await waitFor(() => (all.messages.filter((m) => m.topic.endsWith('valve-3/position')).length === 80 ? true : undefined), { what: 'all 80 eager commands' });
    expect(gw.gateway.health().broker!.publishesThrottled).toBeGreaterThan(throttled);
    await eager.endAsync();
  });

  it('does not throttle the gateway’s own helpers (Node-RED, internal login): the pipeline paces them instead', { timeout: T }, async () => {
    const { username, password } = gw.gateway.internalLogin('node-red');
    const helper = await connectAsync(`mqtt://127.0.0.1:${gw.mqttPort}`, { clientId: 'helper', username, password, reconnectPeriod: 0 });
    clients.push(helper);
    const throttled = gw.gateway.health().broker!.publishesThrottled;
    // Far past the 50/s allowance of other clients: derived readings at the rate a flow produces them.
    await Promise.all([...Array(500).keys()].map((i) => helper.publishAsync('city/lab/ingest/energy/derived-1', `{"kw":${i}}`, { qos: 1 })));
    expect(helper.connected).toBe(true);
    expect(gw.gateway.health().broker!.publishesThrottled).toBe(throttled);
    await helper.endAsync();
  });

  it('cuts a connection whose packet announces more than the payload limit allows, before buffering it', { timeout: T }, async () => {
    const socket = createConnection({ host: '127.0.0.1', port: gw.mqttPort });
    await once(socket, 'connect');
    // A CONNECT whose length field says 200 MB: only the header is ever sent.
    socket.write(Buffer.from([0x10, 0x80, 0x80, 0x80, 0x60]));
    await once(socket, 'close');
    await waitFor(() => (gw.logs.some((line) => /connection cut: packet over the size limit.*bytes=201326592/.test(line)) ? true : undefined), { what: 'the refusal in the log' });
  });

  it('refuses connections beyond max_connections with "server unavailable"', { timeout: T }, async () => {
    // mosquitto_sub holds one; the earlier tests' steady client another.
    while (gw.gateway.health().broker!.clients < 4) await open(`filler-${gw.gateway.health().broker!.clients}`);
    await expect(open('one-too-many')).rejects.toThrow(/Server unavailable/i);
    expect(gw.gateway.health().broker!.connectionsOverLimit).toBe(1);
  });
});

describe('deny_action: disconnect', () => {
  let gw: RunningGateway;
  beforeAll(async () => {
    gw = await startGateway(`site: lab
mqtt:
  listeners: [{ type: tcp, host: 127.0.0.1, port: 0 }]
  anonymous_role: staff
  deny_action: disconnect
`);
  }, T);
  afterAll(() => gw?.stop());

  it('closes the connection of a client that publishes where it may not', { timeout: T }, async () => {
    const client = await connectAsync(`mqtt://127.0.0.1:${gw.mqttPort}`, { clientId: 'curious', reconnectPeriod: 0 });
    const closed = new Promise<void>((resolve) => client.once('close', () => resolve()));
    client.publish('city/lab/command/valve-1/position', '1', { qos: 1 });
    await closed;
    expect(gw.gateway.health().broker!.publishesDenied).toBe(1);
    client.end(true);
  });
});
