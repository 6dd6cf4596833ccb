/**
 * The `notifiers:` section: a mapping of name → notifier. Types are derived from the schemas (z.output), and every
 * object is strict so a misspelt key is an error rather than a silently ignored setting.
 */
import { z } from 'zod';
import { join } from 'node:path';
import { duration } from '../../config/duration.js';
import { size } from '../../config/size.js';
import { silentLogger, type Logger } from '../../util/log.js';
import type { Notifier } from '../alert.js';
import type { NotifierTarget } from './dispatcher.js';
import { EmailNotifier } from './email.js';
import { SIGNATURE_HEADER, TIMESTAMP_HEADER, WebhookNotifier } from './webhook.js';

/** Zod reports a bad record key as "Invalid key in record"; the key's own message says what is wrong with it. */
function keyProblem(issue: z.core.$ZodRawIssue): string | undefined {
  return issue.code === 'invalid_key' ? issue.issues[0]?.message : undefined;
}

/** MQTT publication of alerts always happens; a notifier of that name would read as if it could be turned off. */
const RESERVED_NAME = 'mqtt';

const notifierName = z
  .string()
  .regex(/^[A-Za-z0-9_.-]+$/, 'a notifier name is letters, digits, "_", "-" or "."')
  .refine((name) => name !== RESERVED_NAME, {
    message: `"${RESERVED_NAME}" is reserved: alerts are always published on MQTT, name this notifier otherwise`,
  });

/** Headers the webhook notifier sets itself; letting the config set them would break the body or the signature. */
const notifierOwnedHeaders = ['content-type', 'content-length', 'host', SIGNATURE_HEADER.toLowerCase(), TIMESTAMP_HEADER.toLowerCase()];

const headerName = z
  .string()
  .regex(/^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/, 'is not an HTTP header name')
  .refine((name) => !notifierOwnedHeaders.includes(name.toLowerCase()), { message: 'is set by the notifier itself' });

const DEFAULT_OUTBOX = { max_size: 1024 ** 2, max_age: 24 * 3_600_000 };

/** The notifier's durable outbox under data_dir/alerts/outbox/<name>/: what it may hold, and for how long. */
const outboxSchema = z
  .strictObject({
    /** Beyond this the oldest of the least severe notifications are dropped (counted, logged). About 1,700 events a MiB. */
    max_size: size({ min: 64 * 1024 }).default(DEFAULT_OUTBOX.max_size),
    /** A notification undelivered this long is given up (counted, logged) rather than sent as if new. */
    max_age: duration({ min: 1000 }).default(DEFAULT_OUTBOX.max_age),
  })
  .default(DEFAULT_OUTBOX);

export const webhookNotifierSchema = z
  .strictObject({
    type: z.literal('webhook'),
    url: z.url({ protocol: /^https?$/, error: 'must be an http:// or https:// URL' }),
    /** Signs each request (see webhook.ts) so the receiver can tell the gateway's requests from forged ones. */
    secret: z.string().min(1, 'must not be empty (is the environment variable set?)').optional(),
    /** Bound of one request, connection included. */
    timeout: duration({ min: 100 }).default(10_000),
    headers: z.record(headerName, z.string().regex(/^[^\r\n]*$/, 'must be on one line'), { error: keyProblem }).default({}),
    outbox: outboxSchema,
  })
  .superRefine((webhook, ctx) => {
    const hasCredentials = URL.canParse(webhook.url) && new URL(webhook.url).username !== '';
    const hasAuthorization = Object.keys(webhook.headers).some((name) => name.toLowerCase() === 'authorization');
    if (hasCredentials && hasAuthorization) {
      ctx.addIssue({ code: 'custom', path: ['headers'], message: 'Authorization is already given by the credentials in url (keep one of the two)' });
    }
  });
export type WebhookNotifierConfig = z.output<typeof webhookNotifierSchema>;

/** "gateway@example.org" or "Water duty <duty@example.org>". */
const mailbox = z
  .string()
  .regex(/^(?:[^<>\r\n]*<[^\s@<>]+@[^\s@<>]+>|[^\s@<>]+@[^\s@<>]+)$/, 'is not a mail address (e.g. duty@example.org or "Duty <duty@example.org>")');

export const emailNotifierSchema = z
  .strictObject({
    type: z.literal('email'),
    host: z.string().min(1),
    /** Defaults to 465 with secure, 587 (submission) otherwise. */
    port: z.number().int().min(1).max(65535).optional(),
    /** TLS from the first byte (usually port 465). */
    secure: z.boolean().default(false),
    /** Refuse to send unless the server upgrades the connection with STARTTLS: credentials and alerts never go out in clear. */
    require_tls: z.boolean().default(true),
    username: z.string().min(1).optional(),
    password: z.string().optional(),
    from: mailbox,
    to: z.array(mailbox).min(1, 'list at least one recipient'),
    /** Bound of each step: connecting, waiting for the greeting, and any silence on the socket. */
    timeout: duration({ min: 100 }).default(10_000),
    outbox: outboxSchema,
  })
  .superRefine((email, ctx) => {
    if ((email.username === undefined) !== (email.password === undefined)) {
      ctx.addIssue({ code: 'custom', path: [email.username === undefined ? 'username' : 'password'], message: 'username and password go together' });
    }
  });
export type EmailNotifierConfig = z.output<typeof emailNotifierSchema>;

export const notifierSchema = z.discriminatedUnion('type', [webhookNotifierSchema, emailNotifierSchema]);
export type NotifierConfig = z.output<typeof notifierSchema>;

export const notifiersSchema = z.record(notifierName, notifierSchema, { error: keyProblem });
export type NotifiersConfig = z.output<typeof notifiersSchema>;

/** Builds the notifier a validated config describes; does no I/O (connections are made on the first delivery). */
export function createNotifier(name: string, config: NotifierConfig, log: Logger = silentLogger): Notifier {
  switch (config.type) {
    case 'webhook':
      return new WebhookNotifier(name, { url: config.url, secret: config.secret, timeout: config.timeout, headers: config.headers });
    case 'email':
      return new EmailNotifier(
        name,
        {
          host: config.host,
          port: config.port,
          secure: config.secure,
          requireTls: config.require_tls,
          username: config.username,
          password: config.password,
          from: config.from,
          to: config.to,
          timeout: config.timeout,
        },
        log,
      );
  }
}

/** Where the notifiers' outboxes live: one folder per notifier name. */
export function outboxRoot(dataDir: string): string {
  return join(dataDir, 'alerts', 'outbox');
}

/** The notifier with its outbox in `dataDir`/alerts/outbox/<name>/, as the dispatcher takes it. */
export function notifierTarget(name: string, config: NotifierConfig, dataDir: string, log: Logger = silentLogger): NotifierTarget {
  return {
    notifier: createNotifier(name, config, log),
    outbox: { dir: join(outboxRoot(dataDir), name), maxBytes: config.outbox.max_size, maxAge: config.outbox.max_age },
  };
}
