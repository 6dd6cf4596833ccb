import { z } from 'zod';
import { duration } from '../../config/duration.js';
import { size } from '../../config/size.js';

const DEFAULT_OUTBOX = { max_size: 1024 ** 2, max_age: 24 * 3_600_000 };

/** The notifier's durable outbox under data_dir/alerts/outbox/<name>/: what it may hold, and for how long. */
export const outboxSchema = z
  .strictObject({
    /** Beyond this the oldest of the least severe notifications are dropped (counted, logged). About 1,700 events a MiB. */
    max_size: size({ min: 64 * 1024 }).default(DEFAULT_OUTBOX.max_size),
    /** A notification undelivered this long is given up (counted, logged) rather than sent as if new. */
    max_age: duration({ min: 1000 }).default(DEFAULT_OUTBOX.max_age),
  })
  .default(DEFAULT_OUTBOX);
export type OutboxConfig = z.output<typeof outboxSchema>;
