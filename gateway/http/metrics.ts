import { collectDefaultMetrics, Counter, Gauge, Registry } from 'prom-client';
import type { AlertView } from '../alerts/alerting.js';
import type { GatewayHealth } from '../health.js';
import type { HistogramSnapshot } from '../util/histogram.js';
import type { EventStreamStats } from './event-stream.js';
import type { RefusalReason } from './refusals.js';
import { field } from './views.js';

/** What /metrics reads at scrape time: the parts' own monotonic figures, never a second count of the same thing. */
export interface MetricSources {
  health(): GatewayHealth;
  alerts(): readonly AlertView[];
  http(): {
    readonly refusals: Readonly<Record<RefusalReason, number>>;
    readonly sessions: number;
    readonly events: EventStreamStats;
    /** Series the latest-readings view and the charts' history did not keep, each beyond its bound. */
    readonly seriesRefused: { readonly latest: number; readonly history: number };
  };
}

type Labels = Record<string, string>;
type Sample = readonly [labels: Labels, value: number];

/** The broker's refusal counters, by the reason label they get. */
const brokerRefusals = {
  login: 'loginsRefused',
  connection_limit: 'connectionsOverLimit',
  publish_denied: 'publishesDenied',
  subscribe_denied: 'subscriptionsDenied',
  payload_too_large: 'payloadsTooLarge',
  flood: 'floodDisconnects',
  protocol: 'protocolsRefused',
  retained_command: 'retainedCommandsRefused',
} as const;

/** Modbus link counters (drivers modbus-tcp and modbus-rtu), by metric name. */
const modbusCounters = {
  gateway_modbus_transactions_total: ['transactions', 'Modbus request/response transactions on the link.'],
  gateway_modbus_timeouts_total: ['timeouts', 'Modbus requests the slave did not answer in time.'],
  gateway_modbus_exceptions_total: ['exceptions', 'Modbus exception responses.'],
  gateway_modbus_crc_errors_total: ['malformed', 'Modbus responses that were malformed (bad CRC, wrong length or unit).'],
  gateway_modbus_link_errors_total: ['linkErrors', 'Modbus link failures (connection lost or refused).'],
  gateway_modbus_port_errors_total: ['portErrors', 'Serial port errors on a Modbus RTU bus.'],
} as const;

/**
 * How often prom-client times the event loop. Its histogram figures (`nodejs_eventloop_lag_min_seconds` to
 * `_p99_seconds`) are the intervals of a timer of this period, so each includes it: a p99 of 0.013 s means the worst 1%
 * of turns kept the loop 3 ms past the timer (prometheus/client_js#370). A 1 ms period would be closer, and would wake
 * an idle box a thousand times a second.
 */
export const EVENT_LOOP_SAMPLE_MS = 10;

/**
 * The gateway's Prometheus metrics in a registry of their own (not prom-client's global one, which any library could
 * fill), with the process metrics of prom-client beside them. Every family reads its values when scraped.
 */
export function createMetrics(sources: MetricSources): { readonly registry: Registry; scrape(): Promise<string> } {
  const registry = new Registry();
  collectDefaultMetrics({ register: registry, eventLoopMonitoringPrecision: EVENT_LOOP_SAMPLE_MS });
  let health: GatewayHealth | undefined;
  // One health report per scrape, shared by every family (each collect() runs within the same scrape).
  const current = (): GatewayHealth => (health ??= sources.health());
  const family = (kind: 'counter' | 'gauge', name: string, help: string, labelNames: readonly string[], samples: () => Iterable<Sample>): void => {
    const collect = function (this: Counter | Gauge) {
      this.reset();
      for (const [labels, value] of samples()) {
        if (!Number.isFinite(value)) continue;
        if (this instanceof Counter) this.inc(labels, value);
        else this.set(labels, value);
      }
    };
    if (kind === 'counter') new Counter({ name, help, labelNames, registers: [registry], collect });
    else new Gauge({ name, help, labelNames, registers: [registry], collect });
  };

  family('gauge', 'gateway_up', 'Whether each part of the gateway runs (1) or is being retried (0).', ['part'], () => current().services.map((s) => [{ part: s.name }, s.state === 'running' ? 1 : 0]));
  family('gauge', 'gateway_device_up', 'Whether each device is online (1) or offline (0).', ['device'], () => current().devices.map((d) => [{ device: d.device }, d.state === 'online' ? 1 : 0]));
  family('counter', 'gateway_readings_received_total', 'Readings taken in, by source (driver or MQTT ingest).', ['source'], () => Object.entries(current().pipeline.received).map(([source, n]) => [{ source }, n]));
  const queues = () => current().pipeline.sinks;
  family('counter', 'gateway_sink_readings_delivered_total', 'Readings each consumer (sink) has taken.', ['sink'], () => queues().map((q) => [{ sink: q.sink }, q.delivered]));
  family('counter', 'gateway_sink_readings_dropped_total', 'Readings a consumer lost, by reason (queue_full: it fell too far behind; failed: its write failed).', ['sink', 'reason'], () =>
    queues().flatMap((q): Sample[] => [
      [{ sink: q.sink, reason: 'queue_full' }, q.dropped],
      [{ sink: q.sink, reason: 'failed' }, q.failed],
    ]),
  );
  family('gauge', 'gateway_sink_queue_readings', 'Readings waiting in each consumer’s queue.', ['sink'], () => queues().map((q) => [{ sink: q.sink }, q.queued]));
  uplinkFamilies(family, current);
  histogramFamily(registry, 'gateway_influx_write_duration_seconds', 'Time InfluxDB took to answer each write request.', () => field(field(current().sinks.influx, 'writes'), 'latency') as HistogramSnapshot | undefined);
  family('counter', 'gateway_modbus_busy_seconds_total', 'Time each Modbus link spent in transactions; its rate is the bus utilisation.', ['driver', 'link'], () => modbusLinks(current()).map(([labels, f]) => [labels, num(f, 'busyMs') / 1000]));
  for (const [name, [key, help]] of Object.entries(modbusCounters)) family('counter', name, help, ['driver', 'link'], () => modbusLinks(current()).map(([labels, f]) => [labels, num(f, key)]));
  serialLineFamilies(family, current);
  nodeRedFamilies(family, current);
  family('counter', 'gateway_readings_suppressed_total', 'Readings report-by-exception kept from MQTT, the bridge and InfluxDB (the rules saw them), per device.', ['driver', 'device'], () => suppressedByDevice(current()));
  family('gauge', 'gateway_mqtt_clients', 'MQTT clients connected to the embedded broker.', [], () => [[{}, current().broker?.clients ?? 0]]);
  family('counter', 'gateway_mqtt_connections_total', 'MQTT connections accepted.', [], () => [[{}, current().broker?.connectionsAccepted ?? 0]]);
  family('counter', 'gateway_mqtt_refusals_total', 'MQTT logins, connections, publishes and subscriptions refused, by reason.', ['reason'], () =>
    Object.entries(brokerRefusals).map(([reason, key]) => [{ reason }, current().broker?.[key] ?? 0]),
  );
  family('counter', 'gateway_mqtt_publishes_throttled_total', 'MQTT publishes held back by the per-client rate limit.', [], () => [[{}, current().broker?.publishesThrottled ?? 0]]);
  family('counter', 'gateway_mqtt_ingest_payloads_rejected_total', 'MQTT ingest payloads refused (malformed, unknown device...).', [], () => [[{}, current().ingest?.payloadsRejected ?? 0]]);
  commandFamilies(family, current);
  family('gauge', 'gateway_alerts', 'Active alerts by state (pending, firing, acknowledged: firing and acknowledged).', ['state'], () => {
    const counts = { pending: 0, firing: 0, acknowledged: 0 };
    for (const alert of sources.alerts()) counts[alert.state === 'pending' ? 'pending' : alert.acknowledged ? 'acknowledged' : 'firing']++;
    return Object.entries(counts).map(([state, n]) => [{ state }, n]);
  });
  family('gauge', 'gateway_notifier_queue_notifications', 'Alert notifications waiting in each notifier’s outbox.', ['notifier'], () => Object.entries(current().notifiers).map(([notifier, s]) => [{ notifier }, s.queued]));
  family('counter', 'gateway_notifier_notifications_dropped_total', 'Alert notifications a notifier lost, by reason.', ['notifier', 'reason'], () =>
    Object.entries(current().notifiers).flatMap(([notifier, s]): Sample[] => [
      [{ notifier, reason: 'outbox_full' }, s.dropped],
      [{ notifier, reason: 'expired' }, s.expired],
      [{ notifier, reason: 'write_failed' }, s.write_failures],
    ]),
  );
  family('counter', 'gateway_http_refusals_total', 'HTTP requests refused, by reason.', ['reason'], () => Object.entries(sources.http().refusals).map(([reason, n]) => [{ reason }, n]));
  family('gauge', 'gateway_http_sessions', 'HTTP sessions (cookies and tokens) held.', [], () => [[{}, sources.http().sessions]]);
  family('gauge', 'gateway_http_event_clients', 'Clients of the live event stream.', [], () => [[{}, sources.http().events.clients]]);
  family('counter', 'gateway_http_view_readings_dropped_total', 'Readings the HTTP views (latest values, chart history) did not keep: their series bound was reached.', ['view'], () =>
    Object.entries(sources.http().seriesRefused).map(([view, n]) => [{ view }, n]),
  );
  family('counter', 'gateway_http_event_updates_coalesced_total', 'Reading updates replaced by a newer one before a live client took them.', [], () => [[{}, sources.http().events.coalesced]]);

  return {
    registry,
    async scrape() {
      health = undefined;
      try {
        return await registry.metrics();
      } finally {
        // Not kept between scrapes: the next one reads the parts afresh.
        health = undefined;
      }
    },
  };
}

type Family = (kind: 'counter' | 'gauge', name: string, help: string, labelNames: readonly string[], samples: () => Iterable<Sample>) => void;

/**
 * Commands to the devices the gateway polls (MQTT, the platform, HTTP), by how each ended: `failed` counts the
 * failures other than the three refusals with outcomes of their own, so the outcomes add up to the commands answered.
 */
function commandFamilies(family: Family, current: () => GatewayHealth): void {
  const stats = () => current().commands;
  family('counter', 'gateway_commands_total', 'Commands answered, by outcome (succeeded; refused as retained, stale or busy; failed for any other reason).', ['outcome'], () => {
    const c = stats();
    if (!c) return [];
    const outcomes = { succeeded: c.succeeded, retained: c.retained, stale: c.stale, busy: c.busy, failed: c.failed - c.retained - c.stale - c.busy };
    return Object.entries(outcomes).map(([outcome, n]) => [{ outcome }, n]);
  });
  family('gauge', 'gateway_commands_pending', 'Commands waiting for their device now.', [], () => [[{}, stats()?.pending ?? 0]]);
  family('counter', 'gateway_command_audit_failures_total', 'Audit log lines (one per command answered) that could not be written (a full disk).', [], () => [[{}, stats()?.auditFailures ?? 0]]);
}

/** InfluxDB and the bridge, from their own reports: backlog, delivered, drops by reason. */
function uplinkFamilies(family: Family, current: () => GatewayHealth): void {
  const uplinks = () => Object.entries(current().sinks);
  family('gauge', 'gateway_uplink_up', 'Whether each uplink delivers (InfluxDB ok, bridge connected).', ['uplink'], () => uplinks().map(([uplink, r]) => [{ uplink }, ['ok', 'connected'].includes(String(field(r, 'state'))) ? 1 : 0]));
  family('gauge', 'gateway_uplink_backlog_lines', 'Lines (InfluxDB) or messages (bridge) waiting in the durable buffer.', ['uplink'], () => uplinks().map(([uplink, r]) => [{ uplink }, num(r, 'backlog')]));
  family('gauge', 'gateway_uplink_backlog_bytes', 'Bytes waiting in the durable buffer.', ['uplink'], () => uplinks().map(([uplink, r]) => [{ uplink }, num(r, 'backlogBytes')]));
  family('gauge', 'gateway_uplink_backlog_age_seconds', 'Age of the oldest entry waiting in the durable buffer.', ['uplink'], () =>
    uplinks().flatMap(([uplink, r]): Sample[] => (typeof field(r, 'backlogAgeMs') === 'number' ? [[{ uplink }, num(r, 'backlogAgeMs') / 1000]] : [])),
  );
  family('counter', 'gateway_uplink_delivered_total', 'Lines written to InfluxDB, or messages forwarded by the bridge.', ['uplink'], () =>
    uplinks().map(([uplink, r]) => [{ uplink }, num(r, typeof field(r, 'written') === 'number' ? 'written' : 'forwarded')]),
  );
  family('counter', 'gateway_uplink_dropped_total', 'Lines or messages an uplink lost, by reason.', ['uplink', 'reason'], () =>
    uplinks().flatMap(([uplink, r]): Sample[] => {
      const by = field(r, 'droppedBy');
      if (by && typeof by === 'object') return Object.entries(by).map(([reason, n]) => [{ uplink, reason: snake(reason) }, Number(n)]);
      return [[{ uplink, reason: 'buffer_full' }, num(r, 'dropped')]];
    }),
  );
  family('counter', 'gateway_influx_dead_lettered_lines_total', 'Lines InfluxDB refused for good, kept in the dead-letter file.', [], () => [[{}, num(current().sinks.influx, 'deadLettered')]]);
  family('counter', 'gateway_influx_write_errors_total', 'InfluxDB write requests that failed, by kind (retry: unreachable or overloaded; rejected: refused lines).', ['kind'], () => {
    const failures = field(field(current().sinks.influx, 'writes'), 'failures');
    return failures && typeof failures === 'object' ? Object.entries(failures).map(([kind, n]): Sample => [{ kind }, Number(n)]) : [];
  });
  family('counter', 'gateway_influx_unexpected_errors_total', 'Unexpected errors of the InfluxDB forwarder (it pauses and carries on).', [], () => [[{}, num(current().sinks.influx, 'unexpectedErrors')]]);
}

/**
 * A histogram the gateway keeps itself (it counts whether or not anyone scrapes); prom-client's Histogram can only
 * observe, so the family is registered as a plain metric that reports those buckets as they are.
 */
function histogramFamily(registry: Registry, name: string, help: string, snapshot: () => HistogramSnapshot | undefined): void {
  const metric = {
    name,
    help,
    type: 'histogram',
    aggregator: 'sum',
    get: () => {
      const histogram = snapshot();
      const values = histogram
        ? [
            ...histogram.buckets.map((le, i) => ({ metricName: `${name}_bucket`, labels: { le }, value: histogram.counts[i] ?? 0 })),
            { metricName: `${name}_bucket`, labels: { le: '+Inf' }, value: histogram.count },
            { metricName: `${name}_sum`, labels: {}, value: histogram.sum },
            { metricName: `${name}_count`, labels: {}, value: histogram.count },
          ]
        : [];
      return { name, help, type: 'histogram', aggregator: 'sum', values };
    },
    reset: () => undefined,
  };
  registry.registerMetric(metric as unknown as Parameters<Registry['registerMetric']>[0]);
}

function serialLineFamilies(family: Family, current: () => GatewayHealth): void {
  const devices = () => Object.entries(current().drivers['serial-line'] ?? {});
  const counters = { lines: 'Lines received', malformed: 'Lines the parser refused', checksum_errors: 'Lines that failed their checksum', overlong: 'Lines longer than framing.max_line, dropped' };
  for (const [key, help] of Object.entries(counters)) {
    family('counter', `gateway_serial_${key === 'lines' ? 'lines' : `lines_${key}`}_total`, `${help}, per serial-line device.`, ['device'], () => devices().map(([device, f]) => [{ device }, num(f, key)]));
  }
  family('gauge', 'gateway_serial_port_open', 'Whether each serial-line device’s port is open.', ['device'], () => devices().map(([device, f]) => [{ device }, field(f, 'port_open') === true ? 1 : 0]));
}

/** The Node-RED child (only with `node_red.enabled`: no samples otherwise). */
function nodeRedFamilies(family: Family, current: () => GatewayHealth): void {
  const nodeRed = () => current().nodeRed;
  const one = (value: (n: NonNullable<GatewayHealth['nodeRed']>) => number | undefined) => (): Sample[] => {
    const n = nodeRed();
    const v = n && value(n);
    return v === undefined ? [] : [[{}, v]];
  };
  family('gauge', 'gateway_node_red_up', 'Whether the Node-RED child runs (1) or is starting or restarting (0).', [], one((n) => (n.state === 'running' ? 1 : 0)));
  family('gauge', 'gateway_node_red_safe_mode', 'Whether Node-RED runs in safe mode (flows stopped after repeated failed runs).', [], one((n) => (n.safeMode ? 1 : 0)));
  family('counter', 'gateway_node_red_restarts_total', 'Restarts of the Node-RED child, by reason (crashed, unresponsive, memory, failed_to_start).', ['reason'], () =>
    Object.entries(nodeRed()?.restartsBy ?? {}).map(([reason, n]) => [{ reason }, n]),
  );
  family('gauge', 'gateway_node_red_resident_memory_bytes', 'Resident memory of the Node-RED child.', [], one((n) => n.rssBytes));
  family('gauge', 'gateway_node_red_heartbeat_age_seconds', 'Time since the Node-RED child’s event loop last reported in.', [], one((n) => (n.heartbeatAgeMs === undefined ? undefined : n.heartbeatAgeMs / 1000)));
}

/** Modbus pollers keep their figures per device apart from the link's; serial-line devices are their own link. */
function suppressedByDevice(health: GatewayHealth): Sample[] {
  return [health.drivers, health.deviceFigures].flatMap((byDriver) =>
    Object.entries(byDriver).flatMap(([driver, devices]) =>
      Object.entries(devices).flatMap(([device, f]): Sample[] => (typeof field(f, 'suppressed') === 'number' ? [[{ driver, device }, num(f, 'suppressed')]] : [])),
    ),
  );
}

function modbusLinks(health: GatewayHealth): [Labels, unknown][] {
  return ['modbus-tcp', 'modbus-rtu'].flatMap((driver) => Object.entries(health.drivers[driver] ?? {}).map(([link, figures]): [Labels, unknown] => [{ driver, link }, figures]));
}

function num(report: unknown, name: string): number {
  const value = field(report, name);
  return typeof value === 'number' ? value : 0;
}

function snake(name: string): string {
  return name.replace(/[A-Z]/g, (c) => `_${c.toLowerCase()}`);
}
