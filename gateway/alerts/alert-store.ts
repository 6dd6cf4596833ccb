import { mkdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';
import { exactJson } from '../contract/json.js';
import { Backoff } from '../util/backoff.js';
import type { Logger } from '../util/log.js';
import { LogLimiter } from '../util/log-limiter.js';
import type { ActiveAlert } from './engine.js';

/** Bounds of the backoff between tries after a failed save (a full disk). */
const RETRY_INITIAL_MS = 1000;
const RETRY_MAX_MS = 60_000;
const ERROR_LOG_INTERVAL_MS = 60_000;

/**
 * Keeps the active alerts on disk (`data_dir/alerts/active.json`), so that after a restart a firing alert is still
 * firing, with its start time, acknowledgement and reminder schedule, and is not announced as new. Writes are atomic
 * (write, then rename) and coalesced to one per event-loop turn. When a save fails (a full disk) the alerts carry
 * on in memory and the save is tried again with a backoff, so the file catches up once there is room.
 */
export class AlertStore {
  private pending: (() => readonly ActiveAlert[]) | undefined;
  private scheduled = false;
  private retryTimer: NodeJS.Timeout | undefined;
  /** Its failures are the saves failed since the last that succeeded. */
  private readonly retry = new Backoff({ initialMs: RETRY_INITIAL_MS, maxMs: RETRY_MAX_MS });
  private readonly errorLog: LogLimiter;

  constructor(
    readonly path: string,
    private readonly log: Logger,
  ) {
    mkdirSync(dirname(path), { recursive: true });
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
   * Saves what `snapshot` returns at the end of this turn of the event loop (several changes, one write); while
   * saves fail, at the next retry instead.
   */
  save(snapshot: () => readonly ActiveAlert[]): void {
    this.pending = snapshot;
    if (this.scheduled || this.retryTimer) return;
    this.scheduled = true;
    setImmediate(() => {
      this.scheduled = false;
      this.flush();
    });
  }

  /** Writes a pending save now (on shutdown); when it fails the state stays pending and a retry is scheduled. */
  flush(): void {
    clearTimeout(this.retryTimer);
    this.retryTimer = undefined;
    const snapshot = this.pending;
    if (!snapshot) return;
    const tmp = `${this.path}.tmp`;
    try {
      writeFileSync(tmp, exactJson(snapshot()));
      renameSync(tmp, this.path);
    } catch (error) {
      // A half-written temp file would hold on to the very space the next try needs.
      rmSync(tmp, { force: true });
      const retryInMs = this.retry.next();
      this.errorLog.error('save', 'cannot save the active alerts; they are kept in memory and saved when possible', { file: this.path, error, retry_in_ms: retryInMs, failed_saves: this.retry.failures });
      this.retryTimer = setTimeout(() => this.flush(), retryInMs);
      this.retryTimer.unref();
      return;
    }
    this.pending = undefined;
    if (this.retry.failures > 0) this.log.info('active alerts saved again', { file: this.path, failed_saves: this.retry.failures });
    this.retry.reset();
  }
}
