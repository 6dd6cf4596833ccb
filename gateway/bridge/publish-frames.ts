/**
 * The bridge's publishes as MQTT 3.1.1 PUBLISH frames (util/mqtt-frames.ts), written straight onto an mqtt.js
 * connection, with their PUBACKs matched by packet identifier.
 *
 * Why not `client.publish()`: per message, mqtt.js builds a packet object, deep-clones it into its outgoing store,
 * keeps a callback entry, encodes it in five small writes and calls back through `nextTick`: 14 µs of CPU per message
 * against 6.6 µs for a frame encoded here (`npm run bench -- bridge-publish`); the bridge was a fifth of the
 * gateway's CPU per reading under load. The bridge needs none of that store: its durable queue resends what was not
 * acknowledged, on a fresh client (see `Upstream`). mqtt.js keeps the connection, keep-alive, TLS and the commands'
 * subscription; its own packet identifiers stay below FIRST_FRAME_ID (`mqttJsMessageIds`), so the two never share one.
 * The frames' PUBACKs are taken off the connection before mqtt.js parses them (`takeFramePubacks`).
 */
import type { Writable } from 'node:stream';
import type { IClientOptions, MqttClient } from 'mqtt';
import { frameLength, PUBACK, WholeFrames, writePublishFrame, type FrameMessage, type FrameTaker } from '../util/mqtt-frames.js';

/** Packet identifiers 1 … FIRST_FRAME_ID − 1 are mqtt.js's (it uses one per connection, for the SUBSCRIBE). */
const FIRST_FRAME_ID = 16;
const LAST_PACKET_ID = 65_535;
/** The most frames awaiting a PUBACK at once: one identifier each. */
export const MAX_FRAMES_IN_FLIGHT = LAST_PACKET_ID - FIRST_FRAME_ID + 1;

/** Called once per message: QoS 1 on its PUBACK, QoS 0 once the socket has taken it; with an error if the write failed. */
export type FrameCallback = (error?: Error) => void;

/** mqtt.js's packet identifiers, kept below the frames' range. */
export function mqttJsMessageIds(): NonNullable<IClientOptions['messageIdProvider']> {
  let last = FIRST_FRAME_ID - 1;
  return {
    allocate: () => (last = last === FIRST_FRAME_ID - 1 ? 1 : last + 1),
    getLastAllocated: () => last,
    register: (id) => id < FIRST_FRAME_ID,
    deallocate: () => {},
    clear: () => {},
  };
}

/**
 * Publishes on one connection (one mqtt.js client, from its CONNACK until it closes). Frames awaiting a PUBACK are
 * kept by packet identifier; a PUBACK in the frames' range that awaits nothing (a duplicate) is ignored. Made before the
 * connection receives anything (right after `connect()`), or while nothing is coming on it, since it takes over the
 * reading of frames from there.
 */
export class FramePublisher {
  /** The callback of each frame awaiting its PUBACK, by packet identifier. */
  private readonly awaiting: (FrameCallback | undefined)[] = new Array<FrameCallback | undefined>(LAST_PACKET_ID + 1);
  private inFlight = 0;
  private nextId = FIRST_FRAME_ID;
  /** Byte lengths of the topics and payloads of the chunk being made (kept: one chunk after another). */
  private topicBytes = new Int32Array(256);
  private payloadBytes = new Int32Array(256);

  constructor(private readonly client: MqttClient) {
    takeFramePubacks(client, (id) => {
      const callback = this.awaiting[id];
      if (!callback) return;
      this.awaiting[id] = undefined;
      this.inFlight--;
      callback();
    });
  }

  /**
   * Sends `messages[from … to)` as one write. At QoS 1 at most MAX_FRAMES_IN_FLIGHT may await their PUBACK at once.
   * Throws (sending none of them) for a message MQTT cannot carry.
   */
  publish(messages: readonly FrameMessage[], from: number, to: number, qos: 0 | 1, callback: FrameCallback): void {
    const count = to - from;
    if (qos === 1 && this.inFlight + count > MAX_FRAMES_IN_FLIGHT) throw new RangeError(`more than ${MAX_FRAMES_IN_FLIGHT} publishes awaiting a PUBACK`);
    if (this.topicBytes.length < count) {
      this.topicBytes = new Int32Array(count);
      this.payloadBytes = new Int32Array(count);
    }
    // Measured first, so that the chunk is made once, at its size.
    let total = 0;
    for (let i = 0; i < count; i++) {
      const message = messages[from + i]!;
      const topicBytes = (this.topicBytes[i] = Buffer.byteLength(message.topic));
      const payloadBytes = (this.payloadBytes[i] = typeof message.payload === 'string' ? Buffer.byteLength(message.payload) : message.payload.length);
      const length = frameLength(topicBytes, payloadBytes, qos);
      if (length === undefined) throw new RangeError(`a message on ${message.topic} is too large for MQTT (${payloadBytes} bytes)`);
      total += length;
    }
    const chunk = Buffer.allocUnsafe(total);
    let used = 0;
    for (let i = 0; i < count; i++) {
      const id = qos === 1 ? this.freeId() : 0;
      if (qos === 1) {
        this.awaiting[id] = callback;
        this.inFlight++;
      }
      used = writePublishFrame(chunk, used, messages[from + i]!, this.topicBytes[i]!, this.payloadBytes[i]!, qos, id);
    }
    this.client.stream.write(chunk, (error) => {
      if (qos === 1 && !error) return;
      // A failed write closes the connection, which fails the batch; QoS 0 is done once the socket has it.
      for (let i = 0; i < count; i++) callback(error ?? undefined);
    });
  }

  /** The next identifier not awaiting a PUBACK (PUBACKs may come out of order). */
  private freeId(): number {
    while (this.awaiting[this.nextId] !== undefined) this.advance();
    const id = this.nextId;
    this.advance();
    return id;
  }

  private advance(): void {
    this.nextId = this.nextId === LAST_PACKET_ID ? FIRST_FRAME_ID : this.nextId + 1;
  }
}

/**
 * Takes the PUBACKs of the frames (identifiers from FIRST_FRAME_ID on) off the connection's incoming bytes and hands
 * the rest to mqtt.js in order. mqtt.js would parse each one with mqtt-packet's buffer list, queue it, handle it a
 * tick later and emit it: at 25,000 readings a second that was 7% of the gateway's CPU, for a packet of four bytes.
 * Relies on mqtt.js piping its stream into one Writable whose `_write` parses (MqttClient.connect).
 */
function takeFramePubacks(client: MqttClient, onPuback: (id: number) => void): void {
  const parserInput = (client.stream as unknown as { _readableState: { pipes: Writable[] } })._readableState.pipes[0];
  if (!parserInput) throw new Error('mqtt.js no longer pipes its connection into its parser: takeFramePubacks needs a change');
  const frames = new WholeFrames(undefined, () => true);
  let passed: Buffer[] = [];
  const take: FrameTaker = (source, start, body, end) => {
    const id = source[start] === PUBACK && end - body === 2 ? source.readUInt16BE(body) : 0;
    if (id >= FIRST_FRAME_ID) onPuback(id);
    else passed.push(source.subarray(start, end));
    return true;
  };
  const parse = parserInput._write.bind(parserInput);
  parserInput._write = (chunk: Buffer, encoding, done) => {
    const rest = frames.read(chunk, take);
    if (rest !== undefined) passed.push(rest);
    if (passed.length === 0) return done();
    const toParse = passed.length === 1 ? passed[0]! : Buffer.concat(passed);
    passed = [];
    parse(toParse, encoding, done);
  };
}
