/**
 * The bridge's own PUBLISH frames, read back by mqtt-packet (the parser of aedes and mqtt.js), and the matching of
 * their PUBACKs by packet identifier, also out of order, taken off a real mqtt.js client's connection.
 */
import { Duplex } from 'node:stream';
import fc from 'fast-check';
import { MqttClient } from 'mqtt';
import mqttPacket, { type IPublishPacket, type Packet } from 'mqtt-packet';
import { describe, expect, it, vi } from 'vitest';
import { FramePublisher, MAX_FRAMES_IN_FLIGHT, mqttJsMessageIds } from '../../gateway/bridge/publish-frames.js';
import { frameLength, writePublishFrame, type FrameMessage } from '../../gateway/util/mqtt-frames.js';

function parseAll(bytes: Buffer): Packet[] {
  const parser = mqttPacket.parser({ protocolVersion: 4 });
  const packets: Packet[] = [];
  const errors: Error[] = [];
  parser.on('packet', (packet: Packet) => packets.push(packet));
  parser.on('error', (error: Error) => errors.push(error));
  expect(parser.parse(bytes), 'bytes left over').toBe(0);
  expect(errors).toEqual([]);
  return packets;
}

/** Payloads around the lengths where the remaining length takes one more byte (127/128, 16383/16384). */
const payload = fc.oneof(
  fc.string({ unit: 'grapheme', maxLength: 40 }),
  fc.uint8Array({ maxLength: 300 }).map((bytes) => Buffer.from(bytes)),
  fc.constantFrom(100, 120, 125, 16_360, 16_380, 16_400).chain((base) => fc.integer({ min: base - 8, max: base + 8 }).map((length) => Buffer.alloc(length, 0x61))),
);
const message: fc.Arbitrary<FrameMessage> = fc.record({ topic: fc.string({ unit: 'grapheme', minLength: 1, maxLength: 30 }), payload, retain: fc.boolean() });

describe('PUBLISH frames', () => {
  it('read back by mqtt-packet with the same topic, payload, QoS, retain flag and packet identifier', () => {
    fc.assert(
      fc.property(message, fc.constantFrom(0 as const, 1 as const), fc.integer({ min: 1, max: 65_535 }), (m, qos, id) => {
        const topicBytes = Buffer.byteLength(m.topic);
        const payloadBytes = typeof m.payload === 'string' ? Buffer.byteLength(m.payload) : m.payload.length;
        const length = frameLength(topicBytes, payloadBytes, qos)!;
        const frame = Buffer.alloc(1 + length + 3, 0xee);
        expect(writePublishFrame(frame, 1, m, topicBytes, payloadBytes, qos, id)).toBe(1 + length);
        const [packet] = parseAll(frame.subarray(1, 1 + length)) as [IPublishPacket];
        expect(packet).toMatchObject({ cmd: 'publish', topic: m.topic, qos, retain: m.retain, dup: false });
        expect(Buffer.from(packet.payload)).toEqual(Buffer.from(m.payload));
        expect(packet.messageId).toBe(qos === 1 ? id : undefined);
        expect(frame[0]).toBe(0xee);
        expect(frame.subarray(1 + length)).toEqual(Buffer.alloc(3, 0xee));
      }),
      { numRuns: 200 },
    );
  });

  it('refuses what MQTT cannot carry: a topic over 65,535 bytes', () => {
    expect(frameLength(65_535, 10, 1)).toBe(1 + 3 + 2 + 65_535 + 2 + 10);
    expect(frameLength(65_536, 10, 1)).toBeUndefined();
  });
});

/**
 * A real mqtt.js client on an in-memory connection, with the test as its broker: what the client writes is read back
 * with mqtt-packet, and the test writes the broker's frames (CONNACK, PUBACKs, a PUBLISH) in whatever chunks it likes.
 */
async function clientOnMemory(): Promise<{ client: MqttClient; publisher: FramePublisher; written: () => IPublishPacket[]; send: (...frames: Buffer[]) => void }> {
  const chunks: Buffer[] = [];
  const connection = new Duplex({
    read: () => {},
    write: (chunk: Buffer, _encoding, done) => {
      chunks.push(chunk);
      done();
    },
  });
  const client = new MqttClient(() => connection, { protocolVersion: 4, keepalive: 0, reconnectPeriod: 0, messageIdProvider: mqttJsMessageIds() });
  // As the upstream link does: before anything arrives.
  const publisher = new FramePublisher(client);
  const connected = new Promise((resolve) => client.once('connect', resolve));
  connection.push(mqttPacket.generate({ cmd: 'connack', returnCode: 0, sessionPresent: false }));
  await connected;
  chunks.splice(0); // the CONNECT
  return {
    client,
    publisher,
    written: () => parseAll(Buffer.concat(chunks.splice(0))) as IPublishPacket[],
    send: (...frames) => connection.push(Buffer.concat(frames)),
  };
}

const puback = (id: number): Buffer => mqttPacket.generate({ cmd: 'puback', messageId: id });
const nextTurn = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));

const messages = (count: number): FrameMessage[] => Array.from({ length: count }, (_, i) => ({ topic: `t/${i}`, payload: `{"seq":${i}}`, retain: false }));

describe('FramePublisher', () => {
  it('calls back each message on its own PUBACK, in whatever order they come, and ignores a PUBACK that is not its', async () => {
    const { client, publisher, written, send } = await clientOnMemory();
    const acknowledged: number[] = [];
    const batch = messages(5);
    publisher.publish(batch, 0, 5, 1, () => acknowledged.push(acknowledged.length));
    await nextTurn();
    const sent = written();
    expect(sent.map((packet) => packet.payload.toString())).toEqual(batch.map((m) => m.payload));
    const ids = sent.map((packet) => packet.messageId!);
    expect(new Set(ids).size).toBe(5);
    // mqtt.js's own identifiers (its SUBSCRIBE) are never the frames'.
    const mqttJs = mqttJsMessageIds();
    const mqttJsIds = Array.from({ length: 40 }, () => mqttJs.allocate()!);
    expect(ids.some((id) => mqttJsIds.includes(id))).toBe(false);

    const two = new Promise<void>((resolve) => publisher.publish(messages(1), 0, 1, 1, () => resolve()));
    await nextTurn();
    const [probe] = written().map((packet) => packet.messageId!);
    send(puback(mqttJsIds[0]!), puback(ids[3]!), puback(ids[3]!), puback(ids[0]!), puback(probe!));
    await two;
    expect(acknowledged).toHaveLength(2);
    // One PUBACK cut between two chunks, one in a chunk of its own.
    const [cut, whole] = [Buffer.concat([puback(ids[4]!), puback(ids[1]!)]), puback(ids[2]!)];
    send(cut.subarray(0, 5));
    send(cut.subarray(5), whole);
    await vi.waitFor(() => expect(acknowledged).toHaveLength(5));
    client.end(true);
  });

  it('leaves mqtt.js its own PUBACKs and the messages that come down, between the frames\' PUBACKs', async () => {
    const { client, publisher, written, send } = await clientOnMemory();
    const framesDone = new Promise<void>((resolve) => publisher.publish(messages(2), 0, 2, 1, () => resolve()));
    const ownDone = new Promise<void>((resolve, reject) => client.publish('own/topic', 'x', { qos: 1 }, (error) => (error ? reject(error) : resolve())));
    const message = new Promise<[string, string]>((resolve) => client.once('message', (topic, payload) => resolve([topic, payload.toString()])));
    await nextTurn();
    const sent = written();
    const frameIds = sent.filter((packet) => packet.topic !== 'own/topic').map((packet) => packet.messageId!);
    const ownId = sent.find((packet) => packet.topic === 'own/topic')!.messageId!;
    const down = mqttPacket.generate({ cmd: 'publish', topic: 'commands/x', payload: Buffer.from('go'), qos: 0, retain: false, dup: false });
    const stream = Buffer.concat([puback(frameIds[0]!), down, puback(ownId), puback(frameIds[1]!)]);
    // Cut inside the PUBLISH that comes down, and inside mqtt.js's PUBACK.
    send(stream.subarray(0, 7));
    send(stream.subarray(7, 4 + down.length + 2));
    send(stream.subarray(4 + down.length + 2));
    await Promise.all([framesDone, ownDone]);
    expect(await message).toEqual(['commands/x', 'go']);
    client.end(true);
  });

  it('never gives an identifier still awaiting its PUBACK to another frame, all the way round the range', async () => {
    const { client, publisher, written, send } = await clientOnMemory();
    let acknowledged = 0;
    // One frame that stays unacknowledged while the identifiers go round more than once.
    publisher.publish(messages(1), 0, 1, 1, () => acknowledged++);
    await nextTurn();
    const [stuck] = written().map((packet) => packet.messageId!);
    const rounds = MAX_FRAMES_IN_FLIGHT + 100;
    const batch = messages(1000);
    for (let sent = 0; sent < rounds; sent += 1000) {
      const all = new Promise<void>((resolve) => {
        let count = 0;
        publisher.publish(batch, 0, 1000, 1, () => ++count === 1000 && resolve());
      });
      await nextTurn();
      const ids = written().map((packet) => packet.messageId!);
      expect(ids).not.toContain(stuck);
      send(...ids.map(puback));
      await all;
      acknowledged += 1000;
    }
    const last = new Promise<void>((resolve) => publisher.publish(messages(1), 0, 1, 1, () => resolve()));
    await nextTurn();
    send(puback(stuck!), ...written().map((packet) => puback(packet.messageId!)));
    await last;
    expect(acknowledged).toBe(1 + Math.ceil(rounds / 1000) * 1000);
    client.end(true);
  });

  it('at QoS 0 calls back once the stream has taken the frames', async () => {
    const { client, publisher, written } = await clientOnMemory();
    const done = new Promise<number>((resolve) => {
      let count = 0;
      publisher.publish(messages(3), 0, 3, 0, () => ++count === 3 && resolve(count));
    });
    expect(await done).toBe(3);
    expect(written().map((packet) => [packet.qos, packet.messageId])).toEqual([[0, undefined], [0, undefined], [0, undefined]]);
    client.end(true);
  });
});
