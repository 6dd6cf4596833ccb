/**
 * The broker's own reading of PUBLISH and PUBACK frames (parsePublishesDirectly) against mqtt-packet's parser, which
 * it stands in front of: any stream of packets, valid or not, cut into chunks anywhere, gives aedes the same packets,
 * of the same class, in the same order, and the same errors.
 */
import type { Client } from 'aedes';
import fc from 'fast-check';
import mqttPacket, { type Packet } from 'mqtt-packet';
import { Readable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { parsePublishesDirectly, readAtMostPerTurn } from '../../gateway/broker/aedes-patches.js';

interface Outcome {
  readonly packets: Packet[];
  readonly errors: string[];
}

/** Feeds the chunks to a parser (the broker's, or mqtt-packet's alone) and records what it emits. */
function parseChunks(chunks: readonly Buffer[], direct: { maxBytes: number } | undefined): Outcome {
  const parser = mqttPacket.parser();
  if (direct) parsePublishesDirectly({ _parser: parser } as unknown as Client, direct.maxBytes);
  const outcome: Outcome = { packets: [], errors: [] };
  parser.on('packet', (packet: Packet) => outcome.packets.push(packet));
  parser.on('error', (error: Error) => outcome.errors.push(error.message));
  for (const chunk of chunks) parser.parse(chunk);
  return outcome;
}

/**
 * The broker's reading as aedes drives it: from a stream, everything it may read once no packet is being handled
 * (here each is handled at once) and on 'readable', at most `bytesPerTurn` a turn (readAtMostPerTurn). The chunks
 * arrive one a turn.
 */
async function readFromStream(chunks: readonly Buffer[], bytesPerTurn: number): Promise<Outcome> {
  const parser = mqttPacket.parser();
  const outcome: Outcome = { packets: [], errors: [] };
  const conn = new Readable({ read: () => undefined });
  const client = { _parser: parser, _parsingBatch: 0, conn, _nextBatch: (): void => undefined };
  client._nextBatch = () => {
    client._parsingBatch = Math.max(0, client._parsingBatch - 1);
    if (client._parsingBatch > 0) return;
    const buffered = conn.read() as Buffer | null;
    if (buffered) parser.parse(buffered);
  };
  parser.on('error', (error: Error) => outcome.errors.push(error.message));
  parser.on('packet', (packet: Packet) => {
    outcome.packets.push(packet);
    client._parsingBatch++;
    client._nextBatch();
  });
  conn.on('readable', client._nextBatch);
  parsePublishesDirectly(client as unknown as Client, 1 << 20);
  readAtMostPerTurn(client as unknown as Client, bytesPerTurn);
  const turn = () => new Promise((resolve) => setImmediate(resolve));
  for (const chunk of chunks) {
    conn.push(chunk);
    await turn();
  }
  conn.push(null);
  // The stream says it ended only once everything in it was read.
  while (!conn.readableEnded) await turn();
  return outcome;
}

const topic = fc.string({ unit: 'grapheme', minLength: 1, maxLength: 20 });
const payload = fc.oneof(
  fc.string({ maxLength: 40 }).map((text) => Buffer.from(text)),
  fc.integer({ min: 100, max: 300 }).map((length) => Buffer.alloc(length, 0x61)),
);
const messageId = fc.integer({ min: 1, max: 65_535 });
const publish = fc.record({ topic, payload, qos: fc.constantFrom(0, 1, 2), retain: fc.boolean(), dup: fc.boolean(), messageId }).map(({ qos, ...rest }) => mqttPacket.generate({ cmd: 'publish', qos: qos as 0 | 1 | 2, ...rest }));
const otherPacket = fc.oneof(
  messageId.map((id) => mqttPacket.generate({ cmd: 'puback', messageId: id })),
  messageId.map((id) => mqttPacket.generate({ cmd: 'pubrel', messageId: id })),
  fc.constant(mqttPacket.generate({ cmd: 'pingreq' })),
  fc.record({ topic, messageId }).map(({ topic: filter, messageId: id }) => mqttPacket.generate({ cmd: 'subscribe', messageId: id, subscriptions: [{ topic: filter, qos: 1 }] })),
  fc.constant(mqttPacket.generate({ cmd: 'connect', protocolId: 'MQTT', protocolVersion: 4, clientId: 'c', clean: true, keepalive: 30 })),
);
/** Frames mqtt-packet takes, refuses, or reads its own way: bad flags, QoS 3, short or overlong lengths, a PUBACK with extra bytes. */
const oddFrame = fc.oneof(
  fc.uint8Array({ minLength: 1, maxLength: 12 }).map((bytes) => Buffer.from(bytes)),
  fc.constantFrom(
    Buffer.from([0x36, 0x05, 0x00, 0x01, 0x61, 0x00, 0x01]), // QoS 3
    Buffer.from([0x30, 0x01, 0x00]), // too short for its topic length
    Buffer.from([0x32, 0x04, 0x00, 0x02, 0x61, 0x62]), // no room for the packet identifier
    Buffer.from([0x30, 0xff, 0xff, 0xff, 0xff, 0x01]), // a remaining length of five bytes
    Buffer.from([0x40, 0x03, 0x00, 0x07, 0x00]), // PUBACK with a byte over
    Buffer.from([0x41, 0x02, 0x00, 0x07]), // PUBACK with a reserved flag set
  ),
);

/** The stream cut at arbitrary points, so frames straddle chunks. */
function chunked(frames: fc.Arbitrary<Buffer[]>): fc.Arbitrary<Buffer[]> {
  return frames.chain((parts) => {
    const bytes = Buffer.concat(parts);
    return fc.uniqueArray(fc.integer({ min: 1, max: Math.max(1, bytes.length - 1) }), { maxLength: 20 }).map((cuts) => {
      const points = [0, ...cuts.filter((cut) => cut < bytes.length).sort((a, b) => a - b), bytes.length];
      return points.slice(1).map((end, i) => bytes.subarray(points[i], end));
    });
  });
}

describe('the broker reading PUBLISH and PUBACK frames itself', () => {
  it('gives the same packets as mqtt-packet for valid streams cut anywhere', () => {
    const stream = chunked(fc.array(fc.oneof({ weight: 4, arbitrary: publish }, { weight: 1, arbitrary: otherPacket }), { minLength: 1, maxLength: 30 }));
    fc.assert(
      fc.property(stream, (chunks) => {
        const direct = parseChunks(chunks, { maxBytes: 1 << 20 });
        expect(direct).toStrictEqual(parseChunks(chunks, undefined));
        expect(direct.errors).toEqual([]);
      }),
      { numRuns: 300 },
    );
  });

  it('gives the same packets and errors as mqtt-packet when frames are malformed', () => {
    const stream = chunked(fc.array(fc.oneof(publish, otherPacket, oddFrame), { minLength: 1, maxLength: 20 }));
    fc.assert(
      fc.property(stream, (chunks) => {
        expect(parseChunks(chunks, { maxBytes: 1 << 20 })).toStrictEqual(parseChunks(chunks, undefined));
      }),
      { numRuns: 500 },
    );
  });

  // Valid streams only: on some malformed frames mqtt-packet itself answers by how the bytes were cut (a QoS 1 PUBLISH
  // with no room for its identifier takes the next frame's first bytes as one, when they are in the same chunk).
  it('reads the same packets when it reads a few bytes of the stream per turn', async () => {
    const stream = chunked(fc.array(fc.oneof({ weight: 4, arbitrary: publish }, { weight: 1, arbitrary: otherPacket }), { minLength: 1, maxLength: 20 }));
    await fc.assert(
      fc.asyncProperty(stream, fc.oneof(fc.integer({ min: 1, max: 64 }), fc.constant(8192)), async (chunks, bytesPerTurn) => {
        const read = await readFromStream(chunks, bytesPerTurn);
        expect(read).toStrictEqual(parseChunks(chunks, undefined));
        expect(read.errors).toEqual([]);
      }),
      { numRuns: 300 },
    );
  });

  it('leaves a frame over the size limit to the general parser, where capPacketSize stops it', () => {
    const small = mqttPacket.generate({ cmd: 'publish', topic: 't', payload: Buffer.alloc(10), qos: 0, retain: false, dup: false });
    const large = mqttPacket.generate({ cmd: 'publish', topic: 't', payload: Buffer.alloc(200), qos: 1, messageId: 9, retain: false, dup: false });
    // mqtt-packet's internals, as capPacketSize reaches them.
    const parser = mqttPacket.parser() as ReturnType<typeof mqttPacket.parser> & { _parseLength(): boolean; packet: { length: number } };
    parsePublishesDirectly({ _parser: parser } as unknown as Client, 100);
    const lengthsSeen: number[] = [];
    const parseLength = parser._parseLength.bind(parser);
    parser._parseLength = () => {
      const complete = parseLength();
      if (complete) lengthsSeen.push(parser.packet.length);
      return complete;
    };
    const packets: Packet[] = [];
    parser.on('packet', (packet: Packet) => packets.push(packet));
    parser.parse(Buffer.concat([small, large, small]));
    expect(packets.map((packet) => packet.length)).toEqual([small.length - 2, large.length - 3, small.length - 2]);
    // Only the large frame and what follows it went through mqtt-packet's length check.
    expect(lengthsSeen).toEqual([large.length - 3, small.length - 2]);
  });
});
