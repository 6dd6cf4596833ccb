import type { FastifyInstance } from 'fastify';
import type { Alerting } from '../alerts/alerting.js';
import type { CommandService } from '../commands/command-service.js';
import { exactJson } from '../contract/json.js';
import type { GatewayHealth } from '../health.js';
import type { EventStream } from './event-stream.js';
import { prepare, sendPrepared } from './compressed.js';
import type { LatestReadings } from './latest-readings.js';
import { may } from './permissions.js';
import type { ReadingHistory } from './reading-history.js';
import type { RecentAlerts } from './recent-alerts.js';
import { deviceViews, linkViews, readiness, uplinkViews, type ConfiguredDevice } from './views.js';

export interface ApiSources {
  health(): GatewayHealth;
  devices(): readonly ConfiguredDevice[];
  alerting(): Alerting | undefined;
  commands(): CommandService | undefined;
  site(): string;
  readonly latest: LatestReadings;
  readonly history: ReadingHistory;
  readonly recentAlerts: RecentAlerts;
  readonly events: EventStream;
  scrapeMetrics(): Promise<string>;
}

/** A topic level: what rule, device and metric names are made of (CONTRACT.md, "Names"). */
const level = { type: 'string', pattern: '^[A-Za-z0-9_.-]+$', maxLength: 256 } as const;

/** The routes of the API; each names the permission it needs (see permissions.ts). */
export function apiRoutes(app: FastifyInstance, sources: ApiSources): void {
  app.get('/healthz', { config: { permission: 'open' } }, async () => ({ status: 'ok' }));

  app.get('/readyz', { config: { permission: 'read' } }, async (_request, reply) => {
    const ready = readiness(sources.health());
    return reply.code(ready.ready ? 200 : 503).send(ready);
  });

  app.get('/api/health', { config: { permission: 'operate' } }, async () => sources.health());

  app.get('/api/devices', { config: { permission: 'read' } }, async () => ({ devices: deviceViews(sources.devices(), sources.health(), sources.latest.lastReadingTimes()) }));

  app.get<{ Querystring: { domain?: string; device?: string } }>(
    '/api/readings/latest',
    { config: { permission: 'read' }, schema: { querystring: { type: 'object', additionalProperties: false, properties: { domain: level, device: level } } } },
    // Gzipped like the history: a page asks for it at every (re)connect.
    async (request, reply) => sendPrepared(request, reply, await prepare(exactJson({ readings: sources.latest.select(request.query) }), 'application/json; charset=utf-8'), 'no-store'),
  );

  app.get<{ Querystring: { domain?: string; device?: string } }>(
    '/api/readings/history',
    { config: { permission: 'read' }, schema: { querystring: { type: 'object', additionalProperties: false, properties: { domain: level, device: level } } } },
    // Minutes of points per series: gzipped (a phone on a mobile link loads it when the page opens), never cached.
    async (request, reply) => sendPrepared(request, reply, await prepare(exactJson({ series: sources.history.select(request.query) }), 'application/json; charset=utf-8'), 'no-store'),
  );

  app.get('/api/session', { config: { permission: 'read' } }, async (request) => {
    const identity = request.identity!;
    return { user: identity.user, role: identity.role, site: sources.site(), may_acknowledge: may(identity.role, 'acknowledge') };
  });

  app.get('/api/alerts', { config: { permission: 'read' } }, async () => ({ active: sources.alerting()?.views() ?? [], recent: sources.recentAlerts.list() }));

  app.post<{ Params: { rule: string; device: string; metric: string } }>(
    '/api/alerts/:rule/:device/:metric/ack',
    { config: { permission: 'acknowledge' }, schema: { params: { type: 'object', required: ['rule', 'device', 'metric'], properties: { rule: level, device: level, metric: level } } } },
    async (request, reply) => {
      const alerting = sources.alerting();
      if (!alerting) return reply.code(503).send({ error: 'unavailable', reason: 'alerting is not running' });
      const { rule, device, metric } = request.params;
      const id = `${rule}/${device}/${metric}`;
      // The gate has set the identity: the user logged in, recorded exactly as an MQTT acknowledgement records it.
      const by = request.identity?.user ?? 'unknown';
      if (!alerting.acknowledge(id, by)) return reply.code(404).send({ error: 'not_found', reason: `no active alert ${id}` });
      return { acknowledged: id, by };
    },
  );

  app.post<{ Params: { device: string; point: string }; Body: unknown }>(
    '/api/devices/:device/points/:point',
    { config: { permission: 'command' }, schema: { params: { type: 'object', required: ['device', 'point'], properties: { device: level, point: level } } } },
    async (request, reply) => {
      const commands = sources.commands();
      if (!commands) return reply.code(503).send({ error: 'unavailable', reason: 'commands are not running' });
      const { device, point } = request.params;
      // The gate has set the identity: the audit names the login, as it names an MQTT client's.
      const user = request.identity?.user ?? 'unknown';
      const sender = { user, role: request.identity?.role ?? 'unknown', client: `http:${user}`, via: 'http' as const };
      const result = commands.submit(sender, device, point, request.body);
      if (!result) return reply.code(404).send({ error: 'not_found', reason: `no device ${device} polled by the gateway (an MQTT device takes its commands over MQTT)` });
      // The body is the result as MQTT carries it; a refusal or failure is no success.
      const answer = await result;
      return reply.code(answer.ok ? 200 : 422).send(answer);
    },
  );

  app.get('/api/links', { config: { permission: 'read' } }, async () => ({ links: linkViews(sources.health()) }));

  app.get('/api/uplinks', { config: { permission: 'read' } }, async () => ({ uplinks: uplinkViews(sources.health()) }));

  app.get('/api/events', { config: { permission: 'read' } }, async (request, reply) => {
    if (!sources.events.open(reply.raw, request.identity?.user ?? 'unknown')) return reply.code(503).send({ error: 'unavailable', reason: 'too many live event clients' });
    // The stream is written to the raw response from now on; fastify must not answer it.
    return reply.hijack();
  });

  app.get('/metrics', { config: { permission: 'metrics' } }, async (_request, reply) => reply.type('text/plain; version=0.0.4; charset=utf-8').send(await sources.scrapeMetrics()));
}
