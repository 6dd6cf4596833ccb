'use strict';
/**
 * One MQTT connection to the gateway's embedded broker, shared by every node of a `gateway-broker` config node:
 * subscriptions are counted per filter (the last node to leave unsubscribes), messages are routed to the nodes whose
 * filter matches, and the gateway's refusals on this client's error topic are handed to whoever listens for them.
 * mqtt.js reconnects by itself; the pause between attempts doubles up to a cap, so a gateway that is down is not
 * hammered.
 */
const mqtt = require('mqtt');
const { filterMatches, topics } = require('./contract');
const { RateLimitedLog } = require('./rate-limited-log');

const FIRST_RETRY_MS = 1000;
const MAX_RETRY_MS = 30_000;
/** Publishes waiting for the broker (disconnected, or no PUBACK yet) beyond which new ones are refused, not queued. */
const DEFAULT_MAX_PENDING = 1000;

class GatewayConnection {
  /**
   * @param {{url: string, username?: string, password?: string, root: string, clientId: string, maxPending?: number}} options
   * @param {{warn(text: string): void}} log where connection problems go (rate-limited here)
   */
  constructor(options, log) {
    this.options = options;
    this.root = options.root;
    this.clientId = options.clientId;
    this.log = new RateLimitedLog(log);
    this.maxPending = options.maxPending ?? DEFAULT_MAX_PENDING;
    /** filter → {qos, handlers: Set, ready: Promise} */
    this.subscriptions = new Map();
    /** filter → settles once the broker answered our UNSUBSCRIBE: a new SUBSCRIBE to it waits for that. */
    this.unsubscribing = new Map();
    this.stateListeners = new Set();
    this.clientErrorListeners = new Set();
    this.state = { connected: false, error: undefined };
    this.pending = 0;
    this.counts = { received: 0, published: 0, refusedBacklog: 0, connects: 0, connectionErrors: 0 };
    this.client = undefined;
  }

  /** Connects (once; later calls do nothing). */
  start() {
    if (this.client !== undefined) return;
    const { url, username, password, clientId } = this.options;
    const client = mqtt.connect(url, {
      clientId,
      username: username || undefined,
      password: password || undefined,
      clean: true,
      reconnectPeriod: FIRST_RETRY_MS,
      connectTimeout: 10_000,
      // A publish while disconnected is refused by publish() below, never queued without bound in memory.
      queueQoSZero: false,
    });
    this.client = client;
    client.on('connect', () => {
      this.counts.connects++;
      client.options.reconnectPeriod = FIRST_RETRY_MS;
      this.log.recovered('connection', `connected to the gateway at ${url}`);
      this.setState({ connected: true, error: undefined });
    });
    client.on('close', () => {
      client.options.reconnectPeriod = Math.min(client.options.reconnectPeriod * 2, MAX_RETRY_MS);
      if (this.state.connected) this.setState({ connected: false, error: this.state.error });
    });
    // Every emitter gets an error handler: an unhandled 'error' would take Node-RED down.
    client.on('error', (error) => {
      this.counts.connectionErrors++;
      this.log.warn('connection', `gateway MQTT connection to ${url}: ${error.message}`);
      this.setState({ connected: false, error: error.message });
    });
    client.on('message', (topic, payload, packet) => this.route(topic, payload, packet));
    this.subscribe(topics.clientErrors(this.root, clientId), 0, (_topic, payload) => this.routeClientError(payload));
  }

  /** Closes the connection; pending callbacks fail. */
  stop() {
    const client = this.client;
    this.client = undefined;
    if (client === undefined) return Promise.resolve();
    return new Promise((resolve) => client.end(true, {}, () => resolve()));
  }

  /**
   * Subscribes `handler(topic, payload: Buffer, packet)` to `filter`. `ready` settles once the broker granted the subscription
   * (it rejects when the gateway refuses it); `release()` ends it.
   */
  subscribe(filter, qos, handler) {
    let entry = this.subscriptions.get(filter);
    if (entry === undefined) {
      // The broker may handle a SUBSCRIBE before an UNSUBSCRIBE of the same filter sent just before it.
      const after = this.unsubscribing.get(filter) ?? Promise.resolve();
      entry = { handlers: new Set(), ready: after.then(() => this.brokerSubscribe(filter, qos)) };
      // Nobody has to await ready: keep a refusal from becoming an unhandled rejection.
      entry.ready.catch(() => undefined);
      this.subscriptions.set(filter, entry);
    }
    entry.handlers.add(handler);
    const release = () => {
      const current = this.subscriptions.get(filter);
      if (current === undefined || !current.handlers.delete(handler) || current.handlers.size > 0) return;
      this.subscriptions.delete(filter);
      const client = this.client;
      if (client === undefined) return;
      const unsubscribed = new Promise((resolve) => {
        client.unsubscribe(filter, (error) => {
          if (error) this.log.warn(`unsubscribe:${filter}`, `cannot unsubscribe from ${filter}: ${error.message}`);
          if (this.unsubscribing.get(filter) === unsubscribed) this.unsubscribing.delete(filter);
          resolve();
        });
      });
      this.unsubscribing.set(filter, unsubscribed);
    };
    return { ready: entry.ready, release };
  }

  /** Publishes; resolves once the broker took it (PUBACK at QoS 1). Refused at once when too much is waiting. */
  publish(topic, payload, qos) {
    const client = this.client;
    if (client === undefined) return Promise.reject(new Error('the gateway connection is closed'));
    if (this.pending >= this.maxPending) {
      this.counts.refusedBacklog++;
      const why = this.state.connected ? 'the gateway has not acknowledged them yet' : 'the gateway is not connected';
      return Promise.reject(new Error(`${this.pending} messages are waiting (${why}): refused, not queued`));
    }
    if (!this.state.connected && qos === 0) return Promise.reject(new Error('not connected to the gateway (QoS 0 is never queued)'));
    this.pending++;
    return new Promise((resolve, reject) => {
      client.publish(topic, payload, { qos, retain: false }, (error) => {
        this.pending--;
        if (error) reject(error);
        else {
          this.counts.published++;
          resolve();
        }
      });
    });
  }

  /** `listener({connected, error})`, called now and on every change; returns the function that removes it. */
  onState(listener) {
    this.stateListeners.add(listener);
    listener(this.state);
    return () => this.stateListeners.delete(listener);
  }

  /** `listener({ts, topic, errors})` for each refusal the gateway reports to this client; returns its remover. */
  onClientError(listener) {
    this.clientErrorListeners.add(listener);
    return () => this.clientErrorListeners.delete(listener);
  }

  stats() {
    return { connected: this.state.connected, pending: this.pending, subscriptions: this.subscriptions.size, ...this.counts };
  }

  brokerSubscribe(filter, qos) {
    const client = this.client;
    if (client === undefined) return Promise.reject(new Error('the gateway connection is closed'));
    return new Promise((resolve, reject) => {
      client.subscribe(filter, { qos }, (error, granted) => {
        if (error) reject(error);
        else if (granted?.some((grant) => grant.qos >= 0x80)) reject(new Error(`the gateway refused the subscription to ${filter}`));
        else resolve();
      });
    });
  }

  route(topic, payload, packet) {
    this.counts.received++;
    for (const [filter, entry] of this.subscriptions) {
      if (!filterMatches(filter, topic)) continue;
      for (const handler of entry.handlers) {
        // One node's failure must not keep the message from the others, nor kill the client's message loop.
        try {
          handler(topic, payload, packet);
        } catch (error) {
          this.log.warn(`handler:${filter}`, `a handler of ${filter} failed on ${topic}: ${error instanceof Error ? error.message : String(error)}`);
        }
      }
    }
  }

  routeClientError(payload) {
    let refusal;
    try {
      refusal = JSON.parse(payload.toString('utf8'));
    } catch (error) {
      this.log.warn('client-error', `unreadable message on the client error topic: ${error.message}`);
      return;
    }
    for (const listener of this.clientErrorListeners) listener(refusal);
  }

  setState(state) {
    if (state.connected === this.state.connected && state.error === this.state.error) return;
    this.state = state;
    for (const listener of this.stateListeners) listener(state);
  }
}

module.exports = { GatewayConnection };
