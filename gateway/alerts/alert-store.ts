import { mkdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { rename, rm, writeFile } from 'node:fs/promises';
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
 * Keeps the active alerts on disk (`data_dir/alerts/active.json`), so that after a restart a firing alert is still
 * firing, with its start time, acknowledgement and reminder schedule, and is not announced as new. Writes are atomic
 * (write, then rename), off the event loop, and coalesced: one write at a time, carrying every change made before it. When a save fails (a full disk) the alerts carry
 * on in memory and the save is tried again with a backoff, so the file catches up once there is room.
 */
export class AlertStore {
  private pending: (() => readonly ActiveAlert[]) | undefined;
  /** The write on its way, if any: one at a time, so the last state always lands last. */
  private writing: Promise<void> | undefined;
  private closed = false;
  private retryTimer: NodeJS.Timeout | undefined;
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
   * Saves what `snapshot` returns, soon: the changes of this turn of the event loop, and those made while a write is
   * on its way, go in one write; while saves fail, at the next retry instead. The file is written off the event loop,
   * so a burst of alert changes under load costs the readings nothing.
   */
  save(snapshot: () => readonly ActiveAlert[]): void {
    this.pending = snapshot;
    this.writeSoon();
  }

  /** Lets a write on its way land, then writes what is still pending now (on shutdown). */
  async close(): Promise<void> {
    this.closed = true;
    await this.writing;
    clearTimeout(this.retryTimer);
    this.retryTimer = undefined;
    const snapshot = this.pending;
    if (!snapshot) return;
    this.pending = undefined;
    try {
      writeFileSync(this.tmp, exactJson(snapshot()));
      renameSync(this.tmp, this.path);
    } catch (error) {
      rmSync(this.tmp, { force: true });
      this.log.error('cannot save the active alerts at shutdown; they will be re-evaluated from readings', { file: this.path, error });
    }
  }

  private get tmp(): string {
    return `${this.path}.tmp`;
  }

  private writeSoon(): void {
    if (this.closed || this.writing || this.retryTimer || !this.pending) return;
    this.writing = this.write().finally(() => {
      this.writing = undefined;
      this.writeSoon();
    });
  }

  private async write(): Promise<void> {
    await new Promise((resolve) => setImmediate(resolve));
    const snapshot = this.pending;
    if (!snapshot) return;
    this.pending = undefined;
    try {
      await writeFile(this.tmp, exactJson(snapshot()));
      await rename(this.tmp, this.path);
    } catch (error) {
      // A half-written temp file would hold on to the very space the next try needs.
      await rm(this.tmp, { force: true });
      // A newer change meanwhile supersedes this one; otherwise this one waits for the retry.
      this.pending ??= snapshot;
      const retryInMs = this.retry.next();
      this.errorLog.error('save', 'cannot save the active alerts; they are kept in memory and saved when possible', { file: this.path, error, retry_in_ms: retryInMs, failed_saves: this.retry.failures });
      this.retryTimer = setTimeout(() => {
        this.retryTimer = undefined;
        this.writeSoon();
      }, retryInMs);
      this.retryTimer.unref();
      return;
    }
    if (this.retry.failures > 0) this.log.info('active alerts saved again', { file: this.path, failed_saves: this.retry.failures });
    this.retry.reset();
  }
}
