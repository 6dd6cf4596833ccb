/**
 * A client flooding the broker (QoS 0 readings as fast as its socket takes them) must not hold up another device: the
 * broker reads a bounded number of frames of one connection per turn, then lets the others in. Real aedes, with the
 * broker's frame reader, over in-memory connections.
 */
import { Aedes, type Client } from 'aedes';
import mqttPacket from 'mqtt-packet';
import { Duplex } from 'node:stream';
import { afterEach, describe, expect, it } from 'vitest';
import { parsePublishesDirectly, readAtMostPerTurn } from '../../gateway/broker/aedes-patches.js';
import { waitFor } from '../peers/net.js';

const FLOOD = 3000;
/** The broker's read budget per connection and turn. */
const BUDGET = 8 * 1024;

const reading = (topic: string): Buffer => mqttPacket.generate({ cmd: 'publish', topic, payload: Buffer.from('{"flow":1}'), qos: 0, retain: false, dup: false });

describe('the broker reading one connection at a time', () => {
  let broker: Aedes | undefined;
  afterEach(() => new Promise<void>((resolve) => (broker ? broker.close(() => resolve()) : resolve())));

  /** Connects an in-memory client; returns a function that hands the broker bytes from it. */
  async function connect(id: string, bytesPerTurn: number): Promise<(bytes: Buffer) => void> {
    const conn = new Duplex({ read: () => undefined, write: (_chunk, _encoding, done) => done() });
    const client: Client = broker!.handle(conn);
    parsePublishesDirectly(client, 1 << 20);
    readAtMostPerTurn(client, bytesPerTurn);
    const connected = new Promise<void>((resolve) => broker!.once('client', () => resolve()));
    conn.push(mqttPacket.generate({ cmd: 'connect', protocolId: 'MQTT', protocolVersion: 4, clientId: id, clean: true, keepalive: 0 }));
    await connected;
    return (bytes) => conn.push(bytes);
  }

  /** The publishes aedes handled, in order, as `client:topic`, once `count` of them came. */
  async function floodAndAlarm(bytesPerTurn: number): Promise<string[]> {
    const handled: string[] = [];
    broker = await Aedes.createBroker({ authorizePublish: (client, packet, done) => (handled.push(`${client?.id}:${packet.topic}`), done(null)) });
    const flooder = await connect('flooder', bytesPerTurn);
    const device = await connect('device', bytesPerTurn);
    flooder(Buffer.concat(Array.from({ length: FLOOD }, (_, i) => reading(`flood/${i}`))));
    device(reading('alarm'));
    return waitFor(() => (handled.length === FLOOD + 1 ? handled : undefined), { what: 'every publish handled' });
  }

  it("handles another device's publish after at most a turn's bytes of a flood, and the flood in order", async () => {
    const handled = await floodAndAlarm(BUDGET);
    const alarmAt = handled.indexOf('device:alarm');
    const frameBytes = reading('flood/0').length; // the shortest frame of the flood
    expect(alarmAt).toBeGreaterThan(0);
    expect(alarmAt).toBeLessThanOrEqual(Math.ceil(BUDGET / frameBytes));
    const flood = handled.filter((entry) => entry.startsWith('flooder:'));
    expect(flood).toEqual(Array.from({ length: FLOOD }, (_, i) => `flooder:flood/${i}`));
  });

  it('(without a budget the same flood is read whole first)', async () => {
    const handled = await floodAndAlarm(Number.POSITIVE_INFINITY);
    expect(handled.indexOf('device:alarm')).toBe(FLOOD);
  });
});
