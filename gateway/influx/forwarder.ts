import type { SegmentQueue } from '../buffer/segment-queue.js';
import { Backoff, type BackoffOptions } from '../util/backoff.js';
import type { Logger } from '../util/log.js';
import { LogLimiter } from '../util/log-limiter.js';
import type { DeadLetterFile } from './dead-letter.js';
import type { InfluxWriter, WriteOutcome } from './writer.js';
import type { WriteStats } from './write-stats.js';

export interface ForwarderOptions {
  readonly batchSize: number;
  readonly flushIntervalMs: number;
  readonly retryInitialMs: number;
  readonly retryMaxMs: number;
  /** v1: answer "database not found" by creating it. */
  readonly createDatabase: boolean;
}

export type ForwarderState = 'starting' | 'ok' | 'unreachable' | 'unauthorized' | 'misconfigured' | 'stopped';

export interface InfluxHealth {
  readonly state: ForwarderState;
  readonly target: string;
  /** Readings buffered and not yet acknowledged by InfluxDB. */
  readonly backlog: number;
  readonly backlogBytes: number;
  /** Age of the oldest buffered reading (by its timestamp), 0 when nothing waits. */
  readonly backlogAgeMs: number;
  readonly lastSuccess: number | undefined;
  readonly lastError: string | undefined;
  readonly lastErrorAt: number | undefined;
  readonly written: number;
  /** Readings lost on the way, for any of the reasons in `droppedBy`. */
  readonly dropped: number;
  readonly droppedBy: {
    /** The oldest, when the buffer reached its `max_size`. */
    readonly maxSize: number;
    /** The oldest, to make room when the data disk was full. */
    readonly diskFull: number;
    /** Refused by InfluxDB for good, and the dead-letter file could not take them either. */
    readonly deadLetterUnwritable: number;
  };
  /** The data disk refused a write lately (see SegmentQueueStats.diskFull). */
  readonly diskFull: boolean;
  /** Refused by InfluxDB for good and set aside in the dead-letter file. */
  readonly deadLettered: number;
  /** Unexpected errors the forwarding loop met and retried after (a bug or an I/O error: see the log). */
  readonly unexpectedErrors: number;
  /** Write requests: latency histogram and failures by kind. */
  readonly writes: WriteStats;
}

/** Honour a server's Retry-After, but never sleep longer than this on its word. */
const MAX_RETRY_AFTER_MS = 10 * 60_000;
const ERROR_LOG_INTERVAL_MS = 60_000;

/**
 * Drains the durable buffer into InfluxDB, oldest first, one batch at a time, and commits a batch only once InfluxDB
 * has acknowledged it. Failures are handled by class: unreachable / 5xx / 429 → the same batch again after a capped,
 * jittered exponential backoff (or the server's Retry-After); refused lines → the batch is bisected until the
 * offending lines stand alone, which go to the dead-letter file while the rest is written; bad credentials or a
 * missing database → said once in the log and in health, and the readings keep waiting in the buffer. Anything
 * else (a bug, a disk error) is logged, counted and retried after a backoff: the loop ends only with stop().
 */
export class InfluxForwarder {
  private running = false;
  private loop: Promise<void> | undefined;
  /** The in-flight request's own controller: the client adds a listener per request to the signal it is given. */
  private inFlight: AbortController | undefined;
  private wakeSleep: (() => void) | undefined;
  private state: ForwarderState = 'starting';
  private lastSuccess: number | undefined;
  private lastError: string | undefined;
  private lastErrorAt: number | undefined;
  private oldestTs: number | undefined;
  private written = 0;
  private deadLettered = 0;
  private deadLetterUnwritable = 0;
  private unexpectedErrors = 0;
  private readonly errorLog: LogLimiter;
  private readonly retry: BackoffOptions;

  constructor(
    private readonly queue: SegmentQueue,
    private readonly writer: InfluxWriter,
    private readonly deadLetter: DeadLetterFile,
    private readonly opts: ForwarderOptions,
    private readonly log: Logger,
  ) {
    this.errorLog = new LogLimiter(log, ERROR_LOG_INTERVAL_MS);
    this.retry = { initialMs: opts.retryInitialMs, maxMs: opts.retryMaxMs };
  }

  start(): void {
    this.running = true;
    this.loop = this.run();
  }

  /** Stops sending (an in-flight request is abandoned: its batch stays in the buffer for the next start). */
  async stop(): Promise<void> {
    this.running = false;
    this.inFlight?.abort();
    this.wakeSleep?.();
    await this.loop;
    this.state = 'stopped';
  }

  health(): InfluxHealth {
    const stats = this.queue.stats();
    return {
      state: this.state,
      target: this.writer.target,
      backlog: stats.backlogLines,
      backlogBytes: stats.backlogBytes,
      backlogAgeMs: stats.backlogLines > 0 && this.oldestTs !== undefined ? Math.max(0, Date.now() - this.oldestTs) : 0,
      lastSuccess: this.lastSuccess,
      lastError: this.lastError,
      lastErrorAt: this.lastErrorAt,
      written: this.written,
      dropped: stats.droppedLines + this.deadLetterUnwritable,
      droppedBy: { maxSize: stats.droppedMaxSizeLines, diskFull: stats.droppedDiskFullLines, deadLetterUnwritable: this.deadLetterUnwritable },
      diskFull: stats.diskFull,
      deadLettered: this.deadLettered,
      unexpectedErrors: this.unexpectedErrors,
      writes: this.writer.stats(),
    };
  }

  private async run(): Promise<void> {
    const backoff = new Backoff(this.retry);
    while (this.running) {
      try {
        await this.forwardBatch();
        backoff.reset();
      } catch (error) {
        // Never the end of forwarding: the readings stay in the buffer, and the next try may well succeed.
        this.unexpectedErrors++;
        this.lastError = error instanceof Error ? error.message : String(error);
        this.lastErrorAt = Date.now();
        this.errorLog.error('forwarder', 'InfluxDB forwarder met an unexpected error; trying again after a pause', { target: this.writer.target, buffer: this.queue.dir, error, unexpected_errors: this.unexpectedErrors });
        await this.sleep(backoff.next());
      }
    }
  }

  /** Waits for readings, sends one batch and commits it once InfluxDB has it (or the forwarder is stopped). */
  private async forwardBatch(): Promise<void> {
    // A full batch goes at once; a partial one waits at most the flush interval for company.
    await this.queue.waitForBacklog(1, this.opts.flushIntervalMs);
    if (!this.running) return;
    if (this.queue.stats().backlogLines < this.opts.batchSize) await this.queue.waitForBacklog(this.opts.batchSize, this.opts.flushIntervalMs);
    const batch = this.queue.read(this.opts.batchSize);
    if (!batch || !this.running) return;
    this.oldestTs = timestampOf(batch.data);
    if (!(await this.deliver(batch.data, batch.lines))) return;
    this.queue.commit(batch);
    if (this.queue.stats().backlogLines === 0) this.oldestTs = undefined;
  }

  /** Sends lines until InfluxDB has them (or has refused them for good); false when stopped first. */
  private async deliver(body: Buffer | string, lines: number): Promise<boolean> {
    let createdDatabase = false;
    const backoff = new Backoff(this.retry);
    while (this.running) {
      this.inFlight = new AbortController();
      const outcome = await this.writer.write(body, this.inFlight.signal);
      this.inFlight = undefined;
      if (!this.running) return false;
      switch (outcome.kind) {
        case 'ok':
          this.written += lines;
          this.lastSuccess = Date.now();
          this.setState('ok');
          return true;
        case 'rejected':
          return this.isolate(body.toString('utf8'), lines, outcome);
        case 'not_found':
          if (this.opts.createDatabase && !createdDatabase) {
            createdDatabase = true;
            const created = await this.writer.createDatabase();
            if (created.kind === 'ok') {
              this.log.info('created the InfluxDB database', { target: this.writer.target });
              continue;
            }
          }
          this.setState('misconfigured', outcome.reason);
          break;
        case 'unauthorized':
          this.setState('unauthorized', outcome.reason);
          break;
        case 'retry':
          this.setState('unreachable', outcome.reason);
          break;
      }
      await this.sleep(this.retryWait(backoff, outcome));
    }
    return false;
  }

  /** Bisects refused lines until each offender stands alone, dead-letters those and writes the rest. */
  private async isolate(text: string, lines: number, outcome: Extract<WriteOutcome, { kind: 'rejected' }>): Promise<boolean> {
    if (lines === 1) {
      this.setAside(text, outcome);
      return true;
    }
    const half = Math.ceil(lines / 2);
    const cut = nthNewline(text, half);
    return (await this.deliver(text.slice(0, cut), half)) && (await this.deliver(text.slice(cut + 1), lines - half));
  }

  /** A line InfluxDB refused for good goes to the dead-letter file; when even that fails (a full disk) it is dropped, counted. */
  private setAside(line: string, outcome: Extract<WriteOutcome, { kind: 'rejected' }>): void {
    try {
      this.deadLetter.add(line, outcome.status, outcome.reason);
    } catch (error) {
      // Holding the stream back for one line InfluxDB will never take would stall every reading behind it.
      this.deadLetterUnwritable++;
      this.errorLog.error('dead-letter', 'InfluxDB refused a reading and the dead-letter file cannot take it; dropped', { reason: outcome.reason, line: line.slice(0, 300), file: this.deadLetter.path, error, dropped: this.deadLetterUnwritable });
      return;
    }
    this.deadLettered++;
    this.log.warn('InfluxDB refused a reading; set aside in the dead-letter file', { reason: outcome.reason, line: line.slice(0, 300), file: this.deadLetter.path });
  }

  /** The backoff's wait, or longer when the server asked for more (Retry-After, itself bounded). */
  private retryWait(backoff: Backoff, outcome: WriteOutcome): number {
    const wait = backoff.next();
    if (outcome.kind === 'retry' && outcome.retryAfterMs !== undefined) return Math.max(Math.min(outcome.retryAfterMs, MAX_RETRY_AFTER_MS), wait);
    return wait;
  }

  /** Logs a change of state once (not every retry): the outage, its kind, and the recovery. */
  private setState(state: ForwarderState, reason?: string): void {
    if (reason !== undefined) {
      this.lastError = reason;
      this.lastErrorAt = Date.now();
    }
    if (state === this.state) return;
    const previous = this.state;
    this.state = state;
    const { backlogLines } = this.queue.stats();
    const fields = { target: this.writer.target, backlog: backlogLines, reason };
    switch (state) {
      case 'ok':
        if (previous !== 'starting') this.log.info('InfluxDB accepts writes again; sending the buffered readings', fields);
        else this.log.info('writing to InfluxDB', fields);
        break;
      case 'unreachable':
        this.log.warn('InfluxDB unreachable; readings wait in the durable buffer and are sent when it is back', fields);
        break;
      case 'unauthorized':
        this.log.error('InfluxDB refuses the credentials (check token or username/password); readings wait in the buffer', fields);
        break;
      case 'misconfigured':
        this.log.error('InfluxDB has no such database/bucket or write endpoint (check url, api, database/bucket); readings wait in the buffer', fields);
        break;
      case 'starting':
      case 'stopped':
        break;
    }
  }

  private sleep(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const done = (): void => {
        clearTimeout(timer);
        this.wakeSleep = undefined;
        resolve();
      };
      const timer = setTimeout(done, ms);
      this.wakeSleep = done;
    });
  }
}

/** Index of the n-th '\n' (1-based) in text. */
function nthNewline(text: string, n: number): number {
  let at = -1;
  for (let i = 0; i < n; i++) at = text.indexOf('\n', at + 1);
  return at;
}

/** The timestamp ending the first line of a batch (line protocol puts it last). */
function timestampOf(data: Buffer): number | undefined {
  const end = data.indexOf(0x0a);
  const firstLine = data.subarray(0, end === -1 ? data.length : end);
  // The timestamp, the last field, is ASCII digits.
  const ts = Number(firstLine.toString('latin1', firstLine.lastIndexOf(0x20) + 1));
  return Number.isFinite(ts) ? ts : undefined;
}
