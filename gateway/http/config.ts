/** The `http:` section of the config: the status page, the API and /metrics on one port. */
import { z } from 'zod';
import { isLoopback } from '../broker/config.js';
import { duration } from '../config/duration.js';

const listenSchema = z.strictObject({
  host: z.string().min(1).default('127.0.0.1'),
  /** 0 asks the kernel for a free port (tests). */
  port: z.number().int().min(0).max(65535).default(8080),
});

export const httpSchema = z
  .strictObject({
    /** Off: no HTTP server at all (benchmarks, or a box watched only over MQTT). */
    enabled: z.boolean().default(true),
    listen: listenSchema.default(listenSchema.parse({})),
    /** Server certificate files (PEM), relative to the config file: the server speaks https:// only. */
    tls: z.strictObject({ cert: z.string().min(1), key: z.string().min(1) }).optional(),
    /**
     * Serve plain http:// on an address other than loopback: passwords and session cookies then cross the network in
     * the clear. Only behind a TLS-terminating proxy on a trusted segment.
     */
    allow_plain_off_loopback: z.boolean().default(false),
    /** Requests without credentials from a loopback address may read (role viewer); never from the network. */
    allow_anonymous: z.boolean().default(false),
    /** How long a login (session cookie or token) lasts without being used. */
    session_lifetime: duration({ min: 60_000 }).default(8 * 3_600_000),
    /** Sessions held at most; the least recently used goes first. */
    max_sessions: z.number().int().min(1).max(100_000).default(1000),
    /** Refused logins per remote address: `attempts` at once, then one per `per`/`attempts`; beyond, 429 with Retry-After. */
    login_limit: z
      .strictObject({ attempts: z.number().int().min(1).default(10), per: duration({ min: 1000 }).default(60_000) })
      .default({ attempts: 10, per: 60_000 }),
    /** A bearer token for Prometheus to scrape /metrics with (give it with ${ENV}); operators may scrape too. */
    metrics_token: z
      .string()
      // A custom issue: the standard one would quote the secret back into the log.
      .refine((token) => token.length >= 16, 'is shorter than 16 characters: use a random token, e.g. `openssl rand -hex 24`')
      .optional(),
    /** Live events (/api/events): reading batches per second per client at most, and clients at most. */
    events: z
      .strictObject({ max_rate: z.number().min(0.1).max(50).default(4), max_clients: z.number().int().min(1).max(1000).default(50), uplink_interval: duration({ min: 500 }).default(5000) })
      .default({ max_rate: 4, max_clients: 50, uplink_interval: 5000 }),
  })
  .superRefine((http, ctx) => {
    if (!http.enabled || isLoopback(http.listen.host) || http.tls || http.allow_plain_off_loopback) return;
    ctx.addIssue({
      code: 'custom',
      path: ['listen', 'host'],
      message: `"${http.listen.host}" is reachable from the network, where logins and session cookies must not travel in the clear: give tls (cert and key), bind to 127.0.0.1, or set allow_plain_off_loopback: true behind a TLS proxy`,
    });
  });

export type HttpConfig = z.output<typeof httpSchema>;
