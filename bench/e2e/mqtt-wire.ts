/**
 * Just enough MQTT 3.1.1 for the bench's own clients (the load and the counting subscribers), written straight to a
 * socket: mqtt.js costs more CPU per message than the gateway under test, so through it the load, not the gateway,
 * would set the rate. Only the packets these clients use; no session state, no reconnects.
 */
import { connect, type Socket } from 'node:net';

/** The packet types these clients receive (the high nibble of the first byte). */
export const PacketType = { Connack: 2, Publish: 3, Puback: 4, Suback: 9, Pingresp: 13 } as const;

export const PINGREQ = Buffer.from([0xc0, 0x00]);

function remainingLength(length: number): Buffer {
  const bytes: number[] = [];
  do {
    let byte = length % 128;
    length = Math.floor(length / 128);
    if (length > 0) byte |= 0x80;
    bytes.push(byte);
  } while (length > 0);
  return Buffer.from(bytes);
}

/** A UTF-8 string with its 2-byte length, as MQTT writes topics, client ids and credentials. */
export function mqttString(text: string): Buffer {
  const bytes = Buffer.from(text, 'utf8');
  const length = Buffer.alloc(2);
  length.writeUInt16BE(bytes.length);
  return Buffer.concat([length, bytes]);
}

function packet(firstByte: number, body: Buffer): Buffer {
  return Buffer.concat([Buffer.from([firstByte]), remainingLength(body.length), body]);
}

/** CONNECT, clean session, keepalive off (the bench's clients talk without pause, then disconnect). */
export function connectPacket(clientId: string, login?: { username: string; password: string }): Buffer {
  const flags = 0x02 | (login ? 0xc0 : 0);
  const header = Buffer.concat([mqttString('MQTT'), Buffer.from([4, flags, 0, 0])]);
  const credentials = login ? [mqttString(login.username), mqttString(login.password)] : [];
  return packet(0x10, Buffer.concat([header, mqttString(clientId), ...credentials]));
}

/** PUBLISH; `topic` as mqttString made it (computed once per device); `packetId` for QoS 1. */
export function publishPacket(topic: Buffer, payload: string, qos: 0 | 1, packetId = 0): Buffer {
  const payloadBytes = Buffer.from(payload, 'utf8');
  const idBytes = qos === 1 ? 2 : 0;
  const length = topic.length + idBytes + payloadBytes.length;
  const lengthBytes = remainingLength(length);
  const out = Buffer.allocUnsafe(1 + lengthBytes.length + length);
  out[0] = 0x30 | (qos << 1);
  let at = 1 + lengthBytes.copy(out, 1);
  at += topic.copy(out, at);
  if (qos === 1) at = out.writeUInt16BE(packetId, at);
  payloadBytes.copy(out, at);
  return out;
}

export function pubackPacket(packetId: number): Buffer {
  return Buffer.from([0x40, 0x02, packetId >> 8, packetId & 0xff]);
}

/** SUBSCRIBE to each filter at QoS 0: the counters want every message once, without acknowledging them. */
export function subscribePacket(packetId: number, filters: readonly string[]): Buffer {
  const id = Buffer.from([packetId >> 8, packetId & 0xff]);
  return packet(0x82, Buffer.concat([id, ...filters.map((filter) => Buffer.concat([mqttString(filter), Buffer.from([0])]))]));
}

export interface Packet {
  readonly type: number;
  /** The low nibble of the first byte (QoS and flags of a PUBLISH). */
  readonly flags: number;
  readonly body: Buffer;
}

/** Cuts a byte stream into packets. */
export class PacketReader {
  private pending: Buffer = Buffer.alloc(0);

  constructor(private readonly onPacket: (packet: Packet) => void) {}

  push(chunk: Buffer): void {
    let data = this.pending.length > 0 ? Buffer.concat([this.pending, chunk]) : chunk;
    for (;;) {
      if (data.length < 2) break;
      let length = 0;
      let multiplier = 1;
      let at = 1;
      let complete = false;
      while (at < data.length && at <= 4) {
        const byte = data[at++]!;
        length += (byte & 0x7f) * multiplier;
        multiplier *= 128;
        if ((byte & 0x80) === 0) {
          complete = true;
          break;
        }
      }
      if (!complete || data.length < at + length) break;
      const first = data[0]!;
      this.onPacket({ type: first >> 4, flags: first & 0x0f, body: data.subarray(at, at + length) });
      data = data.subarray(at + length);
    }
    // Copied: a subarray would pin the whole chunk it came from.
    this.pending = Buffer.from(data);
  }
}

/** The topic of a PUBLISH body, and where its payload starts. */
export function publishTopic(packet: Packet): { topic: string; payloadAt: number } {
  const topicLength = packet.body.readUInt16BE(0);
  const qos = (packet.flags >> 1) & 0x03;
  return { topic: packet.body.toString('utf8', 2, 2 + topicLength), payloadAt: 2 + topicLength + (qos > 0 ? 2 : 0) };
}

export interface ConnectOptions {
  readonly login?: { username: string; password: string };
  /**
   * Reads the socket only every this many ms, taking all that arrived at once. A subscriber that only counts need not
   * wake for every message: Mosquitto writes each message on its own, and read one by one they cost the counting
   * process a third of a core at 50,000 messages/s, taken from the systems under test on the same two cores.
   */
  readonly readEveryMs?: number;
}

/** Opens a TCP connection, sends CONNECT and resolves once the broker accepted it (CONNACK 0). */
export async function mqttConnect(port: number, clientId: string, onPacket: (packet: Packet, socket: Socket) => void, options: ConnectOptions = {}): Promise<Socket> {
  let reader: PacketReader | undefined;
  // Read into one buffer of the connection's own (no chunk per read), and so that pause() stops reading the socket.
  const inbox = Buffer.allocUnsafe(64 * 1024);
  const onread = {
    buffer: inbox,
    callback: (bytes: number): boolean => {
      reader?.push(inbox.subarray(0, bytes));
      return true;
    },
  };
  const socket = connect({ host: '127.0.0.1', port, noDelay: true, onread });
  return new Promise<Socket>((resolve, reject) => {
    let accepted = false;
    reader = new PacketReader((packet) => {
      if (accepted) return onPacket(packet, socket);
      const code = packet.body[1];
      if (packet.type !== PacketType.Connack || code !== 0) {
        socket.destroy();
        reject(new Error(`${clientId}: the broker refused the connection (packet type ${packet.type}, return code ${code})`));
        return;
      }
      accepted = true;
      if (options.readEveryMs !== undefined) readNowAndThen(socket, options.readEveryMs);
      resolve(socket);
    });
    socket.once('error', reject);
    socket.once('close', () => reject(new Error(`${clientId}: connection closed before CONNACK`)));
    socket.once('connect', () => socket.write(connectPacket(clientId, options.login)));
  });
}

/** Lets the socket be read for one turn every `everyMs`: everything the kernel holds for it then, up to its buffer. */
function readNowAndThen(socket: Socket, everyMs: number): void {
  socket.pause();
  const timer = setInterval(() => {
    socket.resume();
    setImmediate(() => socket.pause());
  }, everyMs);
  socket.once('close', () => clearInterval(timer));
}
