/** The `buffer:` block of a section that forwards through a durable SegmentQueue (InfluxDB, the upstream bridge). */
import { z } from 'zod';
import { duration } from '../config/duration.js';
import { size } from '../config/size.js';
import type { SegmentQueueOptions } from './segment-queue.js';

/** The schema of a `buffer:` block; each forwarder picks its own default size. */
export function bufferSchema(defaultMaxBytes: number) {
  const defaults = { max_size: defaultMaxBytes, fsync: 'interval' as const, fsync_interval: 1000 };
  return z
    .strictObject({
      /** Beyond this the oldest entries are dropped (counted, logged, reported in health). */
      max_size: size({ min: 64 * 1024 }).default(defaults.max_size),
      /** always: fsync before an entry counts as accepted; interval: at most fsync_interval of entries at risk on power loss. */
      fsync: z.enum(['always', 'interval', 'never']).default(defaults.fsync),
      fsync_interval: duration({ min: 10 }).default(defaults.fsync_interval),
    })
    .default(defaults);
}

export type BufferConfig = z.output<ReturnType<typeof bufferSchema>>;

/** The SegmentQueue options a `buffer:` block stands for. */
export function queueOptions(buffer: BufferConfig): SegmentQueueOptions {
  return { maxBytes: buffer.max_size, fsync: buffer.fsync, fsyncIntervalMs: buffer.fsync_interval };
}
