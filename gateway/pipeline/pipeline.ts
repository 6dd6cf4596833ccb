import type { Reading } from '../model.js';
import type { Logger } from '../util/log.js';
import type { Sink } from './sink.js';
import { SinkQueue, type Batch, type SinkQueueStats, type Taken } from './sink-queue.js';

export interface PipelineOptions {
  /** Bytes of readings each sink may have waiting; past it the oldest are dropped (counted). */
  readonly maxQueueBytes: number;
}

export interface PipelineStats {
  readonly accepted: number;
  /** Whether producers are being held back now (a sink's queue passed half its limit). */
  readonly backpressure: boolean;
  /** How often producers were held back since start. */
  readonly backpressureEpisodes: number;
  readonly sinks: SinkQueueStats[];
}

/** Memory a queued reading holds, roughly: the object, its number or string, its share of the batch array. */
export function approxBytes(reading: Reading): number {
  return typeof reading.value === 'string' ? 160 + 2 * reading.value.length : 160;
}

/** Readings published within one tick are handed to the sinks together, up to this many at once (a few ms of work). */
const MAX_BATCH = 1024;
/** Producers are held back when a sink's queue passes this share of its limit, and let go below the second. */
const HIGH_WATER = 0.5;
const LOW_WATER = 0.25;

/** A promise with its settling functions, for waiters the pipeline lets go of later. */
interface Deferred {
  readonly promise: Promise<void>;
  resolve(): void;
  reject(error: Error): void;
}

function deferred(): Deferred {
  let resolve!: () => void;
  let reject!: (error: Error) => void;
  const promise = new Promise<void>((resolved, rejected) => ((resolve = resolved), (reject = rejected)));
  return { promise, resolve, reject };
}

/**
 * Fans readings out to every sink. The alert rules (`judgesFirst` sinks) judge readings as they are published; for the
 * other sinks, readings published within one tick (one message each from a thousand devices) travel as one batch:
 * one buffer append, one write per subscriber socket instead of one per message. Each sink has its own queue,
 * bounded in bytes. When a sink falls behind, caughtUp() hands producers a promise to wait on — MQTT ingest stops
 * reading the client's socket (holding its PUBACKs), pollers stretch their interval, serial ports pause — so nothing
 * is dropped while producers can wait; only what is pushed past the limit regardless is dropped, oldest first, and
 * counted per sink.
 */
export class Pipeline {
  private readonly queues: SinkQueue[] = [];
  /** The queues of the `judgesFirst` sinks, which take every publish on its own. */
  private readonly judges: SinkQueue[] = [];
  private accepted = 0;
  /** Readings published since the last flush, for every sink; their count and bytes. */
  private plain: (readonly Reading[])[] = [];
  private plainCount = 0;
  private plainBytes = 0;
  /** The same for readings published durably. */
  private durable: (readonly Reading[])[] = [];
  private durableCount = 0;
  private durableBytes = 0;
  /**
   * Settles once the durable readings published since the last flush are stored, or failed: one promise for all their
   * senders (a promise per publish cost as much again).
   */
  private durableSettled: Deferred | undefined;
  private flushScheduled: NodeJS.Immediate | undefined;
  /** While a sink is behind: settles (never rejects) once every sink caught up. */
  private pressure: Deferred | undefined;
  private pressureEpisodes = 0;

  constructor(
    private readonly opts: PipelineOptions,
    private readonly log: Logger,
  ) {}

  attach(sink: Sink): void {
    const queue = new SinkQueue(sink, this.opts.maxQueueBytes, this.log, () => this.checkPressure());
    this.queues.push(queue);
    if (sink.judgesFirst) this.judges.push(queue);
  }

  /**
   * Takes readings for every sink; the rules judge them now. A producer that can wait asks caughtUp() before it
   * produces more.
   */
  publish(readings: readonly Reading[]): void {
    if (readings.length === 0) return;
    const bytes = bytesOf(readings);
    this.judge(readings, bytes);
    this.plain.push(readings);
    this.plainCount += readings.length;
    this.plainBytes += bytes;
    this.scheduleFlush(this.plainCount);
  }

  /** Undefined while every sink keeps up; while one is behind, a promise that settles (never rejects) once it caught up. */
  caughtUp(): Promise<void> | undefined {
    return this.pressure?.promise;
  }

  /**
   * Hands the readings to the durable sinks (the store-and-forward buffer) first, and to the other sinks only once
   * every durable one holds them; resolves then, so the sender may be told they are safe. When a durable sink drops
   * or fails them it rejects and no other sink sees them: the sender, not acknowledged, sends them again, and they
   * are published (MQTT, the bridge) once, when finally stored. The alert rules (`judgesFirst`) judge them now.
   * With no durable sink it resolves at once: nothing in the gateway outlives a restart then. While the pipeline is
   * behind it resolves only once it caught up, so the acknowledgement paces the sender.
   */
  publishDurably(readings: readonly Reading[]): Promise<void> {
    if (!this.queues.some((queue) => queue.sink.durable)) {
      this.publish(readings);
      return this.caughtUp() ?? Promise.resolve();
    }
    const stored = (this.durableSettled ??= deferred()).promise;
    const bytes = bytesOf(readings);
    this.judge(readings, bytes);
    this.durable.push(readings);
    this.durableCount += readings.length;
    this.durableBytes += bytes;
    this.scheduleFlush(this.durableCount);
    const behind = this.caughtUp();
    return behind ? stored.then(() => behind) : stored;
  }

  stats(): PipelineStats {
    return {
      accepted: this.accepted,
      backpressure: this.pressure !== undefined,
      backpressureEpisodes: this.pressureEpisodes,
      sinks: this.queues.map((q) => q.stats()),
    };
  }

  /** Waits until every sink has taken what was published so far, then closes the sinks. */
  async close(): Promise<void> {
    this.flush();
    await Promise.all(this.queues.map((q) => q.idle()));
    for (const queue of this.queues) {
      try {
        await queue.sink.close?.();
      } catch (error) {
        this.log.error('sink failed to close', { sink: queue.sink.name, error });
      }
    }
    this.pressure?.resolve();
  }

  private scheduleFlush(pending: number): void {
    if (pending >= MAX_BATCH) {
      clearImmediate(this.flushScheduled);
      this.flush();
      return;
    }
    this.flushScheduled ??= setImmediate(() => this.flush());
    // A socket's whole backlog can be parsed within one tick: what waits for the flush counts already.
    if (!this.pressure) this.checkPressure();
  }

  private flush(): void {
    this.flushScheduled = undefined;
    if (this.plainCount > 0) {
      const batch = batchOf(this.plain, this.plainBytes);
      this.plain = [];
      this.plainCount = 0;
      this.plainBytes = 0;
      this.accepted += batch.readings.length;
      for (const queue of this.queues) if (!queue.sink.judgesFirst) queue.push(batch);
    }
    if (this.durableCount > 0) {
      const batch = batchOf(this.durable, this.durableBytes);
      const settled = this.durableSettled!;
      this.durable = [];
      this.durableCount = 0;
      this.durableBytes = 0;
      this.durableSettled = undefined;
      this.publishStored(batch, settled);
    }
    this.checkPressure();
  }

  /**
   * The rules see readings as they are published, before any other sink and before the turn goes on: an alert is
   * decided while the device's message is being read, not after the rest of the turn's work.
   */
  private judge(readings: readonly Reading[], bytes: number): void {
    // Indexed: this runs once per device message, and an iterator each time showed in the allocation profile.
    for (let i = 0; i < this.judges.length; i++) this.judges[i]!.push({ readings, bytes });
  }

  private publishStored(batch: Batch, settled: Deferred): void {
    const durable = this.queues.filter((queue) => queue.sink.durable);
    let pending = durable.length;
    let failed = false;
    const taken: Taken = (error) => {
      if (failed) return;
      if (error) {
        failed = true;
        settled.reject(error);
      } else if (--pending === 0) {
        this.accepted += batch.readings.length;
        for (const queue of this.queues) if (!queue.sink.durable && !queue.sink.judgesFirst) queue.push(batch);
        settled.resolve();
      }
    };
    for (const queue of durable) queue.push(batch, taken);
  }

  private checkPressure(): void {
    let worst = 0;
    for (const queue of this.queues) worst = Math.max(worst, queue.queuedBytes);
    worst += this.plainBytes + this.durableBytes;
    const limit = this.opts.maxQueueBytes;
    if (!this.pressure && worst > limit * HIGH_WATER) {
      this.pressure = deferred();
      this.pressureEpisodes++;
    } else if (this.pressure && worst <= limit * LOW_WATER) {
      this.pressure.resolve();
      this.pressure = undefined;
    }
  }
}

function batchOf(parts: readonly (readonly Reading[])[], bytes: number): Batch {
  return { readings: parts.length === 1 ? parts[0]! : parts.flat(), bytes };
}

function bytesOf(readings: readonly Reading[]): number {
  let bytes = 0;
  for (const reading of readings) bytes += approxBytes(reading);
  return bytes;
}
