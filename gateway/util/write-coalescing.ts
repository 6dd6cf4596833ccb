import type { Writable } from 'node:stream';

/**
 * The least room a turn's staging buffer is made with. A connection holds one only while it has bytes staged (an idle
 * device's connection holds none), sized by what its last turn wrote.
 */
const MIN_BYTES = 2048;

type WriteCallback = (error?: Error | null) => void;

/**
 * Staging buffers the stream has finished writing, kept for the next turn of any connection: a busy connection made
 * one of tens of kilobytes per turn, each its own ArrayBuffer for the garbage collector to sweep (smaller ones are
 * slices of Node's shared pool, and are not kept). Bounded in count and size.
 */
const spares: Buffer[] = [];
const MAX_SPARES = 8;
const MAX_SPARE_BYTES = 256 * 1024;
const POOLED_BELOW = Buffer.poolSize >>> 1;

function takeBuffer(bytes: number): Buffer {
  if (bytes >= POOLED_BELOW) {
    for (let i = spares.length - 1; i >= 0; i--) {
      const spare = spares[i]!;
      if (spare.length < bytes) continue;
      spares[i] = spares[spares.length - 1]!;
      spares.pop();
      return spare;
    }
  }
  return Buffer.allocUnsafe(bytes);
}

function giveBack(buffer: Buffer): void {
  const ownsItsMemory = buffer.byteOffset === 0 && buffer.buffer.byteLength === buffer.length;
  if (ownsItsMemory && buffer.length >= POOLED_BELOW && buffer.length <= MAX_SPARE_BYTES && spares.length < MAX_SPARES) spares.push(buffer);
}

/** Writes into the turn's staging buffer directly. */
export interface InPlaceWriter {
  /**
   * Stages `bytes` bytes that `fill` writes at `offset` of `target` (synchronously, exactly that many), as if written
   * as one chunk: no chunk is made for them. Returns what write() would.
   */
  writeInPlace(bytes: number, fill: (target: Buffer, offset: number) => void): boolean;
  /** Writes what is staged now rather than at the end of the turn: for a message that must not wait (an alert). */
  writeStagedNow(): void;
}

/**
 * Makes whatever is written to `stream` within one turn of the event loop go out as one buffer in one system call.
 * mqtt-packet writes a packet as four or five small chunks (header, length, topic, id, payload), so a burst of
 * messages — deliveries to a subscriber, PUBACKs to a publisher, publishes to the upstream broker — would otherwise
 * cost a `writev` per packet, or one over thousands of tiny pieces each passed through the stream machinery and
 * copied by the kernel on its own (the largest entry in a profile under load). Staged here, the chunks are copied
 * once into one buffer and written at the end of the turn: a delay of one turn, well under a millisecond idle.
 *
 * The stream's contract holds: write() answers false once the staged and the buffered bytes reach its high-water
 * mark, and a writer told so gets its 'drain'; write callbacks run once their bytes are written; end() sends what
 * is staged first.
 */
export function coalesceWrites(stream: Writable): InPlaceWriter {
  const write = stream.write.bind(stream) as (chunk: Buffer, callback?: WriteCallback) => boolean;
  const end = stream.end.bind(stream) as (...args: unknown[]) => Writable;
  let staged: Buffer | undefined;
  let lastTurnBytes = MIN_BYTES;
  let used = 0;
  let callbacks: WriteCallback[] = [];
  let scheduled = false;
  let owesDrain = false;

  const room = (bytes: number): Buffer => {
    if (!staged) return (staged = takeBuffer(Math.max(lastTurnBytes, bytes)));
    if (used + bytes <= staged.length) return staged;
    const bigger = takeBuffer(Math.max(staged.length * 2, used + bytes));
    staged.copy(bigger, 0, 0, used);
    giveBack(staged);
    return (staged = bigger);
  };

  const flush = (): void => {
    scheduled = false;
    if (used === 0 && callbacks.length === 0) return;
    // The stream keeps the bytes until the kernel took them: the next turn stages into a buffer of its own.
    const buffer = staged;
    const data = buffer?.subarray(0, used) ?? Buffer.alloc(0);
    const waiting = callbacks;
    staged = undefined;
    lastTurnBytes = Math.max(MIN_BYTES, used);
    used = 0;
    callbacks = [];
    const more = write(data, (error) => {
      // Written (or failed): the stream holds the bytes no longer.
      if (buffer) giveBack(buffer);
      for (const callback of waiting) callback(error);
    });
    // Told "false" by us but not by the stream, a writer would wait for a 'drain' that never comes.
    if (owesDrain && more) {
      owesDrain = false;
      stream.emit('drain');
    } else if (!more) owesDrain = false;
  };

  stream.write = ((chunk: unknown, encoding?: BufferEncoding | WriteCallback, callback?: WriteCallback): boolean => {
    if (typeof encoding === 'function') [callback, encoding] = [encoding, undefined];
    // Errors after end or destroy are the stream's to report, as without staging.
    if (stream.destroyed || stream.writableEnded) return write(chunk as Buffer, callback);
    if (typeof chunk === 'string') {
      // At most 3 bytes per UTF-16 unit in any encoding a socket takes.
      used += room(chunk.length * 3).write(chunk, used, encoding ?? 'utf8');
    } else {
      const bytes = chunk as Uint8Array;
      room(bytes.length).set(bytes, used);
      used += bytes.length;
    }
    if (callback) callbacks.push(callback);
    return afterStaging();
  }) as Writable['write'];

  /** After staging: the flush at the end of the turn, and what write() answers. */
  const afterStaging = (): boolean => {
    if (!scheduled) {
      scheduled = true;
      setImmediate(flush);
    }
    if (used + stream.writableLength < stream.writableHighWaterMark) return true;
    owesDrain = true;
    return false;
  };

  // mqtt-packet corks a stream for each packet it writes and uncorks it with a process.nextTick of its own (5% of the
  // CPU under load); staged writes gain nothing from corking, and a stream without a cork method is written uncorked.
  (stream as { cork?: Writable['cork'] }).cork = undefined;

  stream.end = ((...args: unknown[]): Writable => {
    flush();
    return end(...args);
  }) as Writable['end'];

  return {
    writeInPlace: (bytes, fill) => {
      if (stream.destroyed || stream.writableEnded) {
        const chunk = Buffer.allocUnsafe(bytes);
        fill(chunk, 0);
        return write(chunk);
      }
      fill(room(bytes), used);
      used += bytes;
      return afterStaging();
    },
    // The flush still scheduled finds nothing staged, or what was staged after this, and writes it then.
    writeStagedNow: () => {
      if (!stream.destroyed && !stream.writableEnded) flush();
    },
  };
}
