import cookie from '@fastify/cookie';
import formbody from '@fastify/formbody';
import { readFileSync } from 'node:fs';
import type { AddressInfo } from 'node:net';
import Fastify, { type FastifyInstance } from 'fastify';
import type { Alerting } from '../alerts/alerting.js';
import type { Authenticator } from '../broker/authenticator.js';
import type { CommandService } from '../commands/command-service.js';
import { exactJson } from '../contract/json.js';
import type { GatewayHealth } from '../health.js';
import type { DeviceStatus } from '../model.js';
import type { EditorUpstream } from '../node-red/host.js';
import type { Logger } from '../util/log.js';
import { Access } from './access.js';
import { apiRoutes } from './api-routes.js';
import { authRoutes } from './auth-routes.js';
import type { HttpConfig } from './config.js';
import { EventStream } from './event-stream.js';
import { LatestReadings } from './latest-readings.js';
import { LoginLimiter } from './login-limiter.js';
import { editorProxy } from './editor-proxy.js';
import { createMetrics } from './metrics.js';
import { pageRoutes } from './page-routes.js';
import { ReadingHistory } from './reading-history.js';
import { RecentAlerts } from './recent-alerts.js';
import { Refusals } from './refusals.js';
import { SessionStore } from './sessions.js';
import { uplinkViews, type ConfiguredDevice } from './views.js';

/** Series the latest-readings view keeps at most. */
const MAX_SERIES = 20_000;
const RECENT_ALERTS = 200;
/** The status page's charts: 10 minutes at one point a second, for up to 1000 series (about 10 MB at most). */
const HISTORY = { windowMs: 10 * 60_000, stepMs: 1000, maxSeries: 1000 } as const;
const BODY_LIMIT_BYTES = 64 * 1024;
const SESSION_SWEEP_MS = 60_000;

export interface HttpSources {
  readonly authenticator: Authenticator;
  /** The site's name (config `site`), for the page's header. */
  site(): string;
  health(): GatewayHealth;
  devices(): readonly ConfiguredDevice[];
  alerting(): Alerting | undefined;
  commands(): CommandService | undefined;
  /** The Node-RED editor's upstream while it runs, when Node-RED is on: proxied at /red/. */
  readonly editor?: () => EditorUpstream | undefined;
}

/** Where the HTTP server listens, once it does. */
export interface BoundHttp {
  readonly host: string;
  readonly port: number;
  /** http://host:port or https://host:port */
  readonly url: string;
}

/**
 * The HTTP side of the gateway on one port (fastify): /healthz and /readyz, the API, live events, /metrics and the
 * login, behind one gate (access.ts). Its consumer of readings (`latest`) is attached to the pipeline by the gateway.
 */
export class HttpServer {
  readonly latest = new LatestReadings(MAX_SERIES);
  private readonly history = new ReadingHistory(HISTORY);
  private readonly events: EventStream;
  private readonly sessions: SessionStore;
  private readonly refusals: Refusals;
  private readonly recentAlerts = new RecentAlerts(RECENT_ALERTS);
  private readonly app: FastifyInstance;
  private readonly sweeper: NodeJS.Timeout;
  private readonly uplinkTimer: NodeJS.Timeout;
  private unwatchAlerts: (() => void) | undefined;
  private boundTo: BoundHttp | undefined;

  constructor(
    private readonly config: HttpConfig,
    private readonly sources: HttpSources,
    private readonly log: Logger,
  ) {
    this.events = new EventStream({ maxRate: config.events.max_rate, maxClients: config.events.max_clients }, log);
    this.sessions = new SessionStore(config.session_lifetime, config.max_sessions);
    this.refusals = new Refusals(log);
    const access = new Access({
      authenticator: sources.authenticator,
      sessions: this.sessions,
      limiter: new LoginLimiter(config.login_limit.attempts, config.login_limit.per),
      refusals: this.refusals,
      allowAnonymous: config.allow_anonymous,
      metricsToken: config.metrics_token,
    });
    const metrics = createMetrics({
      health: () => sources.health(),
      alerts: () => sources.alerting()?.views() ?? [],
      http: () => ({
        refusals: this.refusals.stats(),
        sessions: this.sessions.size,
        events: this.events.stats(),
        seriesRefused: { latest: this.latest.stats().seriesRefused, history: this.history.stats().seriesRefused },
      }),
    });
    this.app = Fastify({ logger: false, bodyLimit: BODY_LIMIT_BYTES, ...(config.tls ? { https: { cert: readFileSync(config.tls.cert), key: readFileSync(config.tls.key) } } : {}) });
    this.app.decorateRequest('identity', undefined);
    // Readings and alerts may hold 64-bit integers (bigint), which JSON.stringify refuses: keep their digits.
    this.app.setReplySerializer((payload) => exactJson(payload));
    void this.app.register(cookie);
    void this.app.register(formbody);
    this.app.addHook('onRequest', access.gate);
    this.app.setErrorHandler(async (error: { validation?: unknown; statusCode?: number; message: string }, request, reply) => {
      if (error.validation || (error.statusCode && error.statusCode < 500)) return reply.code(error.statusCode ?? 400).send({ error: 'bad_request', reason: error.message });
      this.log.error('HTTP request failed', { method: request.method, url: request.url, user: request.identity?.user, error: error.message });
      return reply.code(500).send({ error: 'internal', reason: 'the gateway could not answer this request (see its log)' });
    });
    this.app.setNotFoundHandler({ preHandler: undefined }, async (request, reply) => reply.code(404).send({ error: 'not_found', reason: `no ${request.method} ${request.url.split('?')[0]}` }));
    authRoutes(this.app, access, this.sessions, { secure: config.tls !== undefined, lifetimeMs: config.session_lifetime });
    if (sources.editor) editorProxy(this.app, sources.editor);
    apiRoutes(this.app, { ...sources, latest: this.latest, history: this.history, recentAlerts: this.recentAlerts, events: this.events, scrapeMetrics: () => metrics.scrape() });
    pageRoutes(this.app, log);
    this.latest.watch((reading, key) => {
      this.events.reading(reading, key);
      this.history.add(reading, key);
    });
    this.sweeper = setInterval(() => this.sessions.sweep(), SESSION_SWEEP_MS);
    this.sweeper.unref();
    this.uplinkTimer = setInterval(() => this.sendUplinks(), config.events.uplink_interval);
    this.uplinkTimer.unref();
  }

  get bound(): BoundHttp | undefined {
    return this.boundTo;
  }

  async listen(): Promise<void> {
    const { host, port } = this.config.listen;
    await this.app.listen({ host, port });
    const address = this.app.server.address() as AddressInfo;
    const scheme = this.config.tls ? 'https' : 'http';
    this.boundTo = { host: address.address, port: address.port, url: `${scheme}://${address.family === 'IPv6' ? `[${address.address}]` : address.address}:${address.port}` };
    this.log.info('HTTP server ready', { url: this.boundTo.url, anonymous: this.config.allow_anonymous, metrics_token: this.config.metrics_token !== undefined });
  }

  /** Device status changes, for the live events. */
  statusChanged(status: DeviceStatus): void {
    this.events.send('status', status);
  }

  /** Follows the alerting's changes (it may start after this server when its start was retried). */
  watchAlerts(alerting: Alerting): void {
    this.unwatchAlerts?.();
    this.unwatchAlerts = alerting.watch((change) => {
      this.recentAlerts.add(change);
      this.events.send('alert', change);
    });
  }

  /** Ends the sessions of users whose login changed or went (a config reload). */
  closeSessionsOf(users: readonly string[]): number {
    return this.sessions.closeUsers(users);
  }

  async close(): Promise<void> {
    clearInterval(this.sweeper);
    clearInterval(this.uplinkTimer);
    this.unwatchAlerts?.();
    this.events.close();
    await this.app.close();
  }

  private sendUplinks(): void {
    if (this.events.stats().clients === 0) return;
    try {
      this.events.send('uplinks', uplinkViews(this.sources.health()));
    } catch (error) {
      // A timer: a failing report must not end the process, and the next tick tries again.
      this.log.error('cannot report the uplinks to live clients', { error });
    }
  }
}
