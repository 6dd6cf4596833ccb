import { mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';
import type { Logger } from '../util/log.js';
import type { ActiveAlert } from './engine.js';

/**
 * Keeps the active alerts on disk (`data_dir/alerts/active.json`), so that after a restart a firing alert is still
 * firing, with its start time, acknowledgement and reminder schedule, and is not announced as new. Writes are atomic
 * (write, then rename) and coalesced to one per event-loop turn.
 */
export class AlertStore {
  private pending: (() => readonly ActiveAlert[]) | undefined;

  constructor(
    readonly path: string,
    private readonly log: Logger,
  ) {
    mkdirSync(dirname(path), { recursive: true });
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

  /** Saves what `snapshot` returns at the end of this turn of the event loop (several changes, one write). */
  save(snapshot: () => readonly ActiveAlert[]): void {
    if (this.pending) {
      this.pending = snapshot;
      return;
    }
    this.pending = snapshot;
    setImmediate(() => this.flush());
  }

  /** Writes a pending save now (on shutdown). */
  flush(): void {
    const snapshot = this.pending;
    this.pending = undefined;
    if (!snapshot) return;
    try {
      writeFileSync(`${this.path}.tmp`, JSON.stringify(snapshot()));
      renameSync(`${this.path}.tmp`, this.path);
    } catch (error) {
      this.log.error('cannot save the active alerts', { file: this.path, error });
    }
  }
}
