import type { Batch, SegmentQueue } from '../buffer/segment-queue.js';
import type { Logger } from '../util/log.js';
import { LogLimiter } from '../util/log-limiter.js';
import { isTopicCarried, type FrameMessage } from '../util/mqtt-frames.js';
import { decodeRecord } from './record.js';
import type { TopicMap } from './routes.js';
import type { Upstream, UpstreamLink } from './upstream.js';
import { WindowRefill } from './window-refill.js';

export interface UpstreamForwarderOptions {
  readonly qos: 0 | 1;
  /** Messages published and not yet acknowledged at once. */
  readonly inflight: number;
}

/**
 * Lines per batch (at least; more with a larger in-flight window): the unit read from the queue and committed
 * together, and sent again whole after a lost connection. Batches overlap on the wire, so their size is not the
 * rate's; small enough that a resend after a drop duplicates little, large enough that reads and commits are rare.
 */
const MIN_BATCH_LINES = 1000;
/** An idle forwarder looks at the queue again after this even if nothing woke it (appends and close wake it). */
const IDLE_RECHECK_MS = 60_000;
const LOG_INTERVAL_MS = 60_000;

const NEWLINE = 10;

/**
 * A batch on its way: where its next line starts, how many of its messages are sent and acknowledged, and the callback
 * their PUBACKs call. Its lines are decoded as they are sent, not on reading: a batch's decoded messages, held until
 * acknowledged, outlived two scavenges and were more than half of what the gateway promoted to its old generation
 * under load, so the bridge brought every full collection nearer. The batch's bytes are off the heap.
 */
interface BatchInFlight {
  readonly batch: Batch;
  /** Byte offset of the first line not yet decoded; past the end once all are. */
  next: number;
  sent: number;
  acknowledged: number;
  readonly onAcknowledged: (error?: Error) => void;
}

function fullySent(entry: BatchInFlight): boolean {
  return entry.next > entry.batch.data.length;
}

function committable(entry: BatchInFlight): boolean {
  return fullySent(entry) && entry.acknowledged === entry.sent;
}

/**
 * Drains the bridge's durable queue to the central broker, oldest first, in batches: up to `inflight` messages are on
 * the wire at once, and a batch is committed only when every one of its messages is acknowledged (QoS 1: PUBACK;
 * QoS 0: written to the socket). A connection lost mid-batch commits nothing of it: the batches not committed go
 * again on the next connection — at least once, in order, never lost.
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
      await this.forwardOn(link);
    }
  }

  /**
   * Sends the queue on one connection, batch after batch, up to `inflight` messages unacknowledged at once across
   * batch ends: the next batch goes while the last acknowledgements of one are on their way. Waiting for a whole batch
   * stalled on every batch end — Mosquitto (Nagle's algorithm on by default) held a batch's last PUBACKs until this
   * side's delayed TCP ACK, 40 ms — and drained the backlog at 14,000 messages/s while the gateway took in 66,000.
   * Batches are committed once all their messages are acknowledged, in order. Resolves once nothing more is to be read
   * and all is committed, or when the connection goes (or stop): what is not committed goes again on the next one.
   */
  private forwardOn(link: UpstreamLink): Promise<void> {
    return new Promise<void>((resolve) => {
      /** Read and not yet committed, oldest first; the last one may have messages still to send. */
      const batches: BatchInFlight[] = [];
      let unacknowledged = 0;
      const refill = new WindowRefill(this.opts.inflight, () => pump());
      let settled = false;
      let stopListening = (): void => {};
      const settle = (): void => {
        if (settled) return;
        settled = true;
        refill.cancel();
        this.publishing = false;
        this.interrupt = undefined;
        stopListening();
        resolve();
      };
      this.publishing = true;
      this.interrupt = settle;
      // Called at once if the connection is already gone.
      stopListening = link.onClose(settle);

      const commitAcknowledged = (): void => {
        while (batches[0] && committable(batches[0])) {
          const done = batches.shift()!;
          this.queue.commit(done.batch);
          this.forwarded += done.sent;
        }
      };
      /** The batch after the last one read (read only with a connection at hand, so what the limit dropped is not sent). */
      const readNext = (): BatchInFlight | undefined => {
        const batch = this.queue.read(this.batchLines, batches.at(-1)?.batch);
        if (!batch) return undefined;
        const entry: BatchInFlight = {
          batch,
          next: 0,
          sent: 0,
          acknowledged: 0,
          onAcknowledged: (error?: Error): void => {
            if (settled) return;
            if (error) {
              // Only a connection that is going fails a publish; finish it off so the batches go again on a fresh one.
              link.drop(`publish failed: ${error.message}`);
              settle();
              return;
            }
            unacknowledged--;
            if (++entry.acknowledged === entry.sent && entry === batches[0] && fullySent(entry)) commitAcknowledged();
            refill.acknowledged(unacknowledged);
          },
        };
        batches.push(entry);
        return entry;
      };
      /** Fills the window: what is free of it goes in one chunk per batch. */
      const pump = (): void => {
        refill.cancel();
        if (settled) return;
        while (unacknowledged < this.opts.inflight) {
          const last = batches.at(-1);
          const current = last && !fullySent(last) ? last : readNext();
          if (!current) break;
          const messages = this.decode(current, this.opts.inflight - unacknowledged);
          if (messages.length === 0) {
            // The batch's last lines were all skipped: nothing more to wait for.
            commitAcknowledged();
            continue;
          }
          current.sent += messages.length;
          unacknowledged += messages.length;
          try {
            link.publisher.publish(messages, 0, messages.length, this.opts.qos, current.onAcknowledged);
          } catch (error) {
            // decode() lets through only what MQTT carries, and the window fits the packet identifiers: a bug, said.
            this.limiter.error('publish', 'could not send a batch upstream', { error });
            link.drop('could not send a batch');
            settle();
            return;
          }
        }
        if (batches.length === 0) settle();
      };
      pump();
    });
  }

  /**
   * Up to `max` messages of the batch's next lines, with their upstream topics; a line that is no record, or that MQTT
   * cannot carry, is skipped and said.
   */
  private decode(entry: BatchInFlight, max: number): FrameMessage[] {
    const messages: FrameMessage[] = [];
    const data = entry.batch.data;
    while (messages.length < max && entry.next <= data.length) {
      const newline = data.indexOf(NEWLINE, entry.next);
      const end = newline === -1 ? data.length : newline;
      const line = data.toString('utf8', entry.next, end);
      entry.next = end + 1;
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
