/**
 * A client flooding the broker (QoS 0 readings as fast as its socket takes them) must not hold up another device: the
 * broker reads a bounded number of frames of one connection per turn, then lets the others in. Real aedes, with the
 * broker's frame reader, over in-memory connections.
 */
import { Aedes, type Client } from 'aedes';
import mqttPacket from 'mqtt-packet';
import { Duplex } from 'node:stream';
import { afterEach, describe, expect, it } from 'vitest';
import { parsePublishesDirectly } from '../../gateway/broker/aedes-patches.js';
import { waitFor } from '../peers/net.js';

const FLOOD = 1000;

describe('the broker reading one connection at a time', () => {
  let broker: Aedes | undefined;
  afterEach(() => new Promise<void>((resolve) => (broker ? broker.close(() => resolve()) : resolve())));

  /** Connects an in-memory client; returns a function that hands the broker bytes from it. */
  async function connect(id: string, framesPerTurn: number | undefined): Promise<(bytes: Buffer) => void> {
    const conn = new Duplex({ read: () => undefined, write: (_chunk, _encoding, done) => done() });
    const client: Client = broker!.handle(conn);
    if (framesPerTurn !== undefined) parsePublishesDirectly(client, 1 << 20, framesPerTurn);
    else parsePublishesDirectly(client, 1 << 20);
    const connected = new Promise<void>((resolve) => broker!.once('client', () => resolve()));
    conn.push(mqttPacket.generate({ cmd: 'connect', protocolId: 'MQTT', protocolVersion: 4, clientId: id, clean: true, keepalive: 0 }));
    await connected;
    return (bytes) => conn.push(bytes);
  }

  /** The publishes aedes handled, in order, as `client:topic`, once `count` of them came. */
  async function floodAndAlarm(framesPerTurn: number | undefined): Promise<string[]> {
    const handled: string[] = [];
    broker = await Aedes.createBroker({ authorizePublish: (client, packet, done) => (handled.push(`${client?.id}:${packet.topic}`), done(null)) });
    const flooder = await connect('flooder', framesPerTurn);
    const device = await connect('device', framesPerTurn);
    const reading = (topic: string) => mqttPacket.generate({ cmd: 'publish', topic, payload: Buffer.from('{"flow":1}'), qos: 0, retain: false, dup: false });
    flooder(Buffer.concat(Array.from({ length: FLOOD }, (_, i) => reading(`flood/${i}`))));
    device(reading('alarm'));
    return waitFor(() => (handled.length === FLOOD + 1 ? handled : undefined), { what: 'every publish handled' });
  }

  it("handles another device's publish after at most a turn's frames of a flood, and the flood in order", async () => {
    const handled = await floodAndAlarm(undefined);
    const alarmAt = handled.indexOf('device:alarm');
    expect(alarmAt).toBeGreaterThan(0);
    expect(alarmAt).toBeLessThanOrEqual(128);
    const flood = handled.filter((entry) => entry.startsWith('flooder:'));
    expect(flood).toEqual(Array.from({ length: FLOOD }, (_, i) => `flooder:flood/${i}`));
  });

  it('(without a budget the same flood is read whole first)', async () => {
    const handled = await floodAndAlarm(Number.POSITIVE_INFINITY);
    expect(handled.indexOf('device:alarm')).toBe(FLOOD);
  });
});
