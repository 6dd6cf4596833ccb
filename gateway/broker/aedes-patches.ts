/**
 * Where the broker reaches into aedes 1.2 and mqtt-packet 9 internals, to hold the MQTT contract where their hooks
 * cannot. Each patch names the internal it relies on; test/faults/broker-contract.test.ts and
 * test/integration/mqtt-limits.test.ts fail if an upgrade moves one.
 */
import type { Aedes, Client, PublishPacket } from 'aedes';
import mqttPacket from 'mqtt-packet';
import type { Readable, Writable } from 'node:stream';
import { frameLength, isPublishOrPuback, readPublishOrPuback, WholeFrames, writePublishFrame, type FrameMessage, type FrameTaker, type ParsedPacket } from '../util/mqtt-frames.js';
import type { InPlaceWriter } from '../util/write-coalescing.js';
import { TopicMemo } from '../util/topic-memo.js';
import { filterWithin } from './acl.js';

// mqtt-packet would fill a table of 65,536 two-byte Buffers on its first write, for message ids and topic lengths:
// 6 MB of heap held for good, more than the broker's state. Writes are staged into one buffer per turn anyway
// (write-coalescing.ts), so a number written directly costs next to nothing. Set before any packet is written.
mqttPacket.writeToStream.cacheNumbers = false;

/** CONNACK, return code 0x01: unacceptable protocol level. */
const CONNACK_UNACCEPTABLE_PROTOCOL = Buffer.from([0x20, 0x02, 0x00, 0x01]);

interface PacketParser {
  packet: ParsedPacket;
  error: Error | null;
  settings: { protocolVersion?: number };
  _list: { length: number };
  _stateCounter: number;
  parse(chunk: Buffer): number;
  _parseLength(): boolean;
  _emitError(error: Error): void;
  emit(event: 'error', error: Error): void;
  emit(event: 'packet', packet: ParsedPacket): void;
}

function parserOf(client: Client): PacketParser {
  return (client as unknown as { _parser: PacketParser })._parser;
}

/**
 * Closes a connection whose next packet announces more than `maxBytes`, as soon as its length field arrives. aedes
 * has no packet size limit and its parser (mqtt-packet) buffers a whole packet — up to 256 MB by the protocol — before
 * anything can look at it; a few such connections would exhaust a small gateway's memory. Relies on the parser's
 * length state (`_parseLength`, `packet.length`).
 */
export function capPacketSize(client: Client, maxBytes: number, onTooLarge: (bytes: number) => void): void {
  const parser = parserOf(client);
  const parseLength = parser._parseLength.bind(parser);
  parser._parseLength = () => {
    const complete = parseLength();
    if (complete && parser.packet.length > maxBytes) {
      onTooLarge(parser.packet.length);
      parser.emit('error', new Error(`packet of ${parser.packet.length} bytes is over the limit of ${maxBytes}`));
      client.conn.destroy();
      return false;
    }
    return complete;
  };
}

/**
 * Reads the PUBLISH and PUBACK frames of each chunk itself (util/mqtt-frames.ts), into mqtt-packet's own packet class,
 * and hands the parser only what follows the first other frame: mqtt-packet appends every chunk to a buffer list and
 * slices it per field, about 3 µs of a sensor's reading, a tenth of the gateway's work on it. Packets reach aedes as
 * the parser's 'packet' events, in order. The parser keeps every chunk while it holds part of a packet, and after a
 * protocol 5 CONNECT (which aedes refuses). Relies on the parser's state (`_list`, `_stateCounter`, `error`,
 * `settings`) and its `packet` being of its Packet class; `maxBytes` is capPacketSize's limit, which the parser keeps.
 */
export function parsePublishesDirectly(client: Client, maxBytes: number): void {
  const parser = parserOf(client);
  const parse = parser.parse.bind(parser);
  const Packet = parser.packet.constructor as new () => ParsedPacket;
  const frames = new WholeFrames(maxBytes, isPublishOrPuback);
  const take: FrameTaker = (source, start, body, end) => {
    const packet = new Packet();
    if (!readPublishOrPuback(source, start, body, end, packet)) return false;
    parser.emit('packet', packet);
    // Taken. False stops the reading only after a parser error: the chunk's rest is dropped, as mqtt-packet does.
    return parser.error === null;
  };
  parser.parse = (chunk) => {
    // WholeFrames holds a cut-off frame only while the parser holds nothing, and the other way round.
    const idle = parser.error === null && parser._stateCounter === 0 && parser._list.length === 0;
    if (!idle || parser.settings.protocolVersion === 5) return parse(chunk);
    const rest = frames.read(chunk, take);
    return rest === undefined || parser.error !== null ? 0 : parse(rest);
  };
}

/** How aedes' client paces its reading of the socket: a packet not yet handled holds it, `_nextBatch` reads on. */
interface BatchInternals {
  _parsingBatch: number;
  _nextBatch(): void;
}

/**
 * Bytes of one connection read per event-loop turn: about 140 single-metric readings, under 2 ms of work. Measured
 * with `E2E_RUNS=3 npm run bench -- e2e` (pooled alarms, alternating sizes): at 4 KB a flood ran 59–66k readings/s
 * and an alarm on another connection waited 0.6–1.0 ms at the median; at 8 KB 62–74k/s and 0.9–1.2 ms; at 16 KB
 * 66–80k/s and 1.3–2.1 ms. The p99 of the alarms moved more from run to run (7–21 ms) than between the sizes. A
 * QoS 1 publisher's next bytes are read only once its last chunk's readings are stored (aedes reads on when every
 * packet of a chunk is handled), so each turn costs a store and a write of acknowledgements; fewer, larger turns
 * carry the flood further on the same CPU.
 */
const READ_BYTES_PER_TURN = 8 * 1024;

/**
 * Reads at most `bytesPerTurn` of a connection per turn of the event loop, then lets the other connections in. A
 * client that sends as fast as its socket takes (a flood of QoS 0 readings) would otherwise have a whole socket buffer
 * handled in one turn, and another device's alarm, and the alert it raises, wait behind it. What is left stays in the
 * stream: TCP backpressure holds, and a stream that ended says so only once all of it was read. A frame cut at the
 * limit is joined with the next read, as one cut between two TCP segments is. Relies on aedes reading with
 * `conn.read(null)` whenever no packet of the connection is being handled (`_parsingBatch`, `_nextBatch`).
 */
export function readAtMostPerTurn(client: Client, bytesPerTurn = READ_BYTES_PER_TURN): void {
  const batch = client as unknown as BatchInternals;
  const conn = client.conn as unknown as Readable;
  if (conn.readableObjectMode) return;
  const read = conn.read.bind(conn);
  let left = bytesPerTurn;
  /** Whether bytes were left in the stream this turn: the stream will not say 'readable' for them again. */
  let leftBehind = false;
  let scheduled = false;
  const nextTurn = (): void => {
    scheduled = false;
    left = bytesPerTurn;
    if (!leftBehind) return;
    leftBehind = false;
    // With none of its packets being handled, nothing else would call aedes back to read them.
    if (batch._parsingBatch === 0 && !conn.destroyed) batch._nextBatch();
  };
  conn.read = (size?: number | null) => {
    if (size !== undefined && size !== null) return read(size);
    const buffered = conn.readableLength;
    if (buffered === 0) {
      leftBehind = false;
      // The stream's own answer: it arms 'readable' for what comes, or says it ended.
      return read();
    }
    if (!scheduled) {
      scheduled = true;
      setImmediate(nextTurn);
    }
    if (buffered <= left) {
      left -= buffered;
      leftBehind = false;
      // All of it, the stream's own way: a stream that ended then says so.
      return read();
    }
    leftBehind = true;
    if (left <= 0) return null;
    const bytes = left;
    left = 0;
    return read(bytes);
  };
}

/**
 * [MQTT-3.1.2-2] answers a CONNECT of an unsupported protocol level with CONNACK 0x01, then disconnects. mqtt-packet
 * refuses such a level while parsing (levels 3-5 reach aedes, which answers 5 itself), so aedes never sees the
 * CONNECT and just drops the connection; a client would not learn why. Relies on the parser's `_emitError`.
 */
export function answerUnsupportedProtocol(client: Client, onRefused: () => void): void {
  const parser = parserOf(client);
  const emitError = parser._emitError.bind(parser);
  parser._emitError = (error) => {
    if (parser.packet.cmd !== 'connect' || error.message !== 'Invalid protocol version') return emitError(error);
    parser.error = error; // stops the parse loop, as emitError would
    onRefused();
    // end() flushes the CONNACK before closing; an error event would destroy the socket with it unsent.
    client.conn.end(CONNACK_UNACCEPTABLE_PROTOCOL, () => client.conn.destroy());
  };
}

type Deliver = (packet: PublishPacket & { brokerId?: string; brokerCounter?: number; clientId?: string; nl?: boolean }, done: () => void) => void;
interface ClientInternals {
  subscriptions: Record<string, { qos: number } | undefined>;
  duplicates: Record<string, number>;
  deliver0: Deliver;
  deliverQoS: Deliver;
  _nextId: number;
  readonly id: string;
  readonly clean: boolean;
  readonly connecting: boolean;
  readonly connected: boolean;
  readonly errored: boolean;
  readonly conn: Writable;
  readonly broker: {
    authorizeForward(client: Client, packet: PublishPacket): PublishPacket | null | undefined;
    readonly persistence: { outgoingUpdate(client: Client, packet: PublishPacket): Promise<unknown> };
  };
  waitForDrain(done: () => void): void;
  _onError(error: Error): void;
}

/**
 * One copy of each message per client, at the highest QoS among its subscriptions that match, never above the
 * publish's [MQTT-3.3.5-1]; QoS 0 copies written at once. Must run before the client's subscriptions exist
 * (preConnect).
 *
 * aedes gets both wrong on its own: it downgrades a copy by the subscription whose filter equals the topic, so a
 * wildcard subscription granted QoS 1 receives QoS 2; and its per-client dedupe silently loses messages — it drops a
 * packet whose broker counter is not above the last one delivered, assuming counter order, but a retained or QoS 1
 * publish waits on persistence while a QoS 0 one does not, so a status or alert overtaken by a reading is dropped
 * (moscajs/aedes#994, #955). The copies of one message for one client are delivered in one synchronous pass over the
 * matching subscriptions, so a copy whose broker id and counter equal the previous one's is a duplicate.
 * Relies on the client's `deliver0`/`deliverQoS`/`duplicates`/`subscriptions`, and for QoS 0 on what aedes'
 * deliver0 does (no-local, authorizeForward, `waitForDrain`, `_onError`).
 */
export function deliverOncePerMessage(client: Client, writer: InPlaceWriter, isUrgent: (packet: PublishPacket) => boolean): void {
  const inner = client as unknown as ClientInternals;
  // aedes' own dedupe, disabled: every packet looks never seen.
  inner.duplicates = new Proxy<Record<string, number>>({}, { get: () => undefined, set: () => true, deleteProperty: () => true });
  // The QoS granted for each topic (-1: no subscription matches), until a subscription is added, changed or removed.
  const granted = new TopicMemo((topic) => grantedQos(inner.subscriptions, topic));
  inner.subscriptions = new Proxy(inner.subscriptions, {
    set: (target, filter: string, value: { qos: number } | undefined) => (granted.clear(), (target[filter] = value), true),
    deleteProperty: (target, filter: string) => (granted.clear(), delete target[filter]),
  });
  const grantedFor = (topic: string, fallback: number): number => {
    const qos = granted.get(topic);
    return qos < 0 ? fallback : qos;
  };
  const writeQoS0 = directQoS0(inner, client, writer);
  const writeQoS = inner.deliverQoS;
  const writeQoSNow = urgentQoS(inner, client, writer);
  let lastId: string | undefined;
  let lastCounter: number | undefined;
  const deliver: Deliver = (packet, done) => {
    if (packet.brokerId !== undefined && packet.brokerId === lastId && packet.brokerCounter === lastCounter) return void setImmediate(done);
    lastId = packet.brokerId;
    lastCounter = packet.brokerCounter;
    const qos = Math.min(packet.qos, grantedFor(packet.topic, packet.qos)) as PublishPacket['qos'];
    const urgent = isUrgent(packet);
    if (qos === 0) {
      writeQoS0(packet, done);
      if (urgent) writer.writeStagedNow();
      return;
    }
    const copy = qos === packet.qos ? packet : { ...packet, qos };
    if (urgent) writeQoSNow(copy, done);
    else writeQoS(copy, done);
  };
  // Read by aedes when a subscription is added (and for retained messages), so every path comes through here.
  inner.deliver0 = deliver;
  inner.deliverQoS = deliver;
}

/**
 * Writes a QoS 0 copy at once, as a PUBLISH frame encoded straight into the connection's staged writes, and reports
 * the copies written in one turn done together at its end. aedes' deliver0 copies the packet and takes two
 * setImmediate per message and subscriber (one to write, one to report), and mqtt-packet writes five pieces per
 * packet with a Buffer for each number; under load that was a subscriber's largest cost. The same steps otherwise:
 * no-local, authorizeForward, wait for 'drain' when the socket is full, a message MQTT cannot carry closes the client.
 */
function directQoS0(inner: ClientInternals, client: Client, writer: InPlaceWriter): Deliver {
  let written: (() => void)[] = [];
  const reportWritten = (): void => {
    const now = written;
    written = [];
    for (const done of now) done();
  };
  // The frame being written: fill() runs within writeInPlace(), so one per client serves every message.
  const frame: { message: FrameMessage; topicBytes: number; payloadBytes: number } = { message: { topic: '', payload: '', retain: false }, topicBytes: 0, payloadBytes: 0 };
  const fill = (target: Buffer, offset: number): void => void writePublishFrame(target, offset, frame.message, frame.topicBytes, frame.payloadBytes, 0, 0);
  return (packet, done) => {
    const forward = packet.clientId === inner.id && packet.nl ? undefined : inner.broker.authorizeForward(client, packet);
    if (!forward || !(inner.connecting || inner.connected)) return void setImmediate(done);
    const topicBytes = Buffer.byteLength(forward.topic);
    const payloadBytes = typeof forward.payload === 'string' ? Buffer.byteLength(forward.payload) : forward.payload.length;
    const bytes = frameLength(topicBytes, payloadBytes, 0);
    if (bytes === undefined) {
      inner._onError(new Error('packet received not valid'));
      return void setImmediate(done);
    }
    frame.message = forward;
    frame.topicBytes = topicBytes;
    frame.payloadBytes = payloadBytes;
    const more = writer.writeInPlace(bytes, fill);
    if (!more && !inner.errored) return inner.waitForDrain(done);
    written.push(done);
    if (written.length === 1) setImmediate(reportWritten);
  };
}

/**
 * Writes a QoS 1 or 2 copy of an urgent message (an alert) onto the socket at once. aedes' deliverQoS writes a copy
 * only in a setImmediate, and staged writes go out at the end of the turn: under load, each waits behind the turn's
 * other work, a few milliseconds. The same steps as aedes' deliverQoS otherwise: no-local, authorizeForward, a packet
 * id of the client's, the outgoing record of a persistent session stored before the write (its retransmission after
 * a reconnect), 'drain' when the socket is full, done in a later turn. Relies on aedes' `_nextId` (1 to 65535, then
 * around) and `clean`, and on persistence.outgoingUpdate.
 */
function urgentQoS(inner: ClientInternals, client: Client, writer: InPlaceWriter): Deliver {
  return (packet, done) => {
    const forward = packet.clientId === inner.id && packet.nl ? undefined : inner.broker.authorizeForward(client, packet);
    if (!forward) return void setImmediate(done);
    const copy = { ...forward, qos: packet.qos, messageId: forward.messageId || nextPacketId(inner) };
    const write = (): void => {
      if (!(inner.connecting || inner.connected)) return void setImmediate(done);
      let more: boolean;
      try {
        more = mqttPacket.writeToStream(copy, inner.conn);
      } catch {
        inner._onError(new Error('packet received not valid'));
        return void setImmediate(done);
      }
      writer.writeStagedNow();
      if (!more && !inner.errored) return inner.waitForDrain(done);
      setImmediate(done);
    };
    if (inner.clean || copy.retain) return write();
    inner.broker.persistence.outgoingUpdate(client, copy).then(write, (error: Error) => {
      client.emit('error', error);
      done();
    });
  };
}

/** The client's next packet id for a message it is sent, as aedes allots them (QoSPacket). */
function nextPacketId(inner: ClientInternals): number {
  const id = inner._nextId;
  inner._nextId = id >= 65535 ? 1 : id + 1;
  return id;
}

/**
 * Remembers which subscriptions match each topic, so routing a message costs a map lookup instead of a walk of the
 * subscription trie; and tells whether any subscription — a client's or the gateway's own — matches a topic, so the
 * broker can skip encoding and routing a message nobody would receive (readings nobody watches). A device publishes
 * on the same few topics all day, so the answers are reused until the subscriptions change. Relies on aedes routing
 * through mqemitter, whose Qlobber (`mq._matcher`) every subscription is added to and removed from, and which only
 * reads the array `match` returns.
 */
export function routingCache(aedes: Aedes): { hasSubscriber(topic: string): boolean } {
  type Matcher = { match(topic: string): unknown[]; add(...args: unknown[]): unknown; remove(...args: unknown[]): unknown; clear(): unknown };
  const matcher = (aedes as unknown as { mq: { _matcher: Matcher } }).mq._matcher;
  const matches = new TopicMemo(matcher.match.bind(matcher));
  for (const change of ['add', 'remove', 'clear'] as const) {
    const original = matcher[change].bind(matcher) as (...args: unknown[]) => unknown;
    matcher[change] = (...args: unknown[]) => {
      matches.clear();
      return original(...args);
    };
  }
  matcher.match = (topic) => matches.get(topic);
  return { hasSubscriber: (topic) => matches.get(topic).length > 0 };
}

/** The highest QoS granted to a subscription matching the topic (-1 when none does). */
function grantedQos(subscriptions: ClientInternals['subscriptions'], topic: string): number {
  let highest = -1;
  let only: number | undefined;
  let count = 0;
  for (const filter in subscriptions) {
    const qos = subscriptions[filter]?.qos ?? 0;
    only = qos;
    count++;
    if (qos > highest && topicMatches(filter, topic)) highest = qos;
  }
  if (count === 1 && only !== undefined) return only;
  return highest;
}

/** Whether the filter matches the topic; a filter starting with a wildcard never matches a `$` topic [MQTT-4.7.2-1]. */
export function topicMatches(filter: string, topic: string): boolean {
  if (topic.startsWith('$') && (filter.startsWith('#') || filter.startsWith('+'))) return false;
  return filterWithin(topic, filter);
}

/**
 * Lets the broker refuse a client's publish yet acknowledge it (deny_action: ignore), or skip routing one that would
 * reach nobody: a marked packet is published to nobody — no live subscriber, no persistent session's offline queue,
 * no retained store — while aedes still sends the PUBACK/PUBREC it owes. authorizePublish can only allow (publish) or
 * fail (disconnect); re-routing the packet to a `$` topic is not enough, since aedes still queues it for persistent
 * sessions subscribed to `#`. Relies on aedes' publish handler calling `broker.publish(packet, client, done)` with the
 * packet authorizePublish saw.
 */
export function publishNothingMarked(aedes: Aedes): (packet: PublishPacket) => void {
  const marked = new WeakSet<PublishPacket>();
  type Publish = (packet: PublishPacket, client?: Client | null | ((error?: Error) => void), done?: (error?: Error) => void) => void;
  const publish = (aedes.publish as Publish).bind(aedes);
  (aedes as unknown as { publish: Publish }).publish = (packet, client, done) => {
    if (!marked.has(packet)) return publish(packet, client, done);
    marked.delete(packet);
    (typeof client === 'function' ? client : done)?.();
  };
  return (packet) => marked.add(packet);
}
