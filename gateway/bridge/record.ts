/**
 * One buffered message as one line of the bridge's durable queue:
 *
 *     {R|-}{t|b} {topic length} {topic} {payload}
 *
 * `R` marks a retained message. `t`: topic and payload as they are (the usual case: gateway-made JSON). `b`: both in
 * base64, for a payload that is not valid UTF-8 or for a topic or payload holding a newline (which would end the
 * line). The topic is the part below the local root, so a changed prefix, site or remote_prefix applies to what is
 * still buffered. The topic's length is given because a topic may hold spaces.
 */
import { isUtf8 } from 'node:buffer';

export interface BufferedMessage {
  /** Below the local root, e.g. `water/pump-1/level`. */
  readonly topic: string;
  readonly payload: string | Buffer;
  readonly retain: boolean;
}

const NEWLINE = 10;

/** A payload given as a string is sent as its UTF-8 bytes (the gateway's own JSON). */
export function encodeRecord(topic: string, payload: Buffer | string, retain: boolean): string {
  const flag = retain ? 'R' : '-';
  if (typeof payload === 'string') {
    if (!payload.includes('\n') && !topic.includes('\n')) return `${flag}t ${topic.length} ${topic} ${payload}`;
    payload = Buffer.from(payload);
  }
  if (payload.indexOf(NEWLINE) === -1 && !topic.includes('\n') && isUtf8(payload)) {
    return `${flag}t ${topic.length} ${topic} ${payload.toString('utf8')}`;
  }
  const encodedTopic = Buffer.from(topic).toString('base64');
  return `${flag}b ${encodedTopic.length} ${encodedTopic} ${payload.toString('base64')}`;
}

/** The message of a line, or undefined when the line is not a record (a damaged buffer file). */
export function decodeRecord(line: string): BufferedMessage | undefined {
  const retainFlag = line[0];
  const encoding = line[1];
  if ((retainFlag !== 'R' && retainFlag !== '-') || (encoding !== 't' && encoding !== 'b') || line[2] !== ' ') return undefined;
  const lengthEnd = line.indexOf(' ', 3);
  const length = Number(line.slice(3, lengthEnd));
  if (lengthEnd === -1 || !Number.isSafeInteger(length) || length < 1) return undefined;
  const topicStart = lengthEnd + 1;
  const payloadStart = topicStart + length + 1;
  if (line[payloadStart - 1] !== ' ') return undefined;
  const topic = line.slice(topicStart, topicStart + length);
  const payload = line.slice(payloadStart);
  const retain = retainFlag === 'R';
  if (encoding === 't') return { topic, payload, retain };
  return { topic: Buffer.from(topic, 'base64').toString('utf8'), payload: Buffer.from(payload, 'base64'), retain };
}
