import type { SegmentQueue } from '../buffer/segment-queue.js';
import type { Logger } from '../util/log.js';
import type { BridgeContext } from './context.js';
import { LogLimiter } from '../util/log-limiter.js';
import { encodeRecord } from './record.js';
import type { ForwardRoute, TopicMap } from './routes.js';

const LOG_INTERVAL_MS = 60_000;
/** A burst that never yields is appended in slices of this many: memory stays bounded, appends stay small beside the buffer limit. */
const MAX_LINES_PER_APPEND = 1000;

/**
 * The local side of the bridge: takes readings from the MQTT publisher as it encodes them, subscribes in-process to
 * the other forwarded classes, and appends each message to the durable queue as one record. Readings arrive at tens of thousands per second, so the records of one tick go to
 * the queue in one append (one write, one fsync with `fsync: always`).
 */
export class LocalIntake {
  private pending: string[] = [];
  private flushTimer: NodeJS.Immediate | undefined;
  /** The last append's fsync, with `fsync: always`: stop() waits for it. */
  private lastAppend: Promise<void> | undefined;
  private unsubscribes: (() => Promise<void>)[] = [];
  private readonly limiter: LogLimiter;
  /** Messages the queue would not take (too long for a line, or a disk error). */
  refused = 0;

  private constructor(
    private readonly queue: SegmentQueue,
    private readonly map: TopicMap,
    log: Logger,
  ) {
    this.limiter = new LogLimiter(log, LOG_INTERVAL_MS);
  }

  static async start(broker: BridgeContext['broker'], readings: BridgeContext['readings'], routes: readonly ForwardRoute[], queue: SegmentQueue, map: TopicMap, log: Logger): Promise<LocalIntake> {
    const intake = new LocalIntake(queue, map, log);
    try {
      for (const route of routes) {
        if (route.forwardClass === 'readings') {
          // Tens of thousands a second: taken as the MQTT publisher encoded them, with no routing through the broker.
          const untap = readings.tap((messages) => {
            for (const { topic, payload } of messages) intake.take(map.suffixOf(topic), payload, false);
          });
          intake.unsubscribes.push(async () => void untap());
          continue;
        }
        intake.unsubscribes.push(
          await broker.subscribe(route.filter, (topic, payload) => {
            if (route.accepts(topic)) intake.take(map.suffixOf(topic), payload, route.retain);
          }),
        );
      }
    } catch (error) {
      await intake.stop();
      throw error;
    }
    return intake;
  }

  /** Ends the subscriptions and puts what already arrived in the queue. */
  async stop(): Promise<void> {
    const unsubscribes = this.unsubscribes;
    this.unsubscribes = [];
    await Promise.all(unsubscribes.map((unsubscribe) => unsubscribe()));
    clearImmediate(this.flushTimer);
    this.flush();
    await this.lastAppend;
  }

  private take(suffix: string, payload: Buffer | string, retain: boolean): void {
    this.pending.push(encodeRecord(suffix, payload, retain));
    if (this.pending.length >= MAX_LINES_PER_APPEND) {
      clearImmediate(this.flushTimer);
      this.flush();
    } else this.flushTimer ??= setImmediate(() => this.flush());
  }

  private flush(): void {
    this.flushTimer = undefined;
    const lines = this.pending;
    if (lines.length === 0) return;
    this.pending = [];
    try {
      this.append(lines);
    } catch {
      // One line the queue refuses (e.g. longer than a batch can hold) must not cost the others of its tick.
      for (const line of lines) this.appendAlone(line);
    }
  }

  private appendAlone(line: string): void {
    try {
      this.append([line]);
    } catch (error) {
      this.refused++;
      this.limiter.error('append', 'cannot buffer a message for upstream; dropped', { root: this.map.localRoot, record: line.slice(0, 200), error, total_refused: this.refused });
    }
  }

  private append(lines: readonly string[]): void {
    const appended = this.queue.append(lines);
    if (appended instanceof Promise) this.lastAppend = appended;
  }
}
