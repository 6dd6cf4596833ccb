import type { Reading } from '../model.js';
import type { Logger } from '../util/log.js';
import type { Sink } from './sink.js';

/** Told once a batch is in the sink (no error), or when it never will be (dropped, or the sink failed). */
export type Taken = (error?: Error) => void;

export interface SinkQueueStats {
  readonly sink: string;
  readonly queued: number;
  readonly delivered: number;
  readonly dropped: number;
  readonly failed: number;
}

/** Drops and failures are logged at most this often, with the count since the last line, so a long stall does not flood the log. */
const DROP_LOG_INTERVAL_MS = 10_000;

/**
 * A bounded queue in front of one sink. When the sink falls behind by more than `capacity` readings the oldest
 * readings are dropped (counted and logged): the freshest data matters most on a live street, and other sinks,
 * each with its own queue, are never held up.
 */
export class SinkQueue {
  private batches: (readonly Reading[])[] = [];
  /** Beside `batches`: who waits to hear that a batch is in the sink (MQTT ingest, to acknowledge a QoS 1 publish). */
  private takers: (Taken | undefined)[] = [];
  private head = 0;
  private queued = 0;
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
    private readonly capacity: number,
    private readonly log: Logger,
  ) {}

  push(readings: readonly Reading[], taken?: Taken): void {
    if (readings.length === 0) {
      taken?.();
      return;
    }
    if (!this.busy && this.queued === 0) {
      // Fast path: an idle sink gets the batch at once, in the caller's tick (lowest latency for alerts).
      this.deliver(readings, taken);
      return;
    }
    this.batches.push(readings);
    this.takers.push(taken);
    this.queued += readings.length;
    if (this.queued > this.capacity) this.dropOldest(this.queued - this.capacity);
  }

  stats(): SinkQueueStats {
    return { sink: this.sink.name, queued: this.queued, delivered: this.delivered, dropped: this.dropped, failed: this.failed };
  }

  /** Resolves when everything queued so far has been handed to the sink and the sink has settled. */
  idle(): Promise<void> {
    if (!this.busy && this.queued === 0) return Promise.resolve();
    return new Promise((resolve) => this.idleWaiters.push(resolve));
  }

  private deliver(readings: readonly Reading[], taken: Taken | undefined): void {
    let result: void | Promise<void>;
    try {
      result = this.sink.write(readings);
    } catch (error) {
      this.onFailure(readings, error, taken);
      this.next();
      return;
    }
    if (result === undefined) {
      this.delivered += readings.length;
      taken?.();
      this.next();
      return;
    }
    this.busy = true;
    result.then(
      () => {
        this.delivered += readings.length;
        this.busy = false;
        taken?.();
        this.next();
      },
      (error: unknown) => {
        this.onFailure(readings, error, taken);
        this.busy = false;
        this.next();
      },
    );
  }

  private next(): void {
    if (this.queued === 0) {
      this.notifyIdle();
      return;
    }
    const batch = this.batches[this.head]!;
    const taken = this.takers[this.head];
    this.forgetHead();
    this.queued -= batch.length;
    // A backlog is delivered one batch per tick, so a sync sink cannot recurse through it or starve the event loop.
    this.busy = true;
    setImmediate(() => {
      this.busy = false;
      this.deliver(batch, taken);
    });
  }

  private dropOldest(excess: number): void {
    let toDrop = excess;
    while (toDrop > 0 && this.head < this.batches.length) {
      const batch = this.batches[this.head]!;
      // A batch that loses any reading was not taken: whoever waits on it hears so now.
      this.takers[this.head]?.(new Error(`dropped: sink ${this.sink.name} is ${this.capacity} readings behind`));
      this.takers[this.head] = undefined;
      if (batch.length <= toDrop) {
        this.forgetHead();
        toDrop -= batch.length;
        this.queued -= batch.length;
      } else {
        this.batches[this.head] = batch.slice(toDrop);
        this.queued -= toDrop;
        toDrop = 0;
      }
    }
    const count = excess - toDrop;
    this.dropped += count;
    this.droppedSinceLog += count;
    const now = performance.now();
    if (now - this.lastDropLog >= DROP_LOG_INTERVAL_MS) {
      this.log.warn('sink is falling behind: dropped oldest readings', { sink: this.sink.name, dropped: this.droppedSinceLog, total_dropped: this.dropped, capacity: this.capacity });
      this.lastDropLog = now;
      this.droppedSinceLog = 0;
    }
  }

  /** Advances past the head batch, compacting the arrays now and then. */
  private forgetHead(): void {
    this.batches[this.head] = [];
    this.takers[this.head++] = undefined;
    if (this.head > 1024 && this.head * 2 > this.batches.length) {
      this.batches = this.batches.slice(this.head);
      this.takers = this.takers.slice(this.head);
      this.head = 0;
    }
  }

  private onFailure(readings: readonly Reading[], error: unknown, taken: Taken | undefined): void {
    taken?.(error instanceof Error ? error : new Error(String(error)));
    this.failed += readings.length;
    this.failedSinceLog += readings.length;
    // A lasting failure (a full disk under the buffer) fails every batch: say it at once, then at most every interval.
    const now = performance.now();
    if (now - this.lastFailureLog < DROP_LOG_INTERVAL_MS) return;
    this.log.error('sink failed to take readings', { sink: this.sink.name, readings: this.failedSinceLog, total_failed: this.failed, error: error instanceof Error ? error.message : String(error) });
    this.lastFailureLog = now;
    this.failedSinceLog = 0;
  }

  private notifyIdle(): void {
    const waiters = this.idleWaiters;
    this.idleWaiters = [];
    for (const resolve of waiters) resolve();
  }
}
