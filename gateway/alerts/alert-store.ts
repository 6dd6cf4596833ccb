import { mkdirSync, readFileSync, rename, renameSync, rmSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';
import { exactJson } from '../contract/json.js';
import { Backoff, type BackoffOptions } from '../util/backoff.js';
import type { Logger } from '../util/log.js';
import { LogLimiter } from '../util/log-limiter.js';
import type { ActiveAlert } from './engine.js';

/** Bounds of the backoff between tries after a failed save (a full disk). */
const RETRY: BackoffOptions = { initialMs: 1000, maxMs: 60_000 };
const ERROR_LOG_INTERVAL_MS = 60_000;

/**
 * A save is followed by a pause of this many times its own duration before the next, at most MAX_PAUSE_MS: the store
 * takes at most about 1/(1+PAUSE_PER_SAVE) of the event loop in an alert storm, however many alerts it holds.
 */
const PAUSE_PER_SAVE = 19;
/** A save the disk stalled is no reason to leave the next changes unsaved for long. */
const MAX_PAUSE_MS = 1000;

/**
 * Keeps the active alerts on disk (`data_dir/alerts/active.json`), so that after a restart a firing alert is still
 * firing, with its start time, acknowledgement and reminder schedule, and is not announced as new. Writes are atomic
 * (write, then rename) and coalesced: the changes of one turn of the event loop go in one save at its end. When a save
 * fails (a full disk) the alerts carry on in memory and the save is tried again with a backoff, so the file catches up
 * once there is room.
 *
 * The temp file is written here, synchronously, as the buffers' appends are (30 µs on ext4), and renamed in the
 * threadpool: one round trip per save. The rename flushes the new file's blocks (ext4's auto_da_alloc) and waits for
 * the disk when InfluxDB and the buffers keep it busy: done here, it held the event loop, readings and alarms with it,
 * for up to 8 ms, 17–23 times in a paced run at 50,000 readings/s. Through fs/promises a save was four round trips,
 * 4% of the main thread under the bench's alert storm (300 alert changes a second). The next save waits for the
 * rename, then for the pause, so the disk sees no more saves than when both ran here.
 */
export class AlertStore {
  private pending: (() => readonly ActiveAlert[]) | undefined;
  /** Cancels the save scheduled (at the end of the turn, after a pause or for a retry), if one is. */
  private cancelScheduled: (() => void) | undefined;
  /** performance.now() before which no save starts (see PAUSE_PER_SAVE). */
  private nextSaveAt = 0;
  /** A save's temp file is being renamed into place; the changes meanwhile wait for the next save. */
  private renaming = false;
  private closed = false;
  /** Its failures are the saves failed since the last that succeeded. */
  private readonly retry: Backoff;
  private readonly errorLog: LogLimiter;

  /** `retry`: the backoff's bounds; a test passes short ones, so that it need not wait out a minute-long backoff. */
  constructor(
    readonly path: string,
    private readonly log: Logger,
    retry: BackoffOptions = RETRY,
  ) {
    mkdirSync(dirname(path), { recursive: true });
    this.retry = new Backoff(retry);
    this.errorLog = new LogLimiter(log, ERROR_LOG_INTERVAL_MS);
  }

  load(): ActiveAlert[] {
    let text: string;
    try {
      text = readFileSync(this.path, 'utf8');
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ENOENT') return [];
      throw error;
    }
    try {
      const alerts = JSON.parse(text) as ActiveAlert[];
      if (!Array.isArray(alerts)) throw new Error('not a list');
      return alerts;
    } catch (error) {
      // A damaged file must not keep the gateway from starting: its alerts will fire again if their cause remains.
      this.log.error('cannot read the saved alerts; starting without them', { file: this.path, error });
      return [];
    }
  }

  /**
   * Saves what `snapshot` returns at the end of this turn of the event loop, with every other change of the turn; after
   * a pause that a storm of changes makes (see PAUSE_PER_SAVE), or while saves fail at the next retry, later.
   */
  save(snapshot: () => readonly ActiveAlert[]): void {
    this.pending = snapshot;
    if (!this.closed && !this.cancelScheduled && !this.renaming) this.scheduleSave(this.nextSaveAt - performance.now());
  }

  /** Writes what is still pending now (on shutdown). */
  close(): void {
    this.closed = true;
    this.cancelScheduled?.();
    this.cancelScheduled = undefined;
    const snapshot = this.pending;
    this.pending = undefined;
    if (!snapshot) return;
    let error = this.writeTemp(snapshot);
    if (!error) {
      try {
        renameSync(this.tmp, this.path);
      } catch (renameError) {
        // A rename still in flight took this very temp file, written just now, into place: the file holds the latest.
        const tookIt = this.renaming && (renameError as NodeJS.ErrnoException).code === 'ENOENT';
        if (!tookIt) error = this.discardTemp(renameError);
      }
    }
    if (error) this.log.error('cannot save the active alerts at shutdown; they will be re-evaluated from readings', { file: this.path, error });
  }

  private get tmp(): string {
    return `${this.path}.tmp`;
  }

  /** Saves at the end of this turn, or in `ms` (a timer that does not keep the process alive). */
  private scheduleSave(ms: number): void {
    if (ms <= 0) {
      const immediate = setImmediate(() => this.saveNow());
      this.cancelScheduled = () => clearImmediate(immediate);
      return;
    }
    const timer = setTimeout(() => this.saveNow(), ms);
    timer.unref();
    this.cancelScheduled = () => clearTimeout(timer);
  }

  private saveNow(): void {
    this.cancelScheduled = undefined;
    const snapshot = this.pending;
    if (this.closed || !snapshot) return;
    this.pending = undefined;
    const started = performance.now();
    const error = this.writeTemp(snapshot);
    if (error) {
      this.failed(snapshot, error);
      return;
    }
    this.renaming = true;
    rename(this.tmp, this.path, (renameError) => {
      this.renaming = false;
      if (this.closed) return; // close() saved the latest itself
      if (renameError) {
        this.failed(snapshot, this.discardTemp(renameError));
        return;
      }
      if (this.retry.failures > 0) this.log.info('active alerts saved again', { file: this.path, failed_saves: this.retry.failures });
      this.retry.reset();
      const ended = performance.now();
      this.nextSaveAt = ended + Math.min(MAX_PAUSE_MS, PAUSE_PER_SAVE * (ended - started));
      if (this.pending) this.scheduleSave(this.nextSaveAt - ended);
    });
  }

  private failed(snapshot: () => readonly ActiveAlert[], error: Error): void {
    // Kept for the retry, unless a later change replaced it already.
    this.pending ??= snapshot;
    const retryInMs = this.retry.next();
    this.errorLog.error('save', 'cannot save the active alerts; they are kept in memory and saved when possible', { file: this.path, error, retry_in_ms: retryInMs, failed_saves: this.retry.failures });
    this.scheduleSave(retryInMs);
  }

  /** Writes the temp file; what failed, if it could not. */
  private writeTemp(snapshot: () => readonly ActiveAlert[]): Error | undefined {
    try {
      writeFileSync(this.tmp, exactJson(snapshot()));
      return undefined;
    } catch (error) {
      return this.discardTemp(error);
    }
  }

  /** Removes a temp file a save left, and returns the save's error. */
  private discardTemp(error: unknown): Error {
    // A half-written temp file would hold on to the very space the next try needs; if it cannot go, the next save
    // writes over it.
    try {
      rmSync(this.tmp, { force: true });
    } catch {
      // The save's own error is the one to report.
    }
    return error instanceof Error ? error : new Error(String(error));
  }
}
