/**
 * The `notifiers:` section: a mapping of name → notifier. Types are derived from the schemas (z.output), and every
 * object is strict so a misspelt key is an error rather than a silently ignored setting.
 */
import { join } from 'node:path';
import { z } from 'zod';
import { keyProblem } from '../../config/errors.js';
import { silentLogger, type Logger } from '../../util/log.js';
import type { Notifier } from '../alert.js';
import type { NotifierTarget } from './dispatcher.js';
import type { NotifierConfigBase } from './kind.js';
import { notifierKinds } from './kinds.js';

/** MQTT publication of alerts always happens; a notifier of that name would read as if it could be turned off. */
const RESERVED_NAME = 'mqtt';

const notifierName = z
  .string()
  .regex(/^[A-Za-z0-9_.-]+$/, 'a notifier name is letters, digits, "_", "-" or "."')
  .refine((name) => name !== RESERVED_NAME, {
    message: `"${RESERVED_NAME}" is reserved: alerts are always published on MQTT, name this notifier otherwise`,
  });

const [firstKind, ...otherKinds] = notifierKinds;
export const notifierSchema = z.discriminatedUnion('type', [firstKind.schema, ...otherKinds.map((kind) => kind.schema)]);
export type NotifierConfig = NotifierConfigBase;

export const notifiersSchema = z.record(notifierName, notifierSchema, { error: keyProblem });
export type NotifiersConfig = z.output<typeof notifiersSchema>;

/** Builds the notifier a validated config describes, by its kind; does no I/O (connections are made on the first delivery). */
export function createNotifier(name: string, config: NotifierConfig, log: Logger = silentLogger): Notifier {
  for (const kind of notifierKinds) {
    const notifier = kind.create(name, config, log);
    if (notifier) return notifier;
  }
  throw new Error(`notifier ${name}: no notifier of type ${config.type}`);
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
