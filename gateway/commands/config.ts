/** The `commands:` section: how commands to the devices the gateway polls are judged and audited. */
import { z } from 'zod';
import { duration } from '../config/duration.js';
import { size } from '../config/size.js';

const DEFAULTS = { max_age: 10_000, max_pending: 8, audit_max_size: 4 * 1024 * 1024, audit_keep: 5 };

export const commandsSchema = z
  .strictObject({
    /**
     * A command whose `ts` is further than this from the gateway's clock is refused as stale (MQTT carries no send
     * time: a command queued in a client during an outage would otherwise run long after it was meant). A command
     * without `ts` counts as fresh unless it is retained.
     */
    max_age: duration({ min: 100 }).default(DEFAULTS.max_age),
    /** Commands waiting per device beyond which new ones are refused (counted as `busy`). */
    max_pending: z.number().int().min(1).max(1000).default(DEFAULTS.max_pending),
    /** The audit log `data_dir/audit/commands.jsonl` is rotated once it would grow past this. */
    audit_max_size: size({ min: 4096 }).default(DEFAULTS.audit_max_size),
    /** Rotated audit files kept beside it (`commands.1.jsonl` the newest). */
    audit_keep: z.number().int().min(1).max(100).default(DEFAULTS.audit_keep),
  })
  .default(DEFAULTS);

export type CommandsConfig = z.output<typeof commandsSchema>;
