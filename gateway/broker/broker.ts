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

/** The embedded MQTT broker: aedes plus its network listeners. */
export class Broker {
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
    return new Promise((resolve, reject) => this.aedes.publish(packet, (error) => (error ? reject(error) : resolve())));
  }

  async close(): Promise<void> {
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

async function closeAll(aedes: Aedes, servers: readonly Server[]): Promise<void> {
  await Promise.all(
    servers.map(
      (server) =>
        new Promise<void>((resolve) => {
          server.close(() => resolve());
        }),
    ),
  );
  await new Promise<void>((resolve) => aedes.close(() => resolve()));
}
