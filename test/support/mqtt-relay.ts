/**
 * A TCP relay between an MQTT client and a real broker that reads the frames going each way and can hold back the
 * broker's PUBACKs: a platform whose acknowledgements come late, as Mosquitto's do when Nagle's algorithm keeps its
 * last small packets back until the client's delayed TCP ACK (40 ms), made as long as a test needs.
 */
import { createConnection, createServer, type Server, type Socket } from 'node:net';
import { PUBACK, PUBLISH, WholeFrames, type FrameTaker } from '../../gateway/util/mqtt-frames.js';

/** Calls `onFrame` with each whole MQTT frame of a byte stream, as the gateway itself cuts them. */
function frameSplitter(onFrame: (frame: Buffer) => void): (chunk: Buffer) => void {
  const frames = new WholeFrames(undefined, () => true);
  const take: FrameTaker = (source, start, _body, end) => {
    onFrame(source.subarray(start, end));
    return true;
  };
  return (chunk) => void frames.read(chunk, take);
}

export interface AckHold {
  /** PUBACKs passed on before the hold starts. */
  readonly after: number;
  /** The hold ends once the client has sent this many PUBLISH frames. */
  readonly untilPublishes: number;
}

export class MqttRelay {
  /** PUBLISH frames the client sent, PUBACKs the broker's side passed on. */
  publishesUp = 0;
  acksDown = 0;
  private held: Buffer[] | undefined;
  private hold: AckHold | undefined;
  private readonly sockets = new Set<Socket>();

  private constructor(
    private readonly server: Server,
    readonly port: number,
  ) {}

  static async start(brokerPort: number): Promise<MqttRelay> {
    const server = createServer();
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const relay = new MqttRelay(server, (server.address() as { port: number }).port);
    server.on('connection', (client) => relay.relay(client, brokerPort));
    return relay;
  }

  /** Holds back the broker's frames from the `after`-th PUBACK on, until the client has sent `untilPublishes` PUBLISHes. */
  holdAcks(hold: AckHold): void {
    this.hold = hold;
  }

  async close(): Promise<void> {
    for (const socket of this.sockets) socket.destroy();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }

  private relay(client: Socket, brokerPort: number): void {
    const broker = createConnection(brokerPort, '127.0.0.1');
    for (const socket of [client, broker]) {
      this.sockets.add(socket);
      // Either side going ends both: the other one sees its peer close, as without the relay.
      socket.on('error', () => undefined);
      socket.on('close', () => {
        this.sockets.delete(socket);
        client.destroy();
        broker.destroy();
      });
    }
    client.on(
      'data',
      frameSplitter((frame) => {
        if ((frame[0]! & 0xf0) === PUBLISH) this.publishesUp++;
        broker.write(frame);
        if (this.held && this.publishesUp >= this.hold!.untilPublishes) {
          for (const heldFrame of this.held) client.write(heldFrame);
          this.held = undefined;
          this.hold = undefined;
        }
      }),
    );
    broker.on(
      'data',
      frameSplitter((frame) => {
        if (this.held) return void this.held.push(frame);
        if (frame[0] === PUBACK && this.hold && this.acksDown >= this.hold.after && this.publishesUp < this.hold.untilPublishes) {
          this.held = [frame];
          return;
        }
        if (frame[0] === PUBACK) this.acksDown++;
        client.write(frame);
      }),
    );
  }
}
