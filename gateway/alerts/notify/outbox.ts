/**
 * One notifier's durable outbox: the notifications it still owes, on disk under `<dir>/<severity>/`, one segment
 * queue (gateway/buffer/segment-queue.ts) per severity. The head of the most severe non-empty queue goes first, so
 * when a target comes back after an outage, staff hear about critical alerts before the backlog of warnings; within
 * a severity the order is the order of events. An entry is forgotten only when `commit` says the target has it, so
 * a restart (or kill -9) resends what was not yet accepted: at least once, exactly once unless the gateway dies
 * between the target's acceptance and the commit.
 */
import { join } from 'node:path';
import { SegmentQueue, type Batch } from '../../buffer/segment-queue.js';
import { exactJson } from '../../contract/json.js';
import type { Logger } from '../../util/log.js';
import type { AlertEvent, Severity } from '../alert.js';

/** Most severe first: the order in which the queues are served. */
export const SEVERITY_ORDER: readonly Severity[] = ['critical', 'warning', 'info'];

/** One notification as it is stored: snake_case, as an operator reading the files sees it. */
export interface Notification {
  /** Unique per event, the same for every target: what a receiver deduplicates on. */
  readonly event_id: string;
  /** Epoch ms when it was first queued, for max_age. */
  readonly queued_at: number;
  readonly event: AlertEvent;
}

/** A notification read from the head of its queue; hand it back to `commit` once the target has it. */
export interface OutboxEntry {
  readonly notification: Notification;
  readonly severity: Severity;
  readonly batch: Batch;
}

export interface OutboxOptions {
  /** Bound of the notifications held (bytes as stored); beyond it the oldest of the least severe are dropped. */
  readonly maxBytes: number;
}

export interface OutboxStats {
  readonly queued: number;
  readonly queued_bytes: number;
  readonly queued_by_severity: Record<Severity, number>;
  /** Entries the segment queues shed themselves (their own safety limit), beyond those `shed` returned. */
  readonly segment_drops: number;
}

/**
 * Each queue's own limit is a safety net above the outbox bound (which `shed` keeps): a queue's files may exceed
 * its backlog by the committed part of its oldest segment.
 */
const SEGMENT_LIMIT_FACTOR = 2;

export class NotificationOutbox {
  private constructor(
    readonly dir: string,
    private readonly queues: ReadonlyMap<Severity, SegmentQueue>,
    private readonly opts: OutboxOptions,
  ) {}

  /** Opens (creating them if needed) the queues in `dir`, with what an earlier run left in them. */
  static open(dir: string, opts: OutboxOptions, log: Logger): NotificationOutbox {
    const queues = new Map<Severity, SegmentQueue>();
    try {
      for (const severity of SEVERITY_ORDER) {
        // Alerts are rare and precious: each is on disk before it counts as queued (appends in a burst share an fsync).
        const queue = SegmentQueue.open(join(dir, severity), { maxBytes: opts.maxBytes * SEGMENT_LIMIT_FACTOR, fsync: 'always', fsyncIntervalMs: 1000 }, log);
        queues.set(severity, queue);
      }
    } catch (error) {
      // Release the locks of the queues already open, so the caller may try again.
      for (const queue of queues.values()) queue.close().catch((closeError: unknown) => log.warn('could not close an outbox queue', { dir, error: closeError }));
      throw error;
    }
    return new NotificationOutbox(dir, queues, opts);
  }

  /** Stores a notification; throws when it cannot be written (the caller counts it). */
  append(notification: Notification): void {
    const written = this.queue(notification.event.severity).append([exactJson(notification)]);
    // Rejection is not expected (fsync failures are logged by the queue); the entry is in the OS either way.
    if (written) written.catch(() => undefined);
  }

  /**
   * The next notification to deliver: the head of the most severe non-empty queue. A line that does not parse
   * (damaged on disk) is skipped and passed to `onUnreadable`, so one bad line cannot block the outbox for good.
   */
  head(onUnreadable: (severity: Severity, line: string) => void): OutboxEntry | undefined {
    for (const severity of SEVERITY_ORDER) {
      const queue = this.queue(severity);
      for (let batch = readOne(queue); batch; batch = readOne(queue)) {
        const notification = parseNotification(batch.text);
        if (notification) return { notification, severity, batch };
        queue.commit(batch);
        onUnreadable(severity, batch.text);
      }
    }
    return undefined;
  }

  /** Forgets an entry the target has (or that was given up); a no-op if `shed` already dropped it. */
  commit(entry: OutboxEntry): void {
    this.queue(entry.severity).commit(entry.batch);
  }

  /** Drops entries, oldest of the least severe first, until the outbox is within its bound; returns what it dropped. */
  shed(): Notification[] {
    const dropped: Notification[] = [];
    while (this.stats().queued_bytes > this.opts.maxBytes) {
      const severity = [...SEVERITY_ORDER].reverse().find((s) => this.queue(s).stats().backlogLines > 0);
      if (!severity) break;
      const queue = this.queue(severity);
      const batch = readOne(queue)!;
      queue.commit(batch);
      const notification = parseNotification(batch.text);
      if (notification) dropped.push(notification);
    }
    return dropped;
  }

  stats(): OutboxStats {
    const bySeverity = { critical: 0, warning: 0, info: 0 };
    let bytes = 0;
    let segmentDrops = 0;
    for (const [severity, queue] of this.queues) {
      const stats = queue.stats();
      bySeverity[severity] = stats.backlogLines;
      bytes += stats.backlogBytes;
      segmentDrops += stats.droppedLines;
    }
    return { queued: bySeverity.critical + bySeverity.warning + bySeverity.info, queued_bytes: bytes, queued_by_severity: bySeverity, segment_drops: segmentDrops };
  }

  async close(): Promise<void> {
    await Promise.all([...this.queues.values()].map((queue) => queue.close()));
  }

  private queue(severity: Severity): SegmentQueue {
    return this.queues.get(severity)!;
  }
}

function readOne(queue: SegmentQueue): Batch | undefined {
  return queue.stats().backlogLines > 0 ? queue.read(1) : undefined;
}

/** The stored form back, or undefined when the line is not a notification (damaged). */
export function parseNotification(line: string): Notification | undefined {
  let value: unknown;
  try {
    value = JSON.parse(line);
  } catch {
    return undefined;
  }
  if (typeof value !== 'object' || value === null) return undefined;
  const { event_id, queued_at, event } = value as Partial<Notification>;
  if (typeof event_id !== 'string' || typeof queued_at !== 'number' || typeof event !== 'object' || event === null) return undefined;
  if (!SEVERITY_ORDER.includes(event.severity) || typeof event.id !== 'string') return undefined;
  return { event_id, queued_at, event };
}
