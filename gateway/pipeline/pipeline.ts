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
   * Publishes and resolves once every durable sink (the store-and-forward buffer) holds the readings, so the sender
   * may be told they are safe; rejects when a durable sink dropped or failed them. With no durable sink it resolves
   * at once: nothing in the gateway outlives a restart then.
   */
  publishDurably(readings: readonly Reading[]): Promise<void> {
    this.accepted += readings.length;
    let pending = this.queues.filter((queue) => queue.sink.durable).length;
    if (pending === 0) {
      for (const queue of this.queues) queue.push(readings);
      return Promise.resolve();
    }
    return new Promise<void>((resolve, reject) => {
      const taken: Taken = (error) => {
        if (error) reject(error);
        else if (--pending === 0) resolve();
      };
      for (const queue of this.queues) queue.push(readings, queue.sink.durable ? taken : undefined);
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
