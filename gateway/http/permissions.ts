import type { Role } from '../broker/acl.js';

/**
 * What a request may do on the HTTP side (README, "HTTP API"):
 * - read: the device, reading, alert, link and uplink views and the live events — viewer, staff, operator;
 * - acknowledge: alerts — staff, operator (as over MQTT);
 * - operate: the whole health report — operator;
 * - command: writes to device points (POST /api/devices/{device}/points/{point}) — operator (as over MQTT);
 * - metrics: /metrics — operator, or Prometheus with `http.metrics_token`;
 * - view_flows: the Node-RED editor at /red/, read-only — staff, operator;
 * - edit_flows: deploying and changing flows in that editor — operator.
 * Device logins speak for field devices and internal ones for the gateway's helpers: neither may use the HTTP side.
 */
export type Permission = 'read' | 'acknowledge' | 'operate' | 'command' | 'metrics' | 'view_flows' | 'edit_flows';

/** A role, or `scraper`: Prometheus holding the metrics token. */
export type HttpRole = Role | 'scraper';

export interface HttpIdentity {
  readonly user: string;
  readonly role: HttpRole;
}

const granted: Record<HttpRole, readonly Permission[]> = {
  viewer: ['read'],
  staff: ['read', 'acknowledge', 'view_flows'],
  operator: ['read', 'acknowledge', 'operate', 'command', 'metrics', 'view_flows', 'edit_flows'],
  scraper: ['metrics'],
  device: [],
  internal: [],
};

export function may(role: HttpRole, permission: Permission): boolean {
  return granted[role].includes(permission);
}

/** Whether a login of this role may use the HTTP side at all. */
export function mayLogIn(role: HttpRole): boolean {
  return granted[role].length > 0 && role !== 'scraper';
}
