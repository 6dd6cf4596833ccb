/**
 * MQTT 3.1 / 3.1.1 PUBLISH frames encoded in place: into a buffer the caller holds, with no packet object and no chunk
 * per field (mqtt-packet writes five pieces per packet and allocates a Buffer for each number). Used where messages go
 * out by the ten thousand a second: the bridge's publishes upstream and the broker's QoS 0 deliveries.
 */

/** [MQTT-2.2.3] a remaining length is at most four bytes of seven bits. */
const MAX_REMAINING_LENGTH = 268_435_455;
/** [MQTT-1.5.3] a topic is a string of at most 65,535 bytes. */
const MAX_TOPIC_BYTES = 0xffff;
export const PUBLISH = 0x30;

export interface FrameMessage {
  readonly topic: string;
  readonly payload: string | Buffer;
  readonly retain: boolean;
}

function remainingLengthBytes(length: number): number {
  return length < 0x80 ? 1 : length < 0x4000 ? 2 : length < 0x200000 ? 3 : 4;
}

/**
 * Writes one PUBLISH frame at `offset` of `target` (which has room for it: `frameLength`); returns the offset after it.
 * `id` is ignored at QoS 0 (a QoS 0 PUBLISH has none).
 */
export function writePublishFrame(target: Buffer, offset: number, message: FrameMessage, topicBytes: number, payloadBytes: number, qos: 0 | 1, id: number): number {
  let remaining = 2 + topicBytes + (qos === 1 ? 2 : 0) + payloadBytes;
  target[offset++] = PUBLISH | (qos << 1) | (message.retain ? 1 : 0);
  do {
    const digit = remaining & 0x7f;
    remaining >>>= 7;
    target[offset++] = remaining > 0 ? digit | 0x80 : digit;
  } while (remaining > 0);
  target.writeUInt16BE(topicBytes, offset);
  offset += 2 + target.write(message.topic, offset + 2, 'utf8');
  if (qos === 1) offset = target.writeUInt16BE(id, offset);
  if (typeof message.payload === 'string') return offset + target.write(message.payload, offset, 'utf8');
  return offset + message.payload.copy(target, offset);
}

/** Whether MQTT can carry `topic` (counted in bytes only when its characters might exceed the limit). */
export function isTopicCarried(topic: string): boolean {
  return topic.length <= MAX_TOPIC_BYTES / 3 || Buffer.byteLength(topic) <= MAX_TOPIC_BYTES;
}

/** The bytes of a PUBLISH frame with this topic and payload, or undefined when MQTT cannot carry it. */
export function frameLength(topicBytes: number, payloadBytes: number, qos: 0 | 1): number | undefined {
  const remaining = 2 + topicBytes + (qos === 1 ? 2 : 0) + payloadBytes;
  if (topicBytes > MAX_TOPIC_BYTES || remaining > MAX_REMAINING_LENGTH) return undefined;
  return 1 + remainingLengthBytes(remaining) + remaining;
}


export const PUBACK = 0x40;
/** [MQTT-2.2.3] the remaining length takes at most four bytes. */
const MAX_REMAINING_LENGTH_BYTES = 4;

/**
 * Takes the whole frame `source[start … end)`, whose body starts at `body`; returns false to leave it, and all that
 * follows it in the chunk, to the caller.
 */
export type FrameTaker = (source: Buffer, start: number, body: number, end: number) => boolean;

/**
 * Cuts a byte stream into whole MQTT frames, for readers of the few frames that come by the ten thousand a second,
 * without a general parser's buffer list. A frame cut off at the end of a chunk is kept and completed with the next;
 * from a frame too long, malformed or left by the taker on, the chunk's rest is returned, for a general parser.
 */
export class WholeFrames {
  private cutOff: Buffer | undefined;
  private remaining = 0;
  private body = 0;

  constructor(
    /** Frames longer than this are returned with the rest. */
    private readonly maxRemaining = MAX_REMAINING_LENGTH,
    /** Whether a frame starting with this byte may be taken (only those are kept across chunks). */
    private readonly mayTake: (first: number) => boolean,
  ) {}

  /** Hands `take` each whole frame of `chunk`, after the frame the last chunk ended in; returns the rest, if any. */
  read(chunk: Buffer, take: FrameTaker): Buffer | undefined {
    const cutOff = this.cutOff;
    if (cutOff === undefined) return this.readFrom(chunk, take);
    this.cutOff = undefined;
    // Only that frame is joined: copying the whole chunk after it, every chunk, cost more than reading it.
    const missing = this.readHeader(cutOff, 0) === true ? this.body + this.remaining - cutOff.length : undefined;
    // Its header cut too, or the frame going on past this chunk: rare, joined whole.
    if (missing === undefined || missing > chunk.length) return this.readFrom(Buffer.concat([cutOff, chunk]), take);
    const frame = Buffer.concat([cutOff, chunk.subarray(0, missing)]);
    if (this.readFrom(frame, take) !== undefined) return Buffer.concat([frame, chunk.subarray(missing)]);
    return missing === chunk.length ? undefined : this.readFrom(chunk.subarray(missing), take);
  }

  private readFrom(source: Buffer, take: FrameTaker): Buffer | undefined {
    let start = 0;
    while (start < source.length) {
      const found = this.mayTake(source[start]!) ? this.readHeader(source, start) : undefined;
      if (found === false || (found === true && this.body + this.remaining > source.length && this.remaining <= this.maxRemaining)) {
        this.cutOff = start === 0 ? source : source.subarray(start);
        return undefined;
      }
      const end = this.body + this.remaining;
      if (found === undefined || this.remaining > this.maxRemaining || !take(source, start, this.body, end)) break;
      start = end;
    }
    if (start === source.length) return undefined;
    return start === 0 ? source : source.subarray(start);
  }

  /** Reads the fixed header at `start`: true when read, false when cut off, undefined when malformed. */
  private readHeader(source: Buffer, start: number): boolean | undefined {
    let remaining = 0;
    let offset = start + 1;
    for (let multiplier = 1, digits = 0; ; multiplier *= 0x80) {
      if (digits++ === MAX_REMAINING_LENGTH_BYTES) return undefined;
      if (offset >= source.length) return false;
      const digit = source[offset++]!;
      remaining += (digit & 0x7f) * multiplier;
      if ((digit & 0x80) === 0) break;
    }
    this.remaining = remaining;
    this.body = offset;
    return true;
  }
}

/** A packet as mqtt-packet's parser gives it (aedes reads these fields), for the frames readPublishOrPuback reads. */
export interface ParsedPacket {
  cmd: string | null;
  retain: boolean;
  qos: number;
  dup: boolean;
  length: number;
  topic: string | null;
  payload: Buffer | null;
  messageId?: number;
}

/** Whether a frame's first byte is a PUBLISH (not QoS 3, which is malformed) or a PUBACK. */
export const isPublishOrPuback = (first: number): boolean => ((first & 0xf0) === PUBLISH && (first & 0x06) !== 0x06) || first === PUBACK;

/**
 * Reads a whole PUBLISH or PUBACK frame (MQTT 3.1 / 3.1.1; see isPublishOrPuback) into `packet`, with the fields
 * mqtt-packet's parser sets; false, leaving it, when the frame is malformed. The payload is a view of `source`.
 */
export function readPublishOrPuback(source: Buffer, start: number, body: number, end: number, packet: ParsedPacket): boolean {
  const first = source[start]!;
  const remaining = end - body;
  packet.length = remaining;
  if (first === PUBACK) {
    if (remaining !== 2) return false;
    packet.cmd = 'puback';
    packet.messageId = source.readUInt16BE(body);
    return true;
  }
  if (remaining < 2) return false;
  const qos = (first >> 1) & 3;
  const topicEnd = body + 2 + source.readUInt16BE(body);
  const payloadStart = topicEnd + (qos > 0 ? 2 : 0);
  if (payloadStart > end) return false;
  packet.cmd = 'publish';
  packet.retain = (first & 1) !== 0;
  packet.qos = qos;
  packet.dup = (first & 8) !== 0;
  packet.topic = source.toString('utf8', body + 2, topicEnd);
  if (qos > 0) packet.messageId = source.readUInt16BE(topicEnd);
  packet.payload = source.subarray(payloadStart, end);
  return true;
}
