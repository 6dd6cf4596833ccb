import { once } from 'node:events';
import { createServer, type AddressInfo, type Server } from 'node:net';
import { Aedes, type AedesOptions, type AuthenticateError, type Client, type PublishPacket } from 'aedes';
import type { ListenerConfig } from '../config/schema.js';
import type { Logger } from '../util/log.js';

export interface BrokerOptions {
  readonly listeners: readonly ListenerConfig[];
  readonly drainTimeoutMs: number;
}

export interface BoundListener {
  readonly type: 'tcp';
  readonly host: string;
  readonly port: number;
}

/** How long close() lets in-flight internal publishes land before it closes the broker anyway. */
const CLOSE_GRACE_MS = 2000;

/** The embedded MQTT broker: aedes plus its network listeners. */
export class Broker {
  /** Internal publishes not yet settled, so close() can let them land first. */
  private inFlight = 0;
  private settled: (() => void) | undefined;

  private constructor(
    readonly aedes: Aedes,
    private readonly servers: Server[],
    readonly listeners: readonly BoundListener[],
    private readonly log: Logger,
  ) {}

  static async start(opts: BrokerOptions, log: Logger): Promise<Broker> {
    const aedes = await Aedes.createBroker(brokerOptions(opts));
    aedes.on('clientError', (client, error) => log.debug('client error', { client: client.id, error }));
    aedes.on('connectionError', (client, error) => log.debug('connection error', { client: client.id, error }));
    const servers: Server[] = [];
    const bound: BoundListener[] = [];
    try {
      for (const listener of opts.listeners) {
        // noDelay: without it Nagle + delayed ACK add ~40 ms to every QoS 1 round trip.
        const server = createServer({ noDelay: true }, aedes.handle);
        server.listen(listener.port, listener.host);
        await Promise.race([once(server, 'listening'), once(server, 'error').then(([error]) => Promise.reject(error as Error))]);
        servers.push(server);
        const address = server.address() as AddressInfo;
        bound.push({ type: 'tcp', host: address.address, port: address.port });
        log.info('MQTT listener ready', { url: `mqtt://${address.address}:${address.port}` });
      }
    } catch (error) {
      await closeAll(aedes, servers);
      throw new Error(`cannot listen for MQTT: ${(error as Error).message}`);
    }
    return new Broker(aedes, servers, bound, log);
  }

  /** Publishes from inside the gateway, straight into aedes (no socket hop). */
  publish(topic: string, payload: string | Buffer, qos: 0 | 1, retain: boolean): Promise<void> {
    const packet: PublishPacket = { cmd: 'publish', topic, payload, qos, retain, dup: false };
    this.inFlight++;
    return new Promise<void>((resolve, reject) => this.aedes.publish(packet, (error) => (error ? reject(error) : resolve()))).finally(() => {
      if (--this.inFlight === 0) this.settled?.();
    });
  }

  /**
   * Subscribes from inside the gateway (no socket hop); resolves once the subscription is active, with a function
   * that ends it. The handler runs for each message on a matching topic; a throwing handler is the caller's bug.
   */
  async subscribe(filter: string, handler: (topic: string, payload: Buffer) => void): Promise<() => Promise<void>> {
    const deliver = (packet: { topic: string; payload: string | Buffer }, done: () => void): void => {
      try {
        handler(packet.topic, typeof packet.payload === 'string' ? Buffer.from(packet.payload) : packet.payload);
      } catch (error) {
        this.log.error('internal subscriber failed', { filter, topic: packet.topic, error });
      }
      done();
    };
    await new Promise<void>((resolve) => this.aedes.subscribe(filter, deliver, resolve));
    return () => new Promise<void>((resolve) => this.aedes.unsubscribe(filter, deliver, resolve));
  }

  async close(): Promise<void> {
    // The last words (devices going offline, alerts) may still be on their way through aedes' persistence; they get
    // a moment to land, but a shutdown never waits on them for long.
    if (this.inFlight > 0) {
      let timer: NodeJS.Timeout | undefined;
      await Promise.race([new Promise<void>((resolve) => (this.settled = resolve)), new Promise<void>((resolve) => (timer = setTimeout(resolve, CLOSE_GRACE_MS)))]);
      clearTimeout(timer);
    }
    await closeAll(this.aedes, this.servers);
    this.log.info('MQTT broker closed');
  }
}

function brokerOptions(opts: BrokerOptions): AedesOptions {
  const emptyIdWithSession = new WeakSet<Client>();
  return {
    // A subscriber that stops reading is cut off after this, instead of stalling delivery to everyone.
    drainTimeout: opts.drainTimeoutMs,
    preConnect(client, packet, callback) {
      // [MQTT-3.1.3-8] an empty client id requires clean session; aedes would accept it otherwise.
      if (!packet.clientId && packet.clean === false) emptyIdWithSession.add(client);
      keepEveryMessage(client);
      callback(null, true);
    },
    authenticate(client, _username, _password, callback) {
      if (emptyIdWithSession.has(client)) {
        const error = new Error('identifier rejected: an empty client id needs clean session') as AuthenticateError;
        error.returnCode = 2;
        callback(error, false);
        return;
      }
      callback(null, true);
    },
  };
}

/**
 * Turns off aedes' per-client dedupe, which silently loses messages here. It drops a packet whose broker counter is
 * not above the last one delivered to the client, assuming packets reach clients in counter order; but a retained or
 * QoS 1 publish (a device status, an alert) waits on persistence before it is emitted while a QoS 0 reading does not,
 * so a reading published a moment later overtakes it and the status or alert is dropped as a "duplicate"
 * (moscajs/aedes#994, #955, open). Dedupe exists for overlapping subscriptions of one client; without it such a
 * client gets one copy per matching subscription, which [MQTT-3.3.5-1] allows and Mosquitto 2 does too.
 */
function keepEveryMessage(client: Client): void {
  const neverSeen = new Proxy<Record<string, number>>({}, { get: () => undefined, set: () => true, deleteProperty: () => true });
  (client as unknown as { duplicates: Record<string, number> }).duplicates = neverSeen;
}

/**
 * Stops accepting connections, disconnects the clients (aedes.close), then waits for the servers: a server's close
 * callback only comes once every connection has ended, so waiting for it first would hang while any client is connected.
 */
async function closeAll(aedes: Aedes, servers: readonly Server[]): Promise<void> {
  const closed = servers.map((server) => new Promise<void>((resolve) => server.close(() => resolve())));
  await new Promise<void>((resolve) => aedes.close(() => resolve()));
  await Promise.all(closed);
}
