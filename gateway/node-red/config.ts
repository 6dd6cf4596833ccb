/** The `node_red:` section: operators' flows in a supervised Node-RED child, its editor at /red/ behind the gateway's login. */
import { z } from 'zod';
import { isLoopback } from '../broker/config.js';
import { duration } from '../config/duration.js';
import { size } from '../config/size.js';

const MB = 1024 * 1024;

const heartbeatSchema = z
  .strictObject({
    /** How often the child's event loop reports in. */
    interval: duration({ min: 100 }).default(1000),
    /** Silence after which the child counts as hung (an operator's `while(true){}`) and is killed and restarted. */
    timeout: duration({ min: 500 }).default(5000),
  })
  .refine((beat) => beat.timeout > beat.interval, { message: 'timeout must be longer than interval', path: ['timeout'] });

export const nodeRedSchema = z.strictObject({
  /**
   * Off by default: a Node-RED child holds about 110 MB; turn it on where operators build flows. It starts once the
   * data path runs, so it never delays readings.
   */
  enabled: z.boolean().default(false),
  /**
   * Encrypts the credentials of deployed flows (give it with ${NODE_RED_CREDENTIAL_SECRET}). Required when the HTTP
   * server is reachable from the network; on loopback Node-RED keeps a generated one in its user dir.
   */
  credential_secret: z
    .string()
    // A custom issue: the standard one would quote the secret back into the log.
    .refine((secret) => secret.length >= 16, 'is shorter than 16 characters: use a random secret, e.g. `openssl rand -hex 24`')
    .optional(),
  /** V8 heap cap of the child (--max-old-space-size): a flow that hoards memory dies there, not the gateway. */
  max_old_space: size({ min: 32 * MB }).default(256 * MB),
  /** Resident memory beyond which the child is restarted (read from /proc every heartbeat interval). */
  max_rss: size({ min: 64 * MB }).default(512 * MB),
  heartbeat: heartbeatSchema.default({ interval: 1000, timeout: 5000 }),
  /**
   * How long Node-RED may take to come up (loading its nodes blocks its event loop for seconds on a small box, so the
   * heartbeat timeout applies only once it runs); past this it is killed and started again.
   */
  start_timeout: duration({ min: 1000 }).default(60_000),
  /** Wait before restarting a child that crashed, hung or outgrew its memory: doubling from `initial` up to `max`. */
  restart: z.strictObject({ initial: duration({ min: 100 }).default(1000), max: duration({ min: 100 }).default(60_000) }).default({ initial: 1000, max: 60_000 }),
  /**
   * Failed runs in a row (each ended within a minute) after which Node-RED starts in safe mode: the editor works, the
   * flows stay stopped until an operator deploys a fix.
   */
  safe_mode_after: z.number().int().min(1).default(3),
});

export type NodeRedConfig = z.output<typeof nodeRedSchema>;

/**
 * The gateway nodes log in with the gateway's internal identity, which only loopback listeners accept; and off
 * loopback the flows' credentials need a secret of the operator's, not one Node-RED generates beside them.
 */
export function checkNodeRed(
  config: { node_red: NodeRedConfig; http: { enabled: boolean; listen: { host: string } }; mqtt: { listeners: readonly { type: string; host: string }[] } },
  ctx: z.RefinementCtx,
): void {
  const { node_red: nodeRed, http } = config;
  if (!nodeRed.enabled) return;
  if (!config.mqtt.listeners.some((listener) => listener.type === 'tcp' && isLoopback(listener.host))) {
    ctx.addIssue({
      code: 'custom',
      path: ['node_red', 'enabled'],
      message: 'the gateway nodes of Node-RED reach the broker on a plain MQTT listener on loopback: add { host: 127.0.0.1, port: 1883 } to mqtt.listeners',
    });
  }
  if (nodeRed.credential_secret !== undefined || !http.enabled || isLoopback(http.listen.host)) return;
  ctx.addIssue({
    code: 'custom',
    path: ['node_red', 'credential_secret'],
    message: `the Node-RED editor would be reachable from the network ("${http.listen.host}"): give credential_secret: \${NODE_RED_CREDENTIAL_SECRET} so deployed credentials are encrypted with a secret of yours`,
  });
}
