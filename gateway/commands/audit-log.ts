import { appendFile, mkdir, rename, rm, stat } from 'node:fs/promises';
import { join } from 'node:path';
import type { Logger } from '../util/log.js';
import { LogLimiter } from '../util/log-limiter.js';

const FAILURE_LOG_MS = 60_000;

export interface AuditLogOptions {
  /** The directory of the log: `data_dir/audit`. */
  readonly dir: string;
  /** `commands` → commands.jsonl, rotated to commands.1.jsonl, commands.2.jsonl... */
  readonly name: string;
  /** The live file is rotated before a line would take it past this. */
  readonly maxBytes: number;
  /** Rotated files kept; the oldest beyond is removed. */
  readonly keep: number;
}

/**
 * An append-only JSON-lines log, bounded on disk: rotated at a size, a fixed number of old files kept. Lines are
 * appended one after another in call order. A line that cannot be written (a full disk) is counted and logged, never
 * thrown: the audit must not take down what it records.
 */
export class AuditLog {
  /** Lines that could not be written. */
  failures = 0;
  private size: number | undefined;
  private tail: Promise<void> = Promise.resolve();
  private readonly failureLog: LogLimiter;

  constructor(
    private readonly opts: AuditLogOptions,
    private readonly log: Logger,
  ) {
    this.failureLog = new LogLimiter(log, FAILURE_LOG_MS);
  }

  get path(): string {
    return this.fileAt(0);
  }

  /** Appends one line (a JSON text without a newline); resolves once it is written, or counted as lost. */
  append(line: string): Promise<void> {
    const run = this.tail.then(() => this.write(`${line}\n`));
    this.tail = run;
    return run;
  }

  /** Resolves once every line appended so far is written. */
  flush(): Promise<void> {
    return this.tail;
  }

  private async write(text: string): Promise<void> {
    try {
      const bytes = Buffer.byteLength(text);
      const size = (this.size ??= await this.currentSize());
      if (size > 0 && size + bytes > this.opts.maxBytes) await this.rotate();
      await appendFile(this.path, text);
      this.size = (this.size ?? 0) + bytes;
    } catch (error) {
      this.failures++;
      // The size is read again next time: the file may have been partly written.
      this.size = undefined;
      this.failureLog.error('audit', 'cannot write the audit log', { file: this.path, error, audit_failures: this.failures });
    }
  }

  private async currentSize(): Promise<number> {
    await mkdir(this.opts.dir, { recursive: true });
    try {
      return (await stat(this.path)).size;
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ENOENT') return 0;
      throw error;
    }
  }

  private async rotate(): Promise<void> {
    await rm(this.fileAt(this.opts.keep), { force: true });
    for (let i = this.opts.keep - 1; i >= 0; i--) {
      await rename(this.fileAt(i), this.fileAt(i + 1)).catch((error: NodeJS.ErrnoException) => {
        if (error.code !== 'ENOENT') throw error;
      });
    }
    this.size = 0;
    this.log.info('audit log rotated', { file: this.path, kept: this.opts.keep });
  }

  private fileAt(index: number): string {
    return join(this.opts.dir, index === 0 ? `${this.opts.name}.jsonl` : `${this.opts.name}.${index}.jsonl`);
  }
}
