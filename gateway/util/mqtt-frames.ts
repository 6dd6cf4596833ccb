/**
 * MQTT 3.1 / 3.1.1 PUBLISH frames encoded in place: into a buffer the caller holds, with no packet object and no chunk
 * per field (mqtt-packet writes five pieces per packet and allocates a Buffer for each number). Used where messages go
 * out by the ten thousand a second: the bridge's publishes upstream and the broker's QoS 0 deliveries.
 */

/** [MQTT-2.2.3] a remaining length is at most four bytes of seven bits. */
const MAX_REMAINING_LENGTH = 268_435_455;
/** [MQTT-1.5.3] a topic is a string of at most 65,535 bytes. */
const MAX_TOPIC_BYTES = 0xffff;
const PUBLISH = 0x30;

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

