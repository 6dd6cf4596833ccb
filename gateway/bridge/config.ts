/** The `bridge:` section of the config: forwarding to the city platform's central broker, and commands back down. */
import { z } from 'zod';
import { bufferSchema } from '../buffer/config.js';
import { duration } from '../config/duration.js';
import { MAX_FRAMES_IN_FLIGHT } from './publish-frames.js';
import { forwardClasses } from './routes.js';

/** MQTT carries the keep-alive in a 16-bit count of seconds. */
const MAX_KEEPALIVE_MS = 65_535_000;

/** Topic levels without wildcards, empty levels or a leading/trailing '/'. */
const topicRoot = z
  .string()
  // eslint-disable-next-line no-control-regex -- a topic name must not contain U+0000 [MQTT-4.7.3-2]
  .regex(/^[^/+#\u0000]+(\/[^/+#\u0000]+)*$/, 'must be topic levels separated by "/" (no wildcards, no empty level, no leading or trailing "/")');

export const bridgeSchema = z
  .strictObject({
    /** The central broker: mqtt://host:1883 or mqtts://host:8883. */
    url: z.url({ protocol: /^mqtts?$/, error: 'must be an mqtt:// or mqtts:// URL' }),
    /** Defaults to `gw-{site}`; must be unique on the central broker (a second client with it pushes the first out). */
    client_id: z.string().min(1).optional(),
    /** The bridge's own credentials on the central broker; in practice `${ENV_VAR}`s. Never logged. */
    username: z.string().min(1).optional(),
    password: z.string().optional(),
    /** mqtts://: the CA bundle that signs the central broker's certificate (PEM file, relative to the config file). */
    ca: z.string().min(1).optional(),
    /** mqtts://: a client certificate and its key (PEM files), when the central broker wants one. */
    cert: z.string().min(1).optional(),
    key: z.string().min(1).optional(),
    /** mqtts://: check the central broker's certificate (turn off only to diagnose). */
    reject_unauthorized: z.boolean().default(true),
    keepalive: duration({ min: 1000 })
      .refine((ms) => ms <= MAX_KEEPALIVE_MS, { message: `is too long (at most ${MAX_KEEPALIVE_MS / 1000} s)` })
      .default(30_000),
    /** Reconnect attempts back off exponentially, with jitter, from reconnect_min up to reconnect_max. */
    reconnect_min: duration({ min: 10 }).default(1000),
    reconnect_max: duration({ min: 10 }).default(60_000),
    /** Which local topics go upstream. */
    forward: z
      .array(z.enum(forwardClasses))
      .min(1, 'name at least one class (or leave the bridge out)')
      .refine((classes) => new Set(classes).size === classes.length, { message: 'names a class twice' })
      .default([...forwardClasses]),
    /** The topic root upstream, in place of the local `{prefix}/{site}` (default: the same root). */
    remote_prefix: topicRoot.optional(),
    /** Route commands from upstream (`{remote root}/command/{device}/{point}`) to local devices, within the ACL. */
    commands: z.boolean().default(true),
    /** 1: a message leaves the buffer once the central broker has acknowledged it; 0: once it is written to the socket. */
    qos: z.union([z.literal(0), z.literal(1)]).default(1),
    /** Messages sent and awaiting the central broker's acknowledgement at once: the bridge sends about this many per round trip (AWS IoT Core takes 100, Mosquitto any number). */
    inflight: z.number().int().min(1).max(MAX_FRAMES_IN_FLIGHT).default(100),
    buffer: bufferSchema(256 * 1024 ** 2),
  })
  .superRefine((bridge, ctx) => {
    const tls = bridge.url.startsWith('mqtts:');
    for (const key of ['ca', 'cert', 'key'] as const) {
      if (bridge[key] !== undefined && !tls) ctx.addIssue({ code: 'custom', path: [key], message: 'is for mqtts:// (the url says mqtt://)' });
    }
    if ((bridge.cert === undefined) !== (bridge.key === undefined)) {
      ctx.addIssue({ code: 'custom', path: [bridge.cert === undefined ? 'cert' : 'key'], message: 'cert and key go together' });
    }
    // [MQTT-3.1.2-22] a password without a user name is a protocol error.
    if (bridge.password !== undefined && bridge.username === undefined) {
      ctx.addIssue({ code: 'custom', path: ['username'], message: 'missing: a password needs a username' });
    }
    if (bridge.reconnect_max < bridge.reconnect_min) {
      ctx.addIssue({ code: 'custom', path: ['reconnect_max'], message: 'must not be shorter than reconnect_min' });
    }
  });

export type BridgeConfig = z.output<typeof bridgeSchema>;
