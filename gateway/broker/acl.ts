import type { Topics } from '../contract/topics.js';

/**
 * Who a connected client is, once authenticated. Roles (CONTRACT.md, "Who may publish and subscribe"):
 * - viewer: reads everything, publishes nothing (anonymous loopback clients by default: a local script may watch, but
 *   neither command a device nor acknowledge an alert);
 * - device: publishes only under its own ingest topics and command results, reads only its own commands;
 * - staff: reads alerts and device status, acknowledges alerts;
 * - operator: reads everything, sends commands, acknowledges alerts;
 * - internal: the gateway's own helpers (Node-RED): reads everything, may also ingest readings for any device.
 */
export const roles = ['viewer', 'device', 'staff', 'operator', 'internal'] as const;
export type Role = (typeof roles)[number];

export interface Identity {
  /** The user name, or "anonymous". */
  readonly user: string;
  readonly role: Role;
  /** device role: the devices it speaks for, as names or globs (`lora-north-*`). */
  readonly devices: readonly string[];
}

/**
 * The topic permissions of each role, over the contract's topics. Gateway-made topics (readings, status, alert state,
 * events) are published by the gateway alone: no role may publish there, so nobody can forge a reading or an alert.
 */
export class Acl {
  private readonly rootLevels: readonly string[];
  private readonly deviceGlobs = new Map<string, RegExp>();

  constructor(private readonly topics: Topics) {
    this.rootLevels = topics.root.split('/');
  }

  mayPublish(identity: Identity, topic: string): boolean {
    const parsed = this.topics.parse(topic);
    if (!parsed) return false;
    const { kind } = parsed;
    switch (identity.role) {
      case 'viewer':
        return false;
      case 'device':
        // ingest/{domain}/{device} and command/{device}/{point}/result for its own devices
        return (parsed.kind === 'ingest' || parsed.kind === 'command-result') && this.speaksFor(identity, parsed.device);
      case 'staff':
        return kind === 'alert-ack';
      case 'operator':
        return kind === 'alert-ack' || kind === 'command';
      case 'internal':
        return kind === 'alert-ack' || kind === 'command' || kind === 'ingest';
    }
  }

  /**
   * Whether the client may subscribe to the filter. Only filters that can match a contract topic (under the site
   * root) are granted: anything else could never receive a message, and a misconfigured client learns so at once
   * (SUBACK 0x80) instead of waiting in silence; it also keeps aedes' own `$SYS` topics private.
   */
  maySubscribe(identity: Identity, filter: string, clientId: string): boolean {
    switch (identity.role) {
      case 'viewer':
      case 'operator':
      case 'internal':
        return this.reachesRoot(filter);
      case 'staff':
        return [this.topics.allUnder('alerts'), this.topics.allUnder('status'), this.topics.allUnder('events'), this.topics.clientErrors(clientId)].some((allowed) => filterWithin(filter, allowed));
      case 'device': {
        if (filter === this.topics.clientErrors(clientId)) return true;
        // command/{device}/{point}: the device level must be literal, so a wildcard cannot reach other devices' commands.
        const command = this.topics.parse(filter);
        return command?.kind === 'command' && !isWildcard(command.device) && command.point !== '#' && this.speaksFor(identity, command.device);
      }
    }
  }

  /** Whether a device-role identity may speak for this device name. */
  speaksFor(identity: Identity, device: string): boolean {
    return identity.devices.some((pattern) => this.globOf(pattern).test(device));
  }

  /** Whether the filter matches some topic below the site root. */
  private reachesRoot(filter: string): boolean {
    const levels = filter.split('/');
    for (let i = 0; i < this.rootLevels.length; i++) {
      const level = levels[i];
      if (level === '#') return true;
      if (level === undefined || (level !== '+' && level !== this.rootLevels[i])) return false;
    }
    return levels.length > this.rootLevels.length;
  }

  private globOf(pattern: string): RegExp {
    let glob = this.deviceGlobs.get(pattern);
    if (!glob) {
      glob = new RegExp('^' + pattern.replace(/[.+^${}()|[\]\\]/g, '\\$&').replace(/\*/g, '[^/]*').replace(/\?/g, '[^/]') + '$');
      this.deviceGlobs.set(pattern, glob);
    }
    return glob;
  }
}

function isWildcard(level: string): boolean {
  return level === '+' || level === '#';
}

/**
 * Whether every topic the subscription filter matches is also matched by the allowed filter. Runs for every message a
 * subscriber is sent and every publish a watcher sees, so it walks both strings in place instead of splitting them.
 */
export function filterWithin(filter: string, allowed: string): boolean {
  // The start of the current level in each string; past the end once its last level is done.
  let f = 0;
  let a = 0;
  while (f <= filter.length) {
    if (a > allowed.length) return false;
    const fEnd = levelEnd(filter, f);
    const aEnd = levelEnd(allowed, a);
    if (aEnd - a === 1 && allowed.charCodeAt(a) === HASH) return true;
    if (fEnd - f === 1 && filter.charCodeAt(f) === HASH) return false;
    if (!(aEnd - a === 1 && allowed.charCodeAt(a) === PLUS) && !sameLevel(filter, f, fEnd, allowed, a, aEnd)) return false;
    f = fEnd + 1;
    a = aEnd + 1;
  }
  // Same number of levels; or `a/#` also matching `a` itself [MQTT-4.7.1-2].
  return a > allowed.length || (allowed.length - a === 1 && allowed.charCodeAt(a) === HASH);
}

const HASH = 0x23;
const PLUS = 0x2b;

function levelEnd(topic: string, start: number): number {
  const end = topic.indexOf('/', start);
  return end < 0 ? topic.length : end;
}

function sameLevel(x: string, xStart: number, xEnd: number, y: string, yStart: number, yEnd: number): boolean {
  if (xEnd - xStart !== yEnd - yStart) return false;
  for (let i = 0; i < xEnd - xStart; i++) if (x.charCodeAt(xStart + i) !== y.charCodeAt(yStart + i)) return false;
  return true;
}
