/**
 * The embedded broker delivers every message to a real client (Mosquitto's own), whatever the mix of QoS and retain:
 * a guard against aedes' dedupe dropping a retained or QoS 1 message overtaken by a QoS 0 one (moscajs/aedes#994);
 * and what the broker remembers per topic (who subscribes, at which QoS) follows every subscription change; a
 * client's publish that reaches nobody skips aedes' routing, yet one a later subscriber, a session away or the
 * retained store should have still gets there. An urgent message (an alert) is on the wire before the turn that
 * published it ends.
 */
import { connect as mqttConnect, connectAsync, type MqttClient } from 'mqtt';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { mosquittoSub, type MosquittoSub } from '../peers/mosquitto-sub.js';
import { startGateway, type RunningGateway } from '../support/gateway.js';

describe('embedded broker delivery', () => {
  let gw: RunningGateway;
  let sub: MosquittoSub;

  beforeAll(async () => {
    gw = await startGateway('site: lab\n');
    sub = mosquittoSub({ port: gw.mqttPort, topic: ['city/lab/#', 'city/lab/status/#'] });
    await sub.ready();
  });
  afterAll(async () => {
    await sub?.stop();
    await gw?.stop();
  });

  it('delivers retained QoS 1 messages published just before QoS 0 ones', async () => {
    const broker = gw.gateway.mqttBroker!;
    const sent: string[] = [];
    for (let i = 0; i < 50; i++) {
      void broker.publish(`city/lab/status/dev-${i}`, `status ${i}`, 1, true);
      void broker.publish(`city/lab/data/dev-${i}`, `reading ${i}`, 0, false);
      sent.push(`status ${i}`, `reading ${i}`);
    }
    await sub.next((m) => m.payload === 'status 49');
    await sub.next((m) => m.payload === 'reading 49');
    const received = new Set(sub.messages.map((m) => m.payload));
    expect(sent.filter((payload) => !received.has(payload))).toEqual([]);
  });

  it('routes by the subscriptions of the moment: a topic with traffic before anyone subscribed, a QoS changed, an unsubscribe', async () => {
    const broker = gw.gateway.mqttBroker!;
    const topic = 'city/lab/water/pump-1/level';
    // Traffic nobody receives first: the broker has answered "nobody" for this topic.
    await broker.publishMany([{ topic, payload: 'before' }]);
    await broker.publish(topic, 'before, QoS 1', 1, false);
    const client: MqttClient = await connectAsync(`mqtt://127.0.0.1:${gw.mqttPort}`, { clientId: 'routing-probe', reconnectPeriod: 0 });
    try {
      const got: { payload: string; qos: number }[] = [];
      client.on('message', (_topic, payload, packet) => got.push({ payload: payload.toString(), qos: packet.qos }));
      const arrived = async (payload: string) => {
        while (!got.some((m) => m.payload === payload)) await new Promise((resolve) => client.once('message', resolve));
        return got.find((m) => m.payload === payload)!;
      };

      await client.subscribeAsync('city/lab/water/#', { qos: 1 });
      await broker.publishMany([{ topic, payload: 'reading 1' }]);
      await broker.publish(topic, 'status 1', 1, false);
      expect(await arrived('reading 1')).toEqual({ payload: 'reading 1', qos: 0 });
      expect(await arrived('status 1')).toEqual({ payload: 'status 1', qos: 1 });

      // The same filter again at QoS 0 replaces the subscription: QoS 1 messages now arrive downgraded.
      await client.subscribeAsync('city/lab/water/#', { qos: 0 });
      await broker.publish(topic, 'status 2', 1, false);
      expect(await arrived('status 2')).toEqual({ payload: 'status 2', qos: 0 });

      await client.subscribeAsync('city/lab/marker', { qos: 0 });
      await client.unsubscribeAsync('city/lab/water/#');
      await broker.publishMany([{ topic, payload: 'after unsubscribe' }]);
      await broker.publish('city/lab/marker', 'marker', 0, false);
      await arrived('marker');
      expect(got.map((m) => m.payload)).not.toContain('after unsubscribe');
      expect(got.map((m) => m.payload)).not.toContain('before');
    } finally {
      await client.endAsync();
    }
  });

  /** Holds the event loop, as the rest of a busy turn would. */
  const busy = (ms: number): number => {
    const until = Date.now() + ms;
    while (Date.now() < until);
    return until;
  };
  const BUSY_MS = 3000;

  it.each([
    { subscriber: 'QoS 0', qos: 0 as const, persistent: false },
    { subscriber: 'QoS 1', qos: 1 as const, persistent: false },
    { subscriber: 'QoS 1, persistent session', qos: 1 as const, persistent: true },
  ])('writes an urgent message to a subscriber ($subscriber) before the turn goes on; others at its end', async ({ qos, persistent }) => {
    const broker = gw.gateway.mqttBroker!;
    const topic = `city/lab/urgent/${qos}/${persistent}`;
    const staff = mosquittoSub({ port: gw.mqttPort, topic, qos, clientId: `staff-${qos}-${persistent}`, persistent });
    try {
      await staff.ready();
      // Publishes, then lets the turn's immediates run; the first of them holds the loop.
      const publishThenHold = (payload: string, urgent: boolean): Promise<number> => {
        const held = new Promise<number>((resolve) => setImmediate(() => resolve(busy(BUSY_MS))));
        void broker.publish(topic, payload, 1, false, { urgent });
        return held;
      };
      const urgentHeldUntil = await publishThenHold('urgent', true);
      expect((await staff.next((m) => m.payload === 'urgent')).receivedAt).toBeLessThan(urgentHeldUntil);
      // The same without urgency: written at the end of the turn, once the loop comes round.
      const plainHeldUntil = await publishThenHold('plain', false);
      expect((await staff.next((m) => m.payload === 'plain')).receivedAt).toBeGreaterThanOrEqual(plainHeldUntil);
    } finally {
      await staff.stop();
    }
  });
});

describe('client publishes that reach nobody', () => {
  let gw: RunningGateway;
  const clients: MqttClient[] = [];
  const connect = async (clientId: string, clean = true): Promise<MqttClient> => {
    const client = await connectAsync(`mqtt://127.0.0.1:${gw.mqttPort}`, { clientId, clean, reconnectPeriod: 0 });
    clients.push(client);
    return client;
  };
  const nextMessage = (client: MqttClient): Promise<{ topic: string; payload: string; retain: boolean }> =>
    new Promise((resolve) => client.once('message', (topic, payload, packet) => resolve({ topic, payload: payload.toString(), retain: packet.retain })));

  beforeAll(async () => {
    // Anonymous clients as the gateway's helpers: they may publish ingest readings for any device.
    gw = await startGateway('site: lab\nmqtt: { anonymous_role: internal }\n');
  });
  afterAll(async () => {
    await Promise.all(clients.map((client) => client.endAsync(true)));
    await gw?.stop();
  });

  it('reach a subscriber that came after them, a session that was away, and a later subscriber of a retained one', async () => {
    const device = await connect('device-1');
    const topic = 'city/lab/ingest/water/dev-1';
    // Nobody subscribes yet: acknowledged, delivered to no one.
    await device.publishAsync(topic, '{"level":1}', { qos: 1 });

    const live = await connect('live');
    await live.subscribeAsync('city/lab/ingest/#', { qos: 0 });
    const seen = nextMessage(live);
    await device.publishAsync(topic, '{"level":2}', { qos: 0 });
    expect(await seen).toMatchObject({ topic, payload: '{"level":2}' });
    await live.endAsync();

    // A session that outlives its connection subscribes at QoS 1, then goes away: QoS 1 publishes are kept for it.
    const away = await connect('away', false);
    await away.subscribeAsync('city/lab/ingest/energy/#', { qos: 1 });
    await away.endAsync();
    await device.publishAsync('city/lab/ingest/energy/meter-1', '{"kwh":3}', { qos: 1 });
    // Listening before the CONNACK: the kept message may come in the same read.
    const back = mqttConnect(`mqtt://127.0.0.1:${gw.mqttPort}`, { clientId: 'away', clean: false, reconnectPeriod: 0 });
    clients.push(back);
    const kept = nextMessage(back);
    expect(await kept).toMatchObject({ topic: 'city/lab/ingest/energy/meter-1', payload: '{"kwh":3}' });

    await device.publishAsync('city/lab/ingest/traffic/loop-1', '{"count":4}', { qos: 0, retain: true });
    const later = await connect('later');
    const retained = nextMessage(later);
    await later.subscribeAsync('city/lab/ingest/traffic/#', { qos: 0 });
    expect(await retained).toEqual({ topic: 'city/lab/ingest/traffic/loop-1', payload: '{"count":4}', retain: true });
  });
});
