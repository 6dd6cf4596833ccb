/**
 * The bridge's own PUBLISH frames, read back by mqtt-packet (the parser of aedes and mqtt.js), and the matching of
 * their PUBACKs by packet identifier, also out of order.
 */
import { EventEmitter } from 'node:events';
import { PassThrough } from 'node:stream';
import fc from 'fast-check';
import type { MqttClient } from 'mqtt';
import mqttPacket, { type IPublishPacket, type Packet } from 'mqtt-packet';
import { describe, expect, it } from 'vitest';
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

/** An mqtt.js client as the publisher sees it: a stream to write to, and the packets it receives. */
function fakeClient(): { client: MqttClient; written: () => IPublishPacket[]; puback: (id: number) => void } {
  const emitter = new EventEmitter();
  const stream = new PassThrough();
  const chunks: Buffer[] = [];
  stream.on('data', (chunk: Buffer) => chunks.push(chunk));
  const client = Object.assign(emitter, { stream }) as unknown as MqttClient;
  return {
    client,
    written: () => parseAll(Buffer.concat(chunks.splice(0))) as IPublishPacket[],
    puback: (id) => emitter.emit('packetreceive', { cmd: 'puback', messageId: id }),
  };
}

const messages = (count: number): FrameMessage[] => Array.from({ length: count }, (_, i) => ({ topic: `t/${i}`, payload: `{"seq":${i}}`, retain: false }));

describe('FramePublisher', () => {
  it('calls back each message on its own PUBACK, in whatever order they come, and ignores a PUBACK that is not its', async () => {
    const { client, written, puback } = fakeClient();
    const publisher = new FramePublisher(client);
    const acknowledged: number[] = [];
    const batch = messages(5);
    publisher.publish(batch, 0, 5, 1, () => acknowledged.push(acknowledged.length));
    await new Promise((resolve) => setImmediate(resolve));
    const sent = written();
    expect(sent.map((packet) => packet.payload.toString())).toEqual(batch.map((m) => m.payload));
    const ids = sent.map((packet) => packet.messageId!);
    expect(new Set(ids).size).toBe(5);
    // mqtt.js's own identifiers (its SUBSCRIBE) are never the frames'.
    const mqttJs = mqttJsMessageIds();
    const mqttJsIds = Array.from({ length: 40 }, () => mqttJs.allocate()!);
    expect(ids.some((id) => mqttJsIds.includes(id))).toBe(false);

    puback(mqttJsIds[0]!);
    puback(ids[3]!);
    puback(ids[3]!);
    puback(ids[0]!);
    expect(acknowledged).toHaveLength(2);
    for (const id of [ids[4]!, ids[1]!, ids[2]!]) puback(id);
    expect(acknowledged).toHaveLength(5);
  });

  it('never gives an identifier still awaiting its PUBACK to another frame, all the way round the range', async () => {
    const { client, written, puback } = fakeClient();
    const publisher = new FramePublisher(client);
    let acknowledged = 0;
    // One frame that stays unacknowledged while the identifiers go round more than once.
    publisher.publish(messages(1), 0, 1, 1, () => acknowledged++);
    await new Promise((resolve) => setImmediate(resolve));
    const [stuck] = written().map((packet) => packet.messageId!);
    const rounds = MAX_FRAMES_IN_FLIGHT + 100;
    const batch = messages(1000);
    for (let sent = 0; sent < rounds; sent += 1000) {
      publisher.publish(batch, 0, 1000, 1, () => acknowledged++);
      await new Promise((resolve) => setImmediate(resolve));
      const ids = written().map((packet) => packet.messageId!);
      expect(ids).not.toContain(stuck);
      for (const id of ids) puback(id);
    }
    puback(stuck!);
    expect(acknowledged).toBe(1 + Math.ceil(rounds / 1000) * 1000);
  });

  it('at QoS 0 calls back once the stream has taken the frames', async () => {
    const { client, written } = fakeClient();
    const publisher = new FramePublisher(client);
    const done = new Promise<number>((resolve) => {
      let count = 0;
      publisher.publish(messages(3), 0, 3, 0, () => ++count === 3 && resolve(count));
    });
    expect(await done).toBe(3);
    expect(written().map((packet) => [packet.qos, packet.messageId])).toEqual([[0, undefined], [0, undefined], [0, undefined]]);
  });
});
