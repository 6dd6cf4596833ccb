import { Aedes, type AedesOptions, type AuthenticateError, type Client, type PublishPacket, type Subscription } from 'aedes';
import type { Duplex } from 'node:stream';
import { clientErrorPayload } from '../contract/payloads.js';
import type { Topics } from '../contract/topics.js';
import type { Logger } from '../util/log.js';
import { LogLimiter } from '../util/log-limiter.js';
import { TopicMemo } from '../util/topic-memo.js';
import { coalesceWrites, type InPlaceWriter } from '../util/write-coalescing.js';
import type { Acl, Identity } from './acl.js';
import { answerUnsupportedProtocol, capPacketSize, deliverOncePerMessage, parsePublishesDirectly, publishNothingMarked, readAtMostPerTurn, routingCache, topicMatches } from './aedes-patches.js';
import type { Authenticator } from './authenticator.js';
import type { ListenerConfig, MqttConfig } from './config.js';
import { openListeners, type BoundListener, type ConnectionOrigin, type OpenListener } from './listeners.js';
import { PublishThrottle } from './throttle.js';

export type BrokerLimits = MqttConfig['limits'];

/** Who may connect and what they may do; without it every client is an anonymous operator (tests, benchmarks). */
export interface BrokerAccess {
  readonly authenticator: Authenticator;
  readonly acl: Acl;
  readonly topics: Topics;
  readonly denyAction: 'ignore' | 'disconnect';
}

export interface BrokerOptions {
  readonly listeners: readonly ListenerConfig[];
  readonly drainTimeoutMs: number;
  readonly access?: BrokerAccess;
  readonly limits?: BrokerLimits;
  /** Sees every allowed client publish (MQTT ingest). */
  readonly onPublish?: ClientPublishHandler;
  readonly onClientGone?: ClientGoneHandler;
}

/** A connected, authenticated client as the rest of the gateway sees it. */
export interface ClientInfo {
  readonly id: string;
  readonly identity: Identity;
}

/**
 * Sees every publish a client makes once it is allowed. A returned promise holds back the client's acknowledgement
 * (PUBACK) and the reading of its next packets until it settles — that is how a QoS 1 ingest is acknowledged only
 * once its readings are durable, and how a gateway that is behind slows its senders down; a rejection of a QoS 1/2
 * publish closes the connection unacknowledged, so the client sends it again. `'refused'`: the publish is
 * acknowledged but reaches no subscriber (a payload the handler refused).
 */
export type ClientPublishHandler = (client: ClientInfo, topic: string, payload: Buffer, qos: 0 | 1 | 2) => void | 'refused' | Promise<void>;
/** Sees the allowed client publishes on a topic filter, with the client that made them and their retain flag. */
export type PublishWatcher = (client: ClientInfo, topic: string, payload: Buffer, retain: boolean) => void;
interface Watcher {
  readonly filter: string;
  readonly watch: PublishWatcher;
}
/** `clean`: the client said DISCONNECT; otherwise its connection was lost or timed out (where a last will fires). */
export type ClientGoneHandler = (client: ClientInfo, clean: boolean) => void;

export interface BrokerStats {
  readonly clients: number;
  readonly connectionsAccepted: number;
  readonly loginsRefused: number;
  readonly connectionsOverLimit: number;
  readonly publishesDenied: number;
  readonly subscriptionsDenied: number;
  readonly payloadsTooLarge: number;
  readonly publishesThrottled: number;
  readonly floodDisconnects: number;
  /** CONNECTs of a protocol level other than MQTT 3.1/3.1.1, answered with CONNACK 0x01. */
  readonly protocolsRefused: number;
  /** Retained commands, neither relayed nor kept: each would run again whenever a device subscribes. */
  readonly retainedCommandsRefused: number;
}

const DEFAULT_LIMITS: BrokerLimits = { max_connections: 5000, max_payload: 256 * 1024, publish_rate: 200, publish_burst: 1000, max_throttle: 10_000 };
/** How long close() lets in-flight internal publishes land before it closes the broker anyway. */
const CLOSE_GRACE_MS = 2000;
const REFUSAL_LOG_INTERVAL_MS = 10_000;
/** Room beside the payload in a PUBLISH: a topic of up to 64 KB, its length, the packet id. */
const PACKET_OVERHEAD_BYTES = 65_536 + 4;

/** A message the gateway publishes at QoS 0, not retained (a reading). */
export interface OutgoingMessage {
  readonly topic: string;
  readonly payload: string | Buffer;
}

/**
 * Messages aedes routes at once (its mqemitter's concurrency; aedes' default is 100). A batch of readings is routed in
 * one pass, so each subscriber gets it in one socket write (see coalesceWrites); the pipeline bounds the batch.
 */
const ROUTING_CONCURRENCY = 10_000;

interface Session {
  readonly info: ClientInfo;
  readonly throttle: PublishThrottle;
  /**
   * The ACL's verdicts on the topics this client published to: a device publishes to the same few topics thousands of
   * times, and its identity and the rules are fixed for the session (a changed login closes it).
   */
  readonly mayPublish: Map<string, boolean>;
}

/** Topics a session remembers verdicts for; a client cycling through more starts over (it only costs the check). */
const VERDICTS_PER_SESSION = 256;

/**
 * The embedded MQTT broker: aedes, its listeners (TCP, TLS, WebSocket), and the gate in front of it — logins,
 * per-role topic permissions, payload size, connection count and per-client publish rate.
 */
export class Broker {
  readonly aedes: Aedes;
  private listenersOpen: OpenListener[] = [];
  private readonly origins = new WeakMap<Duplex, ConnectionOrigin>();
  /** Each connection's staged writes, which QoS 0 deliveries are encoded into. */
  private readonly writers = new WeakMap<Duplex, InPlaceWriter>();
  private readonly sessions = new WeakMap<Client, Session>();
  /** Clients connected now (aedes 'client' to 'clientDisconnect'), for disconnecting users whose login changed. */
  private readonly connected = new Set<Client>();
  private readonly limits: BrokerLimits;
  private readonly counts = { connectionsAccepted: 0, loginsRefused: 0, connectionsOverLimit: 0, publishesDenied: 0, subscriptionsDenied: 0, payloadsTooLarge: 0, publishesThrottled: 0, floodDisconnects: 0, protocolsRefused: 0, retainedCommandsRefused: 0 };
  private readonly refusals: LogLimiter;
  private readonly watchers = new Set<Watcher>();
  /** The watchers whose filter matches each topic, until a watcher comes or goes. */
  private readonly watchersOf = new TopicMemo((topic) => [...this.watchers].filter(({ filter }) => topicMatches(filter, topic)));
  /** Marks a client's publish so that aedes publishes it to nobody (yet acknowledges it): refused, or for no one. */
  private readonly publishToNobody: (packet: PublishPacket) => void;
  private readonly subscriptions: { hasSubscriber(topic: string): boolean };
  /**
   * Whether a session that outlives its connection (clean: false) has subscribed at QoS 1 or 2 since the start: aedes
   * keeps matching QoS 1/2 messages for it while it is away, so those must go through its routing.
   */
  private persistentSubscriptions = false;
  /** The payloads of urgent messages (see publish), for as long as a packet holds one. */
  private readonly urgentPayloads = new WeakSet<Buffer>();
  /** Internal publishes not yet settled, so close() can let them land first. */
  private inFlight = 0;
  private settled: (() => void) | undefined;

  private constructor(
    private readonly opts: BrokerOptions,
    private readonly log: Logger,
  ) {
    this.limits = opts.limits ?? DEFAULT_LIMITS;
    this.refusals = new LogLimiter(log, REFUSAL_LOG_INTERVAL_MS);
    this.aedes = new Aedes(this.aedesOptions());
    this.publishToNobody = publishNothingMarked(this.aedes);
    this.subscriptions = routingCache(this.aedes);
  }

  /** A broker with its listeners open. */
  static async start(opts: BrokerOptions, log: Logger): Promise<Broker> {
    const broker = await Broker.create(opts, log);
    try {
      await broker.listen();
    } catch (error) {
      await broker.close();
      throw error;
    }
    return broker;
  }

  /** A broker for in-process use only, until listen(): the gateway wires its consumers before clients can connect. */
  static async create(opts: BrokerOptions, log: Logger): Promise<Broker> {
    const broker = new Broker(opts, log);
    const { aedes } = broker;
    await aedes.listen();
    aedes.on('clientError', (client, error) => log.debug('client error', { client: client.id, error }));
    aedes.on('connectionError', (client, error) => log.debug('connection error', { client: client.id, error }));
    aedes.on('keepaliveTimeout', (client) => log.info('client keep-alive timed out', { client: client.id }));
    aedes.on('client', (client) => broker.connected.add(client));
    aedes.on('clientDisconnect', (client) => broker.onDisconnect(client));
    return broker;
  }

  /** Opens the configured listeners (TCP, TLS, WebSocket). */
  async listen(): Promise<void> {
    this.listenersOpen = await openListeners(this.opts.listeners, (stream, origin) => this.accept(stream, origin), this.log);
  }

  get listeners(): readonly BoundListener[] {
    return this.listenersOpen.map((listener) => listener.bound);
  }

  stats(): BrokerStats {
    return { clients: this.aedes.connectedClients, ...this.counts };
  }

  /**
   * Publishes from inside the gateway, straight into aedes (no socket hop, no permission check). An `urgent` message
   * (an alert) is written to each subscriber's socket at once, not at the end of the turn behind its other work.
   */
  publish(topic: string, payload: string | Buffer, qos: 0 | 1, retain: boolean, { urgent = false } = {}): Promise<void> {
    if (urgent) {
      // aedes copies a packet on its way but keeps its payload: the payload is what marks the message.
      payload = Buffer.from(payload);
      this.urgentPayloads.add(payload);
    }
    const packet: PublishPacket = { cmd: 'publish', topic, payload, qos, retain, dup: false };
    this.inFlight++;
    return new Promise<void>((resolve, reject) => this.aedes.publish(packet, (error) => (error ? reject(error) : resolve()))).finally(() => {
      if (--this.inFlight === 0) this.settled?.();
    });
  }

  /**
   * Publishes many QoS 0, non-retained messages from inside the gateway (readings) and resolves once aedes has handed
   * each to its subscribers. A message whose topic no subscription matches is skipped: it would reach nobody.
   */
  publishMany(messages: readonly OutgoingMessage[]): Promise<void> {
    return new Promise<void>((resolve) => {
      let pending = 1;
      const settle = (error?: Error): void => {
        if (error) this.log.debug('internal publish failed', { error });
        if (--pending > 0) return;
        if (--this.inFlight === 0) this.settled?.();
        resolve();
      };
      this.inFlight++;
      for (const { topic, payload } of messages) {
        if (!this.subscriptions.hasSubscriber(topic)) continue;
        pending++;
        this.aedes.publish({ cmd: 'publish', topic, payload, qos: 0, retain: false, dup: false }, settle);
      }
      settle();
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

  /**
   * Calls `watch` for each allowed client publish on a topic matching the filter, with the client that made it —
   * unlike subscribe(), which sees messages but not who sent them. Returns a function that ends the watch.
   */
  watchPublishes(filter: string, watch: PublishWatcher): () => void {
    const watcher = { filter, watch };
    this.watchers.add(watcher);
    this.watchersOf.clear();
    return () => {
      this.watchers.delete(watcher);
      this.watchersOf.clear();
    };
  }

  /** Tells a client why something it sent was refused, on its own error topic (`{root}/clients/{id}/errors`). */
  tellClient(clientId: string, topic: string, reasons: readonly string[]): void {
    const root = this.opts.access?.topics;
    if (!root) return;
    this.publish(root.clientErrors(clientId), clientErrorPayload(topic, reasons, Date.now()), 0, false).catch((error: unknown) => this.log.debug('cannot tell client', { client: clientId, error }));
  }

  /**
   * Lets in-flight internal publishes land. The last words (devices going offline, alerts) may still be on their way
   * through aedes' persistence; they get a moment, but a shutdown never waits on them for long.
   */
  async drain(): Promise<void> {
    if (this.inFlight === 0) return;
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([new Promise<void>((resolve) => (this.settled = resolve)), new Promise<void>((resolve) => (timer = setTimeout(resolve, CLOSE_GRACE_MS)))]);
    clearTimeout(timer);
  }

  async close(): Promise<void> {
    await this.drain();
    // Stop accepting, disconnect the clients, then wait for the listeners: a listener's close only completes once
    // every connection has ended, so waiting for it before aedes.close would hang while any client is connected.
    const closed = this.listenersOpen.map((listener) => listener.close());
    await new Promise<void>((resolve) => this.aedes.close(() => resolve()));
    await Promise.all(closed);
    this.log.info('MQTT broker closed');
  }

  private accept(stream: Duplex, origin: ConnectionOrigin): void {
    this.origins.set(stream, origin);
    // A burst of readings reaches a subscriber, and a burst of PUBACKs a publisher, in one socket write per turn.
    this.writers.set(stream, coalesceWrites(stream));
    const client = this.aedes.handle(stream);
    const maxPacketBytes = this.limits.max_payload + PACKET_OVERHEAD_BYTES;
    parsePublishesDirectly(client, maxPacketBytes);
    readAtMostPerTurn(client);
    capPacketSize(client, maxPacketBytes, (bytes) => {
      this.counts.payloadsTooLarge++;
      this.refusals.warn(`packet:${origin.remoteAddress ?? ''}`, 'connection cut: packet over the size limit', { from: origin.remoteAddress, listener: origin.listener.url, bytes });
    });
    answerUnsupportedProtocol(client, () => {
      this.counts.protocolsRefused++;
      this.refusals.warn(`protocol:${origin.remoteAddress ?? ''}`, 'connection refused: unsupported MQTT protocol level (3.1 and 3.1.1 are spoken)', { from: origin.remoteAddress, listener: origin.listener.url });
    });
  }

  private aedesOptions(): AedesOptions {
    const emptyIdWithSession = new WeakSet<Client>();
    return {
      // A subscriber that stops reading is cut off after this, instead of stalling delivery to everyone.
      drainTimeout: this.opts.drainTimeoutMs,
      concurrency: ROUTING_CONCURRENCY,
      preConnect: (client, packet, callback) => {
        // [MQTT-3.1.3-8] an empty client id requires clean session; aedes would accept it otherwise.
        if (!packet.clientId && packet.clean === false) emptyIdWithSession.add(client);
        // Every connection comes through accept(), which made its writer.
        deliverOncePerMessage(client, this.writers.get(client.conn as Duplex)!, (message) => typeof message.payload !== 'string' && this.urgentPayloads.has(message.payload));
        callback(null, true);
      },
      authenticate: (client, username, password, callback) => {
        if (emptyIdWithSession.has(client)) return callback(connackError(2, 'identifier rejected: an empty client id needs clean session'), false);
        if (this.aedes.connectedClients >= this.limits.max_connections) {
          this.counts.connectionsOverLimit++;
          this.refusals.warn('connections', 'connection refused: too many clients', { client: client.id, max_connections: this.limits.max_connections });
          return callback(connackError(3, 'server unavailable: too many connections'), false);
        }
        this.login(client, username, password).then(
          (refusal) => (refusal ? callback(refusal, false) : callback(null, true)),
          (error: unknown) => {
            this.log.error('login failed unexpectedly', { client: client.id, error });
            callback(connackError(3, 'server unavailable'), false);
          },
        );
      },
      authorizePublish: (client, packet, callback) => this.authorizePublish(client, packet, callback),
      authorizeSubscribe: (client, subscription, callback) => callback(null, this.authorizeSubscribe(client, subscription)),
    };
  }

  /** Resolves with the CONNACK error to answer, or undefined once the client is let in. */
  private async login(client: Client, username: string | undefined, password: Buffer | undefined): Promise<AuthenticateError | undefined> {
    const origin = this.origins.get(client.conn as Duplex);
    if (!origin) return connackError(3, 'server unavailable: unknown connection');
    const access = this.opts.access;
    const result = access ? await access.authenticator.login(origin, username, password) : { identity: { user: username ?? 'anonymous', role: 'operator' as const, devices: [] } };
    if ('refused' in result) {
      this.counts.loginsRefused++;
      this.refusals.warn(`login:${origin.remoteAddress ?? ''}`, 'login refused', { client: client.id, user: username ?? '(none)', from: origin.remoteAddress, listener: origin.listener.url, reason: result.reason });
      return connackError(result.refused, result.reason);
    }
    // A client id names a session: only the user who holds it may take it over, or anyone could push a device off.
    const holder = (this.aedes as unknown as { clients: Record<string, Client | undefined> }).clients[client.id];
    const holderUser = holder && holder !== client ? this.sessions.get(holder)?.info.identity.user : undefined;
    if (holderUser !== undefined && holderUser !== result.identity.user) {
      this.counts.loginsRefused++;
      this.refusals.warn(`takeover:${client.id}`, 'login refused: client id in use by another user', { client: client.id, user: result.identity.user, from: origin.remoteAddress });
      return connackError(2, 'identifier rejected: this client id is in use by another user');
    }
    this.counts.connectionsAccepted++;
    this.sessions.set(client, { info: { id: client.id, identity: result.identity }, throttle: new PublishThrottle(this.limits.publish_rate, this.limits.publish_burst, performance.now()), mayPublish: new Map() });
    this.log.debug('client connected', { client: client.id, user: result.identity.user, role: result.identity.role, listener: origin.listener.url });
    return undefined;
  }

  private authorizePublish(client: Client | null, packet: PublishPacket, callback: (error?: Error | null) => void): void {
    const session = client ? this.sessions.get(client) : undefined;
    if (!session) return callback(null);
    const { info } = session;
    const payload = typeof packet.payload === 'string' ? Buffer.from(packet.payload) : packet.payload;
    if (payload.length > this.limits.max_payload) {
      this.counts.payloadsTooLarge++;
      return this.refusePublish(info, packet, `payload of ${payload.length} bytes is over the limit of ${this.limits.max_payload}`, callback);
    }
    const access = this.opts.access;
    if (access && !this.mayPublish(session, access.acl, packet.topic)) {
      this.counts.publishesDenied++;
      return this.refusePublish(info, packet, `not allowed to publish here (${info.identity.role} ${info.identity.user})`, callback);
    }
    // The gateway's own helpers (Node-RED) are not rate-limited: what they publish is paced by the pipeline's backpressure.
    const wait = info.identity.role === 'internal' ? 0 : session.throttle.take(performance.now());
    if (wait > this.limits.max_throttle) {
      this.counts.floodDisconnects++;
      this.refusals.warn(`flood:${info.id}`, 'client disconnected: it keeps publishing faster than allowed', { client: info.id, user: info.identity.user, publish_rate: this.limits.publish_rate });
      return callback(new Error('publishing faster than allowed'));
    }
    const handle = (): void => {
      let result: ReturnType<ClientPublishHandler> = undefined;
      try {
        this.notifyWatchers(info, packet.topic, payload, packet.retain);
        // After the watchers: the command service answers a retained command to a polled device on its result topic.
        result = this.isRetainedCommand(packet, payload) ? this.refuseRetainedCommand(info, packet.topic) : this.opts.onPublish?.(info, packet.topic, payload, packet.qos);
      } catch (error) {
        this.log.error('publish handler failed', { client: info.id, topic: packet.topic, error });
      }
      // Devices' raw ingest publishes mostly reach nobody: acknowledged without aedes' routing, retained store and queues.
      if (result === 'refused' || this.reachesNobody(packet)) this.publishToNobody(packet);
      if (result === undefined || result === 'refused') return callback(null);
      // Until it settles aedes reads no further packet from this client: that is backpressure, at any QoS. Only a
      // QoS 1/2 publish has an acknowledgement to withhold; a QoS 0 one goes on once the gateway has caught up.
      result.then(
        () => callback(null),
        (error: unknown) => callback(packet.qos === 0 ? null : error instanceof Error ? error : new Error(String(error))),
      );
    };
    if (wait === 0) return handle();
    // Holding the callback holds this client's socket: aedes reads its next packets only after this one is handled.
    this.counts.publishesThrottled++;
    setTimeout(handle, wait);
  }

  private mayPublish(session: Session, acl: Acl, topic: string): boolean {
    let verdict = session.mayPublish.get(topic);
    if (verdict === undefined) {
      if (session.mayPublish.size >= VERDICTS_PER_SESSION) session.mayPublish.clear();
      verdict = acl.mayPublish(session.info.identity, topic);
      session.mayPublish.set(topic, verdict);
    }
    return verdict;
  }

  private refusePublish(client: ClientInfo, packet: PublishPacket, reason: string, callback: (error?: Error | null) => void): void {
    this.refusals.warn(`publish:${client.id}`, 'publish refused', { client: client.id, user: client.identity.user, topic: packet.topic, reason });
    this.tellClient(client.id, packet.topic, [reason]);
    if (this.opts.access?.denyAction === 'disconnect') return callback(new Error(reason));
    // MQTT 3.1.1 cannot say "refused" [MQTT-3.3.5-2]: acknowledge as usual and publish it to nobody, as Mosquitto does.
    this.publishToNobody(packet);
    callback(null);
  }

  /** A command published retained; an empty retained message only clears one (of an older version) and may pass. */
  private isRetainedCommand(packet: PublishPacket, payload: Buffer): boolean {
    return packet.retain && payload.length > 0 && this.opts.access?.topics.parse(packet.topic)?.kind === 'command';
  }

  /**
   * A retained command would be delivered again to every device that subscribes — each reconnect of an MQTT device
   * would carry it out once more — so it is relayed to nobody and kept by nobody, and its sender is told why.
   */
  private refuseRetainedCommand(client: ClientInfo, topic: string): 'refused' {
    this.counts.retainedCommandsRefused++;
    const reason = 'a retained command is never relayed (every device that subscribes would get it again): publish it with retain off';
    this.refusals.warn(`retained-command:${client.id}`, 'retained command refused', { client: client.id, user: client.identity.user, topic });
    this.tellClient(client.id, topic, [reason]);
    return 'refused';
  }

  private notifyWatchers(client: ClientInfo, topic: string, payload: Buffer, retain: boolean): void {
    for (const { filter, watch } of this.watchersOf.get(topic)) {
      try {
        watch(client, topic, payload, retain);
      } catch (error) {
        this.log.error('publish watcher failed', { filter, client: client.id, topic, error });
      }
    }
  }

  /** Not retained, no subscription matches it now, and no session away could want it queued. */
  private reachesNobody(packet: PublishPacket): boolean {
    return !packet.retain && (packet.qos === 0 || !this.persistentSubscriptions) && !this.subscriptions.hasSubscriber(packet.topic);
  }

  private authorizeSubscribe(client: Client, subscription: Subscription): Subscription | null {
    const allowed = this.allowSubscribe(client, subscription);
    if (allowed && allowed.qos > 0 && !client.clean) this.persistentSubscriptions = true;
    return allowed;
  }

  private allowSubscribe(client: Client, subscription: Subscription): Subscription | null {
    const session = this.sessions.get(client);
    const access = this.opts.access;
    if (!session || !access) return subscription;
    if (access.acl.maySubscribe(session.info.identity, subscription.topic, client.id)) return subscription;
    this.counts.subscriptionsDenied++;
    this.refusals.warn(`subscribe:${client.id}`, 'subscription refused', { client: client.id, user: session.info.identity.user, filter: subscription.topic });
    this.tellClient(client.id, subscription.topic, [`not allowed to subscribe to ${subscription.topic} (${session.info.identity.role} ${session.info.identity.user})`]);
    return null;
  }

  /** Disconnects the clients logged in as one of `users` (their login changed on reload); returns how many. */
  disconnectUsers(users: readonly string[]): number {
    const gone = new Set(users);
    let closed = 0;
    for (const client of this.connected) {
      const session = this.sessions.get(client);
      if (!session || !gone.has(session.info.identity.user)) continue;
      client.close();
      closed++;
    }
    return closed;
  }

  private onDisconnect(client: Client): void {
    this.connected.delete(client);
    const session = this.sessions.get(client);
    if (!session) return;
    this.sessions.delete(client);
    const clean = (client as unknown as { _disconnected: boolean })._disconnected === true;
    this.opts.onClientGone?.(session.info, clean);
  }
}

function connackError(returnCode: 2 | 3 | 4 | 5, message: string): AuthenticateError {
  const error = new Error(message) as AuthenticateError;
  error.returnCode = returnCode;
  return error;
}
