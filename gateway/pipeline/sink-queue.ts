import type { Reading } from '../model.js';
import type { Logger } from '../util/log.js';
import type { Sink } from './sink.js';

/** Told once a batch is in the sink (no error), or when it never will be (dropped, or the sink failed). */
export type Taken = (error?: Error) => void;

/** A batch on its way to the sinks, with its size in bytes (see approxBytes) computed once for all of them. */
export interface Batch {
  readonly readings: readonly Reading[];
  readonly bytes: number;
}

export interface SinkQueueStats {
  readonly sink: string;
  /** Readings waiting for the sink, and the memory they hold (estimated). */
  readonly queued: number;
  readonly queuedBytes: number;
  readonly delivered: number;
  /** Readings dropped because the queue passed its byte limit (oldest first). */
  readonly dropped: number;
  readonly failed: number;
}

/** Drops and failures are logged at most this often, with the count since the last line, so a long stall does not flood the log. */
const LOG_INTERVAL_MS = 10_000;
/** A backlog is handed over in writes of up to this many readings: few calls, yet no write holds the event loop for long (about a millisecond). */
const MAX_READINGS_PER_WRITE = 256;

/** The takers of a batch nobody waits on (the alert rules take one per message: no array each). */
const NO_TAKERS: readonly Taken[] = [];

interface Queued {
  readings: readonly Reading[];
  bytes: number;
  taken: Taken | undefined;
}

/**
 * A queue in front of one sink, bounded in bytes. The pipeline keeps producers below the bound (backpressure), so it
 * drops only what producers that cannot wait push past it: then the oldest readings go, counted and logged, since
 * the freshest data matters most on a live street. Other sinks, each with its own queue, are never held up.
 */
export class SinkQueue {
  private queue: Queued[] = [];
  private head = 0;
  private queued = 0;
  private bytes = 0;
  private busy = false;
  private delivered = 0;
  private dropped = 0;
  private failed = 0;
  private droppedSinceLog = 0;
  private lastDropLog = -Infinity;
  private failedSinceLog = 0;
  private lastFailureLog = -Infinity;
  private idleWaiters: (() => void)[] = [];

  constructor(
    readonly sink: Sink,
    private readonly capacityBytes: number,
    private readonly log: Logger,
    /** Called whenever the queue shrank: the pipeline re-checks its backpressure. */
    private readonly onShrink: () => void,
  ) {}

  /** Bytes of readings waiting (not counting the batch the sink is taking now). */
  get queuedBytes(): number {
    return this.bytes;
  }

  push(batch: Batch, taken?: Taken): void {
    if (batch.readings.length === 0) {
      taken?.();
      return;
    }
    if (!this.busy && this.queued === 0) {
      this.deliver(batch.readings, taken === undefined ? NO_TAKERS : [taken]);
      return;
    }
    this.queue.push({ readings: batch.readings, bytes: batch.bytes, taken });
    this.queued += batch.readings.length;
    this.bytes += batch.bytes;
    if (this.bytes > this.capacityBytes) this.dropOldest();
  }

  stats(): SinkQueueStats {
    return { sink: this.sink.name, queued: this.queued, queuedBytes: this.bytes, delivered: this.delivered, dropped: this.dropped, failed: this.failed };
  }

  /** Resolves when everything queued so far has been handed to the sink and the sink has settled. */
  idle(): Promise<void> {
    if (!this.busy && this.queued === 0) return Promise.resolve();
    return new Promise((resolve) => this.idleWaiters.push(resolve));
  }

  private deliver(readings: readonly Reading[], takers: readonly Taken[]): void {
    let result: void | Promise<void>;
    try {
      result = this.sink.write(readings);
    } catch (error) {
      this.onFailure(readings, error, takers);
      this.next();
      return;
    }
    if (result === undefined) {
      this.onDelivered(readings, takers);
      this.next();
      return;
    }
    this.busy = true;
    result.then(
      () => {
        this.busy = false;
        this.onDelivered(readings, takers);
        this.next();
      },
      (error: unknown) => {
        this.busy = false;
        this.onFailure(readings, error, takers);
        this.next();
      },
    );
  }

  private onDelivered(readings: readonly Reading[], takers: readonly Taken[]): void {
    this.delivered += readings.length;
    for (const taken of takers) taken();
  }

  /** Hands the sink what queued while it was busy, merged into writes of up to MAX_READINGS_PER_WRITE. */
  private next(): void {
    if (this.queued === 0) {
      this.notifyIdle();
      return;
    }
    const parts: (readonly Reading[])[] = [];
    const takers: Taken[] = [];
    let count = 0;
    while (this.head < this.queue.length && (count === 0 || count + this.queue[this.head]!.readings.length <= MAX_READINGS_PER_WRITE)) {
      const item = this.queue[this.head]!;
      parts.push(item.readings);
      if (item.taken) takers.push(item.taken);
      count += item.readings.length;
      this.queued -= item.readings.length;
      this.bytes -= item.bytes;
      this.forgetHead();
    }
    this.onShrink();
    const readings = parts.length === 1 ? parts[0]! : parts.flat();
    // One write per tick, so a sync sink cannot recurse through a backlog or starve the event loop.
    this.busy = true;
    setImmediate(() => {
      this.busy = false;
      this.deliver(readings, takers);
    });
  }

  private dropOldest(): void {
    let count = 0;
    while (this.bytes > this.capacityBytes && this.head < this.queue.length) {
      const item = this.queue[this.head]!;
      // A batch that loses any reading was not taken: whoever waits on it hears so now.
      item.taken?.(new Error(`dropped: sink ${this.sink.name} is ${this.capacityBytes} bytes behind`));
      item.taken = undefined;
      const excess = this.bytes - this.capacityBytes;
      if (item.bytes <= excess) {
        count += item.readings.length;
        this.queued -= item.readings.length;
        this.bytes -= item.bytes;
        this.forgetHead();
        continue;
      }
      const perReading = item.bytes / item.readings.length;
      const drop = Math.min(item.readings.length - 1, Math.ceil(excess / perReading));
      item.readings = item.readings.slice(drop);
      item.bytes -= drop * perReading;
      this.bytes -= drop * perReading;
      this.queued -= drop;
      count += drop;
      if (drop === 0) break;
    }
    this.dropped += count;
    this.droppedSinceLog += count;
    const now = performance.now();
    if (now - this.lastDropLog >= LOG_INTERVAL_MS) {
      this.log.warn('sink is falling behind: dropped oldest readings', { sink: this.sink.name, dropped: this.droppedSinceLog, total_dropped: this.dropped, max_queue_bytes: this.capacityBytes });
      this.lastDropLog = now;
      this.droppedSinceLog = 0;
    }
  }

  /** Advances past the head batch, compacting the array now and then. */
  private forgetHead(): void {
    this.queue[this.head++] = undefined as unknown as Queued;
    if (this.head > 1024 && this.head * 2 > this.queue.length) {
      this.queue = this.queue.slice(this.head);
      this.head = 0;
    }
  }

  private onFailure(readings: readonly Reading[], error: unknown, takers: readonly Taken[]): void {
    const failure = error instanceof Error ? error : new Error(String(error));
    for (const taken of takers) taken(failure);
    this.failed += readings.length;
    this.failedSinceLog += readings.length;
    // A lasting failure (a full disk under the buffer) fails every batch: say it at once, then at most every interval.
    const now = performance.now();
    if (now - this.lastFailureLog < LOG_INTERVAL_MS) return;
    this.log.error('sink failed to take readings', { sink: this.sink.name, readings: this.failedSinceLog, total_failed: this.failed, error: failure.message });
    this.lastFailureLog = now;
    this.failedSinceLog = 0;
  }

  private notifyIdle(): void {
    this.onShrink();
    if (this.idleWaiters.length === 0) return;
    const waiters = this.idleWaiters;
    this.idleWaiters = [];
    for (const resolve of waiters) resolve();
  }
}
