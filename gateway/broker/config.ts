/** The `mqtt:` section of the config: listeners, users and their roles, limits, ingest validation. */
import { isIP } from 'node:net';
import { z } from 'zod';
import { duration } from '../config/duration.js';
import { topicLevel } from '../config/names.js';
import { size } from '../config/size.js';
import { roles } from './acl.js';
import { parsePasswordHash } from './password.js';

const hostAndPort = (port: number) => ({
  host: z.string().min(1).default('127.0.0.1'),
  port: z.number().int().min(0).max(65535).default(port),
});

/** Server certificate files (PEM), relative to the config file. */
const tlsFiles = {
  cert: z.string().min(1),
  key: z.string().min(1),
  /** CA bundle that signs client certificates; needed for `client_certificates`. */
  ca: z.string().min(1).optional(),
  /**
   * none: clients log in with a password. optional: a client may log in with a certificate instead (its CN names the
   * user). require: a certificate signed by `ca` is needed to connect at all.
   */
  client_certificates: z.enum(['none', 'optional', 'require']).default('none'),
};

const tcpListenerSchema = z.strictObject({ type: z.literal('tcp'), ...hostAndPort(1883) });
const tlsListenerSchema = z.strictObject({ type: z.literal('tls'), ...hostAndPort(8883), ...tlsFiles });
const wsListenerSchema = z.strictObject({
  type: z.literal('ws'),
  ...hostAndPort(9001),
  path: z.string().regex(/^\//, 'must start with "/"').default('/mqtt'),
  /** With cert and key the listener speaks wss:// (TLS); without, plain ws:// (keep that on loopback or behind a proxy). */
  cert: tlsFiles.cert.optional(),
  key: tlsFiles.key.optional(),
  ca: tlsFiles.ca,
  client_certificates: tlsFiles.client_certificates,
});

const listenerSchema = z
  .discriminatedUnion('type', [tcpListenerSchema, tlsListenerSchema, wsListenerSchema])
  .superRefine((listener, ctx) => {
    if (listener.type === 'tcp') return;
    const tls = listener.cert !== undefined || listener.key !== undefined;
    if (listener.type === 'ws' && tls && (listener.cert === undefined || listener.key === undefined)) {
      ctx.addIssue({ code: 'custom', path: [listener.cert === undefined ? 'cert' : 'key'], message: 'cert and key go together (both for wss://, neither for ws://)' });
    }
    if (listener.client_certificates !== 'none' && listener.ca === undefined) {
      ctx.addIssue({ code: 'custom', path: ['ca'], message: `missing: client_certificates: ${listener.client_certificates} needs the CA that signs the client certificates` });
    }
    if (listener.type === 'ws' && !tls && listener.client_certificates !== 'none') {
      ctx.addIssue({ code: 'custom', path: ['client_certificates'], message: 'needs TLS: give the listener cert and key (wss://)' });
    }
  });

// The input may leave `type` out (a plain TCP listener, as in earlier configs).
const listenerInput = z.preprocess((value) => (value && typeof value === 'object' && !('type' in value) ? { ...value, type: 'tcp' } : value), listenerSchema);
export type ListenerConfig = z.output<typeof listenerSchema>;

const passwordHash = z.string().transform((text, ctx) => {
  try {
    parsePasswordHash(text);
  } catch (error) {
    ctx.addIssue({ code: 'custom', message: (error as Error).message });
    return z.NEVER;
  }
  return text;
});

const userSchema = z
  .strictObject({
    username: z.string().min(1).max(256),
    /** scrypt hash made with `npm run --silent hash-password`; without it the user can only log in with a client certificate. */
    password_hash: passwordHash.optional(),
    role: z.enum(roles),
    /** device role: the devices this login publishes for, as names or globs (`lora-north-*`); default: its username. */
    devices: z.array(z.string().regex(/^[A-Za-z0-9_.*?-]+$/, 'device names or globs with * and ?')).min(1).optional(),
  })
  .superRefine((user, ctx) => {
    if (user.devices && user.role !== 'device') ctx.addIssue({ code: 'custom', path: ['devices'], message: `is for role device (this user is ${user.role})` });
  })
  .transform((user) => ({ ...user, devices: user.devices ?? (user.role === 'device' ? [user.username] : []) }));
export type UserConfig = z.output<typeof userSchema>;

const limitsSchema = z.strictObject({
  /** Connected clients at most; more are refused with "server unavailable". */
  max_connections: z.number().int().min(1).default(5000),
  /** Largest publish payload accepted; a larger one is refused (told on the client's error topic). */
  max_payload: size({ min: 64 }).default(256 * 1024),
  /** Publishes per second per client, with bursts of up to `publish_burst`; beyond it the client is slowed down. */
  publish_rate: z.number().min(0.1).default(200),
  publish_burst: z.number().int().min(1).default(1000),
  /** A client that keeps flooding until it is this far behind its allowance is disconnected. */
  max_throttle: duration({ min: 100 }).default(10_000),
});

const ingestSchema = z.strictObject({
  max_metrics: z.number().int().min(1).max(10_000).default(256),
  max_string: z.number().int().min(1).default(1024),
  /** How far a device's clock may run ahead before its timestamps are refused. */
  max_future: duration().default(5 * 60_000),
  /** How old a timestamp may be: a device that stored readings during an outage sends them late. */
  max_age: duration({ min: 1000, max: Number.MAX_SAFE_INTEGER }).default(30 * 24 * 3_600_000),
});

export const mqttSchema = z
  .strictObject({
    prefix: topicLevel.default('city'),
    listeners: z.array(listenerInput).min(1).default([{ type: 'tcp', host: '127.0.0.1', port: 1883 }]),
    /** Clients without credentials, on loopback listeners only (never on a network-facing one). */
    allow_anonymous: z.boolean().default(true),
    /** viewer: they may watch everything and publish nothing; any local process can connect anonymously. */
    anonymous_role: z.enum(roles).default('viewer'),
    users: z.array(userSchema).default([]),
    /** What a publish the ACL refuses gets: `ignore` acknowledges and drops it (as Mosquitto does); `disconnect` closes the connection. */
    deny_action: z.enum(['ignore', 'disconnect']).default('ignore'),
    limits: limitsSchema.default(limitsSchema.parse({})),
    ingest: ingestSchema.default(ingestSchema.parse({})),
    /** A subscriber that does not drain its socket within this time is disconnected, so it cannot stall others. */
    drain_timeout: duration({ min: 100 }).default(5000),
  })
  .superRefine((mqtt, ctx) => {
    const seen = new Map<string, number>();
    mqtt.users.forEach((user, index) => {
      const first = seen.get(user.username);
      if (first !== undefined) ctx.addIssue({ code: 'custom', path: ['users', index, 'username'], message: `"${user.username}" is already users[${first}] (one entry per user)` });
      else seen.set(user.username, index);
    });
    const certificates = mqtt.listeners.some((l) => l.type !== 'tcp' && l.client_certificates !== 'none');
    mqtt.users.forEach((user, index) => {
      if (!user.password_hash && !certificates) {
        ctx.addIssue({ code: 'custom', path: ['users', index, 'password_hash'], message: 'missing: make one with `npm run --silent hash-password` (or log in with client certificates on a TLS listener)' });
      }
    });
    mqtt.listeners.forEach((listener, index) => {
      if (isLoopback(listener.host) || mqtt.users.length > 0) return;
      ctx.addIssue({
        code: 'custom',
        path: ['listeners', index, 'host'],
        message: `"${listener.host}" is reachable from the network, where anonymous clients are refused, and no users are configured (add users, or bind to 127.0.0.1)`,
      });
    });
  });
export type MqttConfig = z.output<typeof mqttSchema>;

export function isLoopback(host: string): boolean {
  if (host === 'localhost') return true;
  if (isIP(host) === 4) return host.startsWith('127.');
  return host === '::1';
}
