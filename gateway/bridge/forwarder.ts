import type { SegmentQueue } from '../buffer/segment-queue.js';
import type { Logger } from '../util/log.js';
import { LogLimiter } from '../util/log-limiter.js';
import { isTopicCarried, type FrameMessage } from '../util/mqtt-frames.js';
import { decodeRecord } from './record.js';
import type { TopicMap } from './routes.js';
import type { Upstream, UpstreamLink } from './upstream.js';

export interface UpstreamForwarderOptions {
  readonly qos: 0 | 1;
  /** Messages published and not yet acknowledged at once. */
  readonly inflight: number;
}

/**
 * Lines per batch (at least; more with a larger in-flight window): the unit that leaves the queue together, and that
 * is sent again whole after a lost connection. Ten default windows keep the wire busy across batch ends; small
 * enough that a resend after a drop duplicates little.
 */
const MIN_BATCH_LINES = 1000;
/** An idle forwarder looks at the queue again after this even if nothing woke it (appends and close wake it). */
const IDLE_RECHECK_MS = 60_000;
const LOG_INTERVAL_MS = 60_000;

/**
 * Drains the bridge's durable queue to the central broker, oldest first, one batch at a time (the shape of the
 * InfluxDB forwarder): up to `inflight` messages of the batch are on the wire at once, and the batch is committed
 * only when every one of them is acknowledged (QoS 1: PUBACK; QoS 0: written to the socket). A connection lost
 * mid-batch commits nothing: the whole batch goes again on the next connection — at least once, in order, never lost.
 */
export class UpstreamForwarder {
  private running = false;
  /** Closing: what is buffered still goes while the grace period lasts, but nothing is waited for. */
  private draining = false;
  private loop: Promise<void> | undefined;
  /** Ends the current wait (for data, for a connection, or for acknowledgements). */
  private interrupt: (() => void) | undefined;
  private publishing = false;
  private readonly batchLines: number;
  private readonly limiter: LogLimiter;
  forwarded = 0;
  /** Lines of the queue that were not records (a damaged file); skipped. */
  malformed = 0;

  constructor(
    private readonly queue: SegmentQueue,
    private readonly upstream: Upstream,
    private readonly map: TopicMap,
    private readonly opts: UpstreamForwarderOptions,
    private readonly log: Logger,
  ) {
    this.batchLines = Math.max(MIN_BATCH_LINES, opts.inflight);
    this.limiter = new LogLimiter(log, LOG_INTERVAL_MS);
  }

  start(): void {
    this.running = true;
    this.loop = this.run().catch((error: unknown) => {
      // A bug, not an outage: say so loudly; the queue keeps the messages for the next start.
      this.log.error('upstream forwarder stopped on an unexpected error', { error });
    });
  }

  /**
   * Stops within `graceMs`. While the connection is up, what is buffered (the gateway's last words among it) keeps
   * going until the buffer is empty or the time is up; a batch not acknowledged by then stays in the queue for the
   * next start. Without a connection it stops at once.
   */
  async stop(graceMs: number): Promise<void> {
    this.draining = true;
    if (!this.publishing) this.interrupt?.();
    const timer = setTimeout(() => {
      this.running = false;
      this.interrupt?.();
    }, graceMs);
    await this.loop;
    clearTimeout(timer);
  }

  private async run(): Promise<void> {
    while (this.running) {
      if (!this.draining) await this.interruptible(this.queue.waitForBacklog(1, IDLE_RECHECK_MS));
      if (!this.running || (this.draining && (this.queue.stats().backlogLines === 0 || this.upstream.state !== 'connected'))) return;
      const link = await this.interruptible(this.upstream.connected());
      if (!link || !this.running) return;
      // Read only with a connection at hand, and again after each failure: what the buffer limit dropped meanwhile is
      // not sent from memory.
      const batch = this.queue.read(this.batchLines);
      if (!batch) continue;
      const messages = this.decode(batch.text);
      if (!(await this.publishAll(link, messages))) continue; // the connection went (or stop): the head goes again
      this.queue.commit(batch);
      this.forwarded += messages.length;
    }
  }

  /** Publishes a batch, up to `inflight` unacknowledged at once: true once all are acknowledged, false if the connection goes first (or stop). */
  private publishAll(link: UpstreamLink, messages: readonly FrameMessage[]): Promise<boolean> {
    if (messages.length === 0) return Promise.resolve(true);
    return new Promise<boolean>((resolve) => {
      let sent = 0;
      let acknowledged = 0;
      let settled = false;
      let refillQueued = false;
      let stopListening = (): void => {};
      const settle = (ok: boolean): void => {
        if (settled) return;
        settled = true;
        this.publishing = false;
        this.interrupt = undefined;
        stopListening();
        resolve(ok);
      };
      this.publishing = true;
      this.interrupt = () => settle(false);
      // Called at once if the connection is already gone.
      stopListening = link.onClose(() => settle(false));
      /** Fills the window: what is free of it goes in one chunk. */
      const pump = (): void => {
        refillQueued = false;
        if (settled || sent === messages.length) return;
        const from = sent;
        sent = Math.min(messages.length, acknowledged + this.opts.inflight);
        if (sent === from) return;
        try {
          link.publisher.publish(messages, from, sent, this.opts.qos, onAcknowledged);
        } catch (error) {
          // decode() lets through only what MQTT carries, and the window fits the packet identifiers: a bug, said.
          this.limiter.error('publish', 'could not send a batch upstream', { error });
          link.drop('could not send a batch');
          settle(false);
        }
      };
      const onAcknowledged = (error?: Error): void => {
        if (settled) return;
        if (error) {
          // Only a connection that is going fails a publish; finish it off so the batch goes again on a fresh one.
          link.drop(`publish failed: ${error.message}`);
          settle(false);
        } else if (++acknowledged === messages.length) settle(true);
        else if (!refillQueued) {
          // After the rest of the acknowledgements read with this one (each comes on a tick of its own).
          refillQueued = true;
          queueMicrotask(pump);
        }
      };
      pump();
    });
  }

  /** The batch's messages with their upstream topics; a line that is no record, or that MQTT cannot carry, is skipped and said. */
  private decode(text: string): FrameMessage[] {
    const messages: FrameMessage[] = [];
    for (const line of text.split('\n')) {
      const message = decodeRecord(line);
      if (!message) {
        this.skip('skipped a damaged line of the bridge buffer', line);
        continue;
      }
      const topic = this.map.remoteTopic(message.topic);
      // A queue line holds at most a few MB: only a topic (under a longer remote root) can exceed what MQTT carries.
      if (isTopicCarried(topic)) messages.push({ topic, payload: message.payload, retain: message.retain });
      else this.skip('skipped a message of the bridge buffer whose upstream topic is longer than MQTT allows', line);
    }
    return messages;
  }

  private skip(what: string, line: string): void {
    this.malformed++;
    this.limiter.error('malformed', what, { dir: this.queue.dir, line: line.slice(0, 200), total_skipped: this.malformed });
  }

  /** Waits for `promise`, or for stop(): undefined then. */
  private interruptible<T>(promise: Promise<T>): Promise<T | undefined> {
    return new Promise<T | undefined>((resolve, reject) => {
      this.interrupt = () => resolve(undefined);
      promise.then(resolve, reject);
    }).finally(() => {
      this.interrupt = undefined;
    });
  }
}
