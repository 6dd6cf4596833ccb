import type { ClientInfo } from '../broker/broker.js';
import type { Topics } from '../contract/topics.js';
import type { Reading } from '../model.js';
import type { StatusBoard } from '../status-board.js';
import type { Logger } from '../util/log.js';
import { LogLimiter } from '../util/log-limiter.js';
import type { MqttDeviceConfig } from './config.js';
import { parseIngest, type IngestLimits } from './payload.js';

export interface IngestContext {
  readonly topics: Topics;
  readonly limits: IngestLimits;
  /** Devices declared with `driver: mqtt` (tags, domain, stale_after). */
  readonly declared: readonly MqttDeviceConfig[];
  /** Devices the gateway polls itself: a field device may not publish under their names. */
  readonly polled: ReadonlySet<string>;
  /**
   * Hands readings to the pipeline. With `durably`, the promise settles once they are durable (see
   * Pipeline.publishDurably); otherwise a promise means the pipeline is behind and settles once it caught up.
   */
  readonly publish: (readings: Reading[], durably: boolean) => void | Promise<void>;
  readonly statuses: StatusBoard;
  /** Tells a client why its publish was refused, on its error topic. */
  readonly tell: (clientId: string, topic: string, reasons: readonly string[]) => void;
  readonly log: Logger;
}

export interface IngestStats {
  readonly readings: number;
  readonly payloadsRejected: number;
  readonly metricsRejected: number;
  /** QoS 1 publishes whose readings could not be made durable: left unacknowledged for the device to send again. */
  readonly notAcknowledged: number;
}

const REJECT_LOG_INTERVAL_MS = 10_000;

/**
 * Field devices' readings over MQTT: `{prefix}/{site}/ingest/{domain}/{device}`. Each payload is validated; valid
 * readings join the same pipeline as polled ones (rules, InfluxDB, normalised republish); refused ones are counted,
 * logged with client and device, and explained on the client's error topic. A device fed by a connection that goes
 * away is marked offline, as a last will would.
 */
export class MqttIngest {
  private declared: Map<string, MqttDeviceConfig>;
  private polled: ReadonlySet<string>;
  /** Which connections feed which devices, for offline-on-disconnect. */
  private readonly feeders = new Map<string, Set<ClientInfo>>();
  private readonly fed = new Map<ClientInfo, Set<string>>();
  private readonly lastSeen = new Map<string, number>();
  private readonly rejectLog: LogLimiter;
  private staleTimer: NodeJS.Timeout | undefined;
  private readonly counts = { readings: 0, payloadsRejected: 0, metricsRejected: 0, notAcknowledged: 0 };

  constructor(private readonly ctx: IngestContext) {
    this.declared = new Map();
    this.polled = ctx.polled;
    this.rejectLog = new LogLimiter(ctx.log, REJECT_LOG_INTERVAL_MS);
    this.setDevices(ctx.declared, ctx.polled);
  }

  /** The declared and the polled devices, at start and after a config reload. */
  setDevices(declared: readonly MqttDeviceConfig[], polled: ReadonlySet<string>): void {
    this.declared = new Map(declared.map((device) => [device.name, device]));
    this.polled = polled;
    const watchSilence = declared.some((device) => device.stale_after !== undefined);
    if (watchSilence && !this.staleTimer) {
      // Silence is a duration: measured on the monotonic clock, so a wall clock jump cannot call every device stale.
      this.staleTimer = setInterval(() => this.markStale(performance.now()), 1000);
      this.staleTimer.unref();
    } else if (!watchSilence && this.staleTimer) {
      clearInterval(this.staleTimer);
      this.staleTimer = undefined;
    }
  }

  /**
   * The broker's publish handler: a promise for QoS 1 ingest holds the PUBACK until the readings are durable. A payload
   * refused as a whole is `'refused'`: acknowledged, and its raw bytes reach no subscriber.
   */
  onPublish(client: ClientInfo, topic: string, payload: Buffer, qos: 0 | 1 | 2): void | 'refused' | Promise<void> {
    const address = this.ctx.topics.ingestOf(topic);
    if (!address) return;
    const { domain, device } = address;
    const problem = address.problem ?? this.deviceProblem(domain, device);
    if (problem) {
      this.reject(client, topic, device, [problem], 0);
      return 'refused';
    }
    const declared = this.declared.get(device);
    const now = Date.now();
    const { readings, rejections } = parseIngest(payload, { device, domain, tags: declared?.tags }, now, this.ctx.limits);
    if (rejections.length) {
      this.reject(
        client,
        topic,
        device,
        rejections.map((r) => r.reason),
        rejections.filter((r) => r.metric !== undefined).length,
      );
    }
    if (readings.length === 0) return 'refused';
    this.counts.readings += readings.length;
    this.seen(client, device, performance.now());
    const stored = this.ctx.publish(readings, qos > 0);
    if (!stored) return;
    return stored.catch((error: unknown) => {
      this.counts.notAcknowledged++;
      const reason = `readings not stored, so not acknowledged (send them again later): ${error instanceof Error ? error.message : String(error)}`;
      this.ctx.tell(client.id, topic, [reason]);
      // A device sends an unacknowledged message again on every reconnect: once per client and interval is enough.
      this.rejectLog.error(`store:${client.id}`, 'ingest not acknowledged: readings could not be stored; the device will send them again', { client: client.id, device, error });
      throw error;
    });
  }

  /** A connection went away: the devices it alone fed go offline (a declared `stale_after` device may come and go cleanly). */
  onClientGone(client: ClientInfo, clean: boolean): void {
    const devices = this.fed.get(client);
    if (!devices) return;
    this.fed.delete(client);
    for (const device of devices) {
      const feeders = this.feeders.get(device);
      feeders?.delete(client);
      if (feeders?.size) continue;
      this.feeders.delete(device);
      if (clean && this.declared.get(device)?.stale_after !== undefined) continue;
      this.offline(device, clean ? 'disconnected' : 'connection lost');
    }
  }

  stats(): IngestStats {
    return { ...this.counts };
  }

  close(): void {
    clearInterval(this.staleTimer);
  }

  /** Why this device may not publish in this domain (the topic's names are valid). */
  private deviceProblem(domain: string, device: string): string | undefined {
    if (this.polled.has(device)) return `"${device}" is a device the gateway polls itself; a device publishing over MQTT needs a name of its own`;
    const declared = this.declared.get(device)?.domain;
    if (declared !== undefined && declared !== domain) return `"${device}" is declared in domain "${declared}", not "${domain}"`;
    return undefined;
  }

  private seen(client: ClientInfo, device: string, now: number): void {
    this.lastSeen.set(device, now);
    let feeders = this.feeders.get(device);
    if (!feeders) this.feeders.set(device, (feeders = new Set()));
    if (!feeders.has(client)) {
      feeders.add(client);
      let devices = this.fed.get(client);
      if (!devices) this.fed.set(client, (devices = new Set()));
      devices.add(device);
    }
    // `now` is monotonic (silence is a duration); a status carries the wall clock like every contract timestamp.
    if (this.ctx.statuses.get(device)?.state !== 'online') this.ctx.statuses.report({ device, state: 'online', ts: Date.now() });
  }

  private markStale(now: number): void {
    for (const [device, config] of this.declared) {
      const last = this.lastSeen.get(device);
      if (config.stale_after === undefined || last === undefined || now - last < config.stale_after) continue;
      this.offline(device, `no reading for ${Math.round((now - last) / 1000)} s`);
      this.lastSeen.delete(device);
    }
  }

  private offline(device: string, error: string): void {
    if (this.ctx.statuses.get(device)?.state === 'online') this.ctx.statuses.report({ device, state: 'offline', ts: Date.now(), error });
  }

  private reject(client: ClientInfo, topic: string, device: string, reasons: string[], metrics: number): void {
    if (metrics === 0) this.counts.payloadsRejected++;
    this.counts.metricsRejected += metrics;
    this.ctx.tell(client.id, topic, reasons);
    // Once per client and interval: a device stuck sending a bad payload must not flood the log.
    this.rejectLog.warn(client.id, 'ingest refused', { client: client.id, user: client.identity.user, device, reasons: reasons.join('; ') });
  }
}
