import { connect, type IClientOptions, type MqttClient } from 'mqtt';
import type { Logger } from '../util/log.js';
import { Backoff } from '../util/backoff.js';
import { LogLimiter } from '../util/log-limiter.js';
import { coalesceWrites } from '../util/write-coalescing.js';
import { FramePublisher, mqttJsMessageIds } from './publish-frames.js';

export type UpstreamState = 'connecting' | 'connected' | 'disconnected' | 'stopped';

export interface UpstreamOptions {
  readonly url: string;
  /** The url without credentials, for logs and health. */
  readonly safeUrl: string;
  readonly clientId: string;
  readonly username: string | undefined;
  readonly password: string | undefined;
  readonly tls: { readonly ca?: Buffer; readonly cert?: Buffer; readonly key?: Buffer; readonly rejectUnauthorized: boolean };
  readonly keepaliveMs: number;
  readonly reconnectMinMs: number;
  readonly reconnectMaxMs: number;
  /** Subscribed at QoS 1 on every connection (the session is clean); its messages go to `onMessage`. */
  readonly subscription: string | undefined;
}

export type UpstreamMessageHandler = (topic: string, payload: Buffer, retained: boolean) => void;

/** A TCP or TLS handshake plus CONNACK must not take longer than this. */
const CONNECT_TIMEOUT_MS = 30_000;
/** close(): how long a DISCONNECT may take to leave before the socket is destroyed. */
const END_TIMEOUT_MS = 1000;
const LOG_INTERVAL_MS = 60_000;
/** CONNACK return codes of MQTT 3.1.1 that mean the credentials were refused. */
const BAD_CREDENTIALS = new Set([4, 5]);

/** One connection to the central broker, from its CONNACK until it closes. */
export class UpstreamLink {
  private readonly closeListeners = new Set<() => void>();
  private isClosed = false;

  constructor(
    readonly client: MqttClient,
    /** Sends the forwarder's messages on this connection. */
    readonly publisher: FramePublisher,
    private readonly dropConnection: (reason: string) => void,
  ) {}

  /** Calls `listener` once this connection is gone (at once if it already is); returns a function to stop listening. */
  onClose(listener: () => void): () => void {
    if (this.isClosed) {
      listener();
      return () => {};
    }
    this.closeListeners.add(listener);
    return () => this.closeListeners.delete(listener);
  }

  /** Gives up on this connection (something on it failed); a new one follows after the backoff. */
  drop(reason: string): void {
    if (this.isClosed) return;
    // Closed from now on, not only once the socket says so: nothing may be sent on it meanwhile.
    this.markClosed();
    this.dropConnection(reason);
  }

  markClosed(): void {
    if (this.isClosed) return;
    this.isClosed = true;
    for (const listener of this.closeListeners) listener();
    this.closeListeners.clear();
  }
}

/**
 * Keeps a connection to the central broker: connects, notices the loss, reconnects with exponential backoff and
 * jitter between reconnect_min and reconnect_max, and says so in the log once per change.
 *
 * Each attempt uses a fresh mqtt.js client with its own reconnect turned off. mqtt.js (5.x) keeps a QoS 1 publish
 * that is awaiting its PUBACK in an in-memory store across a lost connection, calls back neither success nor failure,
 * and sends it again by itself after its own reconnect (`client.reconnect()` even swaps the store and leaves such
 * callbacks pending for good). The bridge's durable queue already does that job; two resenders would double-send, and
 * the in-memory one would grow with the outage. So a lost connection ends its client with `end(true)` — which fails
 * every callback still waiting on it — and the bridge resends from its own queue on the next client.
 */
export class Upstream {
  private stateNow: UpstreamState = 'connecting';
  private client: MqttClient | undefined;
  private link: UpstreamLink | undefined;
  private readonly backoff: Backoff;
  private retryTimer: NodeJS.Timeout | undefined;
  private linkWaiters: ((link: UpstreamLink | undefined) => void)[] = [];
  /** The failure last logged: an attempt failing the same way again stays out of the log. */
  private loggedFailure: string | undefined;
  private readonly limiter: LogLimiter;
  lastError: string | undefined;
  lastConnected: number | undefined;

  constructor(
    private readonly opts: UpstreamOptions,
    private readonly onMessage: UpstreamMessageHandler,
    private readonly backlog: () => number,
    private readonly log: Logger,
  ) {
    this.limiter = new LogLimiter(log, LOG_INTERVAL_MS);
    this.backoff = new Backoff({ initialMs: opts.reconnectMinMs, maxMs: opts.reconnectMaxMs });
  }

  get state(): UpstreamState {
    return this.stateNow;
  }

  start(): void {
    this.attemptConnection();
  }

  /** The current connection, or the next one; undefined once closed. */
  connected(): Promise<UpstreamLink | undefined> {
    if (this.stateNow === 'stopped') return Promise.resolve(undefined);
    if (this.link) return Promise.resolve(this.link);
    return new Promise((resolve) => this.linkWaiters.push(resolve));
  }

  /** Disconnects (cleanly when nothing awaits an acknowledgement) and stops reconnecting. */
  async close(): Promise<void> {
    if (this.stateNow === 'stopped') return;
    this.stateNow = 'stopped';
    clearTimeout(this.retryTimer);
    this.wakeLinkWaiters(undefined);
    const client = this.client;
    if (client) await endClient(client);
  }

  private attemptConnection(): void {
    this.stateNow = 'connecting';
    const { opts } = this;
    const options: IClientOptions = {
      protocolVersion: 4,
      // The queue is the bridge's own, so nothing is gained from a session the broker keeps for us.
      clean: true,
      clientId: opts.clientId,
      username: opts.username,
      password: opts.password,
      keepalive: Math.ceil(opts.keepaliveMs / 1000),
      // A ping every keep-alive even while busy, instead of re-arming a timer on every publish (measurable under load).
      reschedulePings: false,
      reconnectPeriod: 0,
      connectTimeout: CONNECT_TIMEOUT_MS,
      // Publishing while offline must fail at once rather than pile up in memory (see the class comment).
      queueQoSZero: false,
      resubscribe: false,
      // The publishes are the FramePublisher's, on identifiers of their own.
      messageIdProvider: mqttJsMessageIds(),
      rejectUnauthorized: opts.tls.rejectUnauthorized,
      ...(opts.tls.ca && { ca: opts.tls.ca }),
      ...(opts.tls.cert && { cert: opts.tls.cert }),
      ...(opts.tls.key && { key: opts.tls.key }),
    };
    const client = connect(opts.url, options);
    this.client = client;
    // Before anything arrives: it reads the frames' PUBACKs off the connection from the first byte.
    const publisher = new FramePublisher(client);
    let failure: string | undefined;
    let dropReason: string | undefined;
    let link: UpstreamLink | undefined;
    client.on('error', (error) => {
      failure ??= BAD_CREDENTIALS.has(Number((error as { code?: unknown }).code)) ? `${error.message} (check username/password)` : error.message;
    });
    client.on('connect', () => {
      // The publishes a chunk of PUBACKs lets go leave in one socket write.
      coalesceWrites(client.stream);
      link = new UpstreamLink(client, publisher, (reason) => {
        // Said after the cause (e.g. a keep-alive timeout fails the publishes first): the cause names the failure.
        dropReason ??= reason;
        if (this.link === link) this.link = undefined;
        // Not from inside the callback that brought the news: mqtt.js fails callbacks while iterating over them, and
        // ending the client there would make it iterate over the same ones again (a TypeError out of a timer).
        setImmediate(() => client.end(true));
      });
      this.linkUp(link);
    });
    client.on('message', (topic, payload, packet) => {
      try {
        this.onMessage(topic, payload, packet.retain);
      } catch (error) {
        this.limiter.error('message', 'a message from upstream could not be handled', { topic, error });
      }
    });
    client.once('close', () => {
      link?.markClosed();
      // Fails the callbacks mqtt.js would otherwise keep for a resend of its own.
      client.end(true);
      this.linkDown(link, failure ?? dropReason);
    });
  }

  private linkUp(link: UpstreamLink): void {
    const returning = this.lastConnected !== undefined;
    this.backoff.reset();
    this.loggedFailure = undefined;
    this.link = link;
    this.lastConnected = Date.now();
    this.stateNow = 'connected';
    const fields = { url: this.opts.safeUrl, client_id: this.opts.clientId, backlog: this.backlog() };
    if (returning) this.log.info('upstream link is back; sending the buffered messages', fields);
    else this.log.info('connected to the upstream broker', fields);
    if (this.opts.subscription) this.subscribe(link, this.opts.subscription);
    this.wakeLinkWaiters(link);
  }

  private subscribe(link: UpstreamLink, filter: string): void {
    link.client.subscribe(filter, { qos: 1 }, (error, granted) => {
      // A connection that went meanwhile fails its subscription; the next one subscribes again.
      if (this.link !== link || link.client.stream.destroyed) return;
      const refused = error?.message ?? (granted?.some((grant) => grant.qos === 128) ? 'refused by the broker' : undefined);
      if (refused) this.limiter.error('subscribe', 'cannot subscribe to commands on the upstream broker; commands do not come down', { url: this.opts.safeUrl, filter, reason: refused });
    });
  }

  private linkDown(link: UpstreamLink | undefined, failure: string | undefined): void {
    if (this.link === link) this.link = undefined;
    this.client = undefined;
    if (this.stateNow === 'stopped') return;
    const reason = failure ?? (link ? 'connection closed by the broker' : 'connection closed before the broker accepted it');
    this.lastError = reason;
    this.stateNow = 'disconnected';
    const delay = this.backoff.next();
    const fields = { url: this.opts.safeUrl, reason, backlog: this.backlog(), retry_in_ms: delay };
    if (link) {
      this.log.warn('lost the upstream link; messages wait in the durable buffer', fields);
    } else if (reason !== this.loggedFailure) {
      if (reason.includes('check username/password')) this.log.error('the upstream broker refuses the credentials; messages wait in the durable buffer', fields);
      else this.log.warn('cannot connect to the upstream broker; messages wait in the durable buffer', fields);
    } else {
      this.log.debug('upstream connection attempt failed', fields);
    }
    this.loggedFailure = reason;
    this.retryTimer = setTimeout(() => this.attemptConnection(), delay);
  }

  private wakeLinkWaiters(link: UpstreamLink | undefined): void {
    const waiters = this.linkWaiters;
    this.linkWaiters = [];
    for (const wake of waiters) wake(link);
  }
}

/** Ends a client: DISCONNECT when nothing awaits an acknowledgement, otherwise (or if that hangs) the socket is cut. */
function endClient(client: MqttClient): Promise<void> {
  return new Promise((resolve) => {
    const timer = setTimeout(() => {
      client.stream.destroy();
      resolve();
    }, END_TIMEOUT_MS);
    const force = !client.connected || Object.keys(client.outgoing).length > 0;
    client.end(force, () => {
      clearTimeout(timer);
      resolve();
    });
  });
}
