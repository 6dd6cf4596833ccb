import type { Reading } from '../model.js';
import type { Logger } from '../util/log.js';
import type { Sink } from './sink.js';
import { SinkQueue, type SinkQueueStats, type Taken } from './sink-queue.js';

/**
 * Fans every batch of readings out to all sinks. Each sink has its own bounded queue, so one slow sink
 * loses only its own oldest readings and never delays the others.
 */
export class Pipeline {
  private readonly queues: SinkQueue[] = [];
  private accepted = 0;

  constructor(
    private readonly queueSize: number,
    private readonly log: Logger,
  ) {}

  attach(sink: Sink): void {
    this.queues.push(new SinkQueue(sink, this.queueSize, this.log));
  }

  publish(readings: readonly Reading[]): void {
    this.accepted += readings.length;
    for (const queue of this.queues) queue.push(readings);
  }

  /**
   * Hands the readings to the durable sinks (the store-and-forward buffer) first, and to the other sinks only once
   * every durable one holds them; resolves then, so the sender may be told they are safe. When a durable sink drops
   * or fails them it rejects and no other sink sees them: the sender, not acknowledged, sends them again, and they
   * are published (alerts, MQTT) once, when finally stored. With no durable sink it resolves at once: nothing in
   * the gateway outlives a restart then.
   */
  publishDurably(readings: readonly Reading[]): Promise<void> {
    const durable = this.queues.filter((queue) => queue.sink.durable);
    if (durable.length === 0) {
      this.publish(readings);
      return Promise.resolve();
    }
    return new Promise<void>((resolve, reject) => {
      let pending = durable.length;
      let failed = false;
      const taken: Taken = (error) => {
        if (failed) return;
        if (error) {
          failed = true;
          reject(error);
        } else if (--pending === 0) {
          this.accepted += readings.length;
          for (const queue of this.queues) if (!queue.sink.durable) queue.push(readings);
          resolve();
        }
      };
      for (const queue of durable) queue.push(readings, taken);
    });
  }

  stats(): { accepted: number; sinks: SinkQueueStats[] } {
    return { accepted: this.accepted, sinks: this.queues.map((q) => q.stats()) };
  }

  /** Waits until every sink has taken what was published so far, then closes the sinks. */
  async close(): Promise<void> {
    await Promise.all(this.queues.map((q) => q.idle()));
    for (const queue of this.queues) {
      try {
        await queue.sink.close?.();
      } catch (error) {
        this.log.error('sink failed to close', { sink: queue.sink.name, error });
      }
    }
  }
}
