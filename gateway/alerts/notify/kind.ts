import type { z } from 'zod';
import type { Logger } from '../../util/log.js';
import type { Notifier } from '../alert.js';
import type { OutboxConfig } from './outbox-config.js';

/** What every notifier's config has: its `type:` and its outbox. */
export interface NotifierConfigBase {
  readonly type: string;
  readonly outbox: OutboxConfig;
}

/** A kind of notifier, registered by its `type:` in kinds.ts: its config schema and how to build one. */
export interface NotifierKind<Config extends NotifierConfigBase> {
  readonly type: Config['type'];
  /** A strict object with `type: z.literal(...)`, composed into the `notifiers:` schema. */
  readonly schema: z.ZodType<Config> & z.core.$ZodTypeDiscriminable;
  /** Builds the notifier; does no I/O (connections are made on the first delivery). */
  create(name: string, config: Config, log: Logger): Notifier;
}

/** A kind among kinds of every type. */
export interface RegisteredNotifierKind {
  readonly type: string;
  readonly schema: z.ZodType<NotifierConfigBase> & z.core.$ZodTypeDiscriminable;
  create(name: string, config: NotifierConfigBase, log: Logger): Notifier | undefined;
}

/** Registers a kind: `create` is called only with configs its own schema parsed (their `type:` says so). */
export function registerNotifierKind<Config extends NotifierConfigBase>(kind: NotifierKind<Config>): RegisteredNotifierKind {
  const isConfig = (config: NotifierConfigBase): config is Config => config.type === kind.type;
  return {
    type: kind.type,
    schema: kind.schema,
    create: (name, config, log) => (isConfig(config) ? kind.create(name, config, log) : undefined),
  };
}
