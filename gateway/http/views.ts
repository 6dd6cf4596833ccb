/** What the API shows, made from the gateway's health report: pure functions, unit-testable without a server. */
import type { GatewayHealth } from '../health.js';

export interface ConfiguredDevice {
  readonly name: string;
  readonly driver: string;
  readonly domain?: string;
}

export interface Readiness {
  readonly ready: boolean;
  /** Parts not running (any), and uplinks not delivering: what an operator should look at. */
  readonly degraded: readonly { readonly part: string; readonly state: string; readonly error?: string }[];
}

/** Ready: every essential part and every driver runs (so the broker listens, the buffer is open, devices are polled). */
export function readiness(health: GatewayHealth): Readiness {
  const drivers = new Set(Object.keys(health.drivers));
  const degraded: { part: string; state: string; error?: string }[] = [];
  let ready = health.services.length > 0;
  for (const part of health.services) {
    if (part.state === 'running') continue;
    if (part.essential || drivers.has(part.name)) ready = false;
    degraded.push({ part: part.name, state: part.state, ...(part.error === undefined ? {} : { error: part.error }) });
  }
  for (const [name, report] of Object.entries(health.sinks)) {
    const state = field(report, 'state');
    if (typeof state === 'string' && !['ok', 'connected'].includes(state)) {
      const error = field(report, 'lastError');
      degraded.push({ part: name, state, ...(typeof error === 'string' ? { error } : {}) });
    }
  }
  return { ready, degraded };
}

/** Each configured device: its driver, link, state, last reading, poll latency and error counts. */
export function deviceViews(devices: readonly ConfiguredDevice[], health: GatewayHealth, lastReadings: ReadonlyMap<string, number>) {
  const statuses = new Map(health.devices.map((status) => [status.device, status]));
  return devices.map((device) => {
    const status = statuses.get(device.name);
    const figures = health.deviceFigures[device.driver]?.[device.name] ?? health.drivers[device.driver]?.[device.name];
    const lastPollMs = field(figures, 'lastPollMs');
    return {
      name: device.name,
      driver: device.driver,
      domain: device.domain,
      link: field(figures, 'link'),
      state: status?.state ?? 'unknown',
      since: status?.ts,
      error: status?.error,
      last_reading: lastReadings.get(device.name),
      poll_latency_ms: typeof lastPollMs === 'number' ? Math.round(lastPollMs * 10) / 10 : undefined,
      figures,
    };
  });
}

/** Bus and link statistics, per driver and link (Modbus endpoints and buses) or device (serial lines). */
export function linkViews(health: GatewayHealth) {
  return Object.entries(health.drivers).flatMap(([driver, links]) => Object.entries(links).map(([link, figures]) => ({ driver, link, ...(figures as object) })));
}

/** The uplinks (InfluxDB, the bridge) as their parts report them: state, backlog lines/bytes/age, last error. */
export function uplinkViews(health: GatewayHealth) {
  return Object.entries(health.sinks).map(([name, report]) => ({
    name,
    state: field(report, 'state'),
    backlog_lines: field(report, 'backlog'),
    backlog_bytes: field(report, 'backlogBytes'),
    backlog_age_ms: field(report, 'backlogAgeMs'),
    last_error: field(report, 'lastError'),
    report,
  }));
}

/** A field of a report the part types for itself (`unknown` here). */
export function field(report: unknown, name: string): unknown {
  return report !== null && typeof report === 'object' ? (report as Record<string, unknown>)[name] : undefined;
}
