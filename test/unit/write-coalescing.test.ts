import { once } from 'node:events';
import { createServer, connect, type Server, type Socket } from 'node:net';
import { Writable } from 'node:stream';
import mqttPacket from 'mqtt-packet';
import { afterEach, describe, expect, it } from 'vitest';
import { coalesceWrites } from '../../gateway/util/write-coalescing.js';

/** A loopback connection: the writing end, and everything the other end received once the writer ended. */
async function socketPair(): Promise<{ writer: Socket; received: Promise<Buffer>; server: Server }> {
  const server = createServer();
  server.on('error', () => undefined);
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const address = server.address();
  if (!address || typeof address === 'string') throw new Error('no port');
  const accepted = once(server, 'connection') as Promise<[Socket]>;
  const writer = connect(address.port, '127.0.0.1');
  writer.on('error', () => undefined);
  await once(writer, 'connect');
  const [reader] = await accepted;
  const chunks: Buffer[] = [];
  reader.on('data', (chunk: Buffer) => chunks.push(chunk));
  const received = once(reader, 'end').then(() => Buffer.concat(chunks));
  return { writer, received, server };
}

/** Counts the writes the socket makes to the kernel (one per _write or _writev). */
function countSocketWrites(socket: Socket): () => number {
  const writev = (socket as unknown as { _writev: (...args: unknown[]) => void })._writev.bind(socket);
  const writeOne = (socket as unknown as { _write: (...args: unknown[]) => void })._write.bind(socket);
  let writes = 0;
  Object.assign(socket, {
    _writev: (...args: unknown[]) => (writes++, writev(...args)),
    _write: (...args: unknown[]) => (writes++, writeOne(...args)),
  });
  return () => writes;
}

describe('coalesceWrites', () => {
  const servers: Server[] = [];
  afterEach(() => servers.splice(0).forEach((server) => server.close()));

  it('sends the chunks of one turn, strings and buffers, in order and whole, in one socket write', async () => {
    const { writer, received, server } = await socketPair();
    servers.push(server);
    const socketWrites = countSocketWrites(writer);
    coalesceWrites(writer);
    const expected: Buffer[] = [];
    for (let i = 0; i < 5000; i++) {
      const text = `topic/${i}/ü`;
      writer.write(text);
      expected.push(Buffer.from(text));
      const bytes = Buffer.from([i & 0xff, 0x00, 0xff]);
      writer.write(bytes);
      expected.push(bytes);
    }
    writer.write('latin1 é', 'latin1');
    expected.push(Buffer.from('latin1 é', 'latin1'));
    writer.end();
    expect((await received).equals(Buffer.concat(expected))).toBe(true);
    expect(socketWrites()).toBe(1);
  });

  it('carries packets mqtt-packet writes (which corks a stream that can be corked) byte for byte', async () => {
    const { writer, received, server } = await socketPair();
    servers.push(server);
    coalesceWrites(writer);
    const expected: Buffer[] = [];
    for (let i = 1; i <= 1000; i++) {
      const packet = { cmd: 'publish', topic: `city/d7/water/pump-${i % 7}/flow`, payload: `{"value":${i}}`, qos: 1, messageId: i, retain: false, dup: false } as const;
      mqttPacket.writeToStream(packet, writer);
      expected.push(mqttPacket.generate(packet));
    }
    writer.end();
    expect((await received).equals(Buffer.concat(expected))).toBe(true);
  });

  it('stages bytes written in place in order with the chunks around them, in the same one socket write', async () => {
    const { writer, received, server } = await socketPair();
    servers.push(server);
    const socketWrites = countSocketWrites(writer);
    const inPlace = coalesceWrites(writer);
    const expected: Buffer[] = [];
    for (let i = 0; i < 3000; i++) {
      // Sizes across the staging buffer's growth (it starts at 2 KB and doubles).
      const bytes = Buffer.alloc(1 + ((i * 37) % 700), i & 0xff);
      inPlace.writeInPlace(bytes.length, (target, offset) => void bytes.copy(target, offset));
      expected.push(bytes);
      writer.write(`,${i};`);
      expected.push(Buffer.from(`,${i};`));
    }
    writer.end();
    expect((await received).equals(Buffer.concat(expected))).toBe(true);
    expect(socketWrites()).toBe(1);
  });

  it('answers false past the high-water mark for bytes written in place too, and gives the writer its drain', async () => {
    const { writer, received, server } = await socketPair();
    servers.push(server);
    const inPlace = coalesceWrites(writer);
    const quarter = writer.writableHighWaterMark / 4;
    let answers = 0;
    while (inPlace.writeInPlace(quarter, (target, offset) => void target.fill(3, offset, offset + quarter))) answers++;
    expect(answers).toBeLessThan(4);
    await once(writer, 'drain');
    writer.end();
    const bytes = await received;
    expect(bytes.length).toBe(quarter * (answers + 1));
    expect(bytes.every((byte) => byte === 3)).toBe(true);
  });

  it('calls write callbacks once the bytes are written, and end() sends what is staged first', async () => {
    const { writer, received, server } = await socketPair();
    servers.push(server);
    coalesceWrites(writer);
    const written: string[] = [];
    writer.write('one,', () => written.push('one'));
    writer.write(Buffer.from('two,'), (error) => written.push(error ? 'failed' : 'two'));
    await new Promise((resolve) => setImmediate(resolve));
    writer.write('', () => written.push('empty'));
    writer.end('three');
    expect((await received).toString()).toBe('one,two,three');
    expect(written).toEqual(['one', 'two', 'empty']);
  });

  it('answers false past the high-water mark and gives the writer its drain', async () => {
    const { writer, received, server } = await socketPair();
    servers.push(server);
    coalesceWrites(writer);
    const chunk = Buffer.alloc(writer.writableHighWaterMark / 4, 7);
    let answers = 0;
    while (writer.write(chunk)) answers++;
    expect(answers).toBeLessThan(4);
    await once(writer, 'drain');
    writer.end();
    expect((await received).length).toBe(chunk.length * (answers + 1));
  });
  it('reuses a staging buffer only once the stream has written it', async () => {
    // Streams that hold each chunk until the test says it is written, as a slow socket does.
    const held: { chunk: Buffer; done: () => void }[] = [];
    const slowStream = (): Writable => new Writable({ highWaterMark: 1 << 20, write: (chunk: Buffer, _encoding, done) => void held.push({ chunk, done }) });
    const [first, second] = [slowStream(), slowStream()];
    coalesceWrites(first);
    coalesceWrites(second);
    const turn = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));
    first.write(Buffer.alloc(20_000, 0x61));
    await turn();
    second.write(Buffer.alloc(20_000, 0x62));
    await turn();
    const [ofFirst, ofSecond] = held.splice(0);
    // The first chunk is still the stream's: nothing else was staged over it.
    expect(ofFirst!.chunk.equals(Buffer.alloc(20_000, 0x61))).toBe(true);
    expect(ofSecond!.chunk.buffer).not.toBe(ofFirst!.chunk.buffer);
    ofFirst!.done();
    first.write(Buffer.alloc(20_000, 0x63));
    await turn();
    // Written, its buffer serves the next turn.
    expect(held[0]!.chunk.buffer).toBe(ofFirst!.chunk.buffer);
    expect(ofSecond!.chunk.equals(Buffer.alloc(20_000, 0x62))).toBe(true);
  });
});
