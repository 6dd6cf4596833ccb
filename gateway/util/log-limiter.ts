import type { LogFields, Logger } from './log.js';

const MAX_KEYS = 10_000;

/**
 * Logs a repeated problem at once, then at most once per interval per key, with how many were left out meanwhile:
 * a platform that refuses every command, or a full disk, must not flood the log of a box on a pole.
 */
export class LogLimiter {
  private readonly last = new Map<string, { at: number; suppressed: number }>();

  constructor(
    private readonly log: Logger,
    private readonly intervalMs: number,
  ) {}

  warn(key: string, msg: string, fields: LogFields): void {
    this.write('warn', key, msg, fields);
  }

  error(key: string, msg: string, fields: LogFields): void {
    this.write('error', key, msg, fields);
  }

  private write(level: 'warn' | 'error', key: string, msg: string, fields: LogFields): void {
    const now = performance.now();
    const last = this.last.get(key);
    if (last && now - last.at < this.intervalMs) {
      last.suppressed++;
      return;
    }
    this.log[level](msg, last?.suppressed ? { ...fields, more_since_last_line: last.suppressed } : fields);
    // Keys may be per client: forget them all now and then rather than grow without bound.
    if (this.last.size >= MAX_KEYS) this.last.clear();
    this.last.set(key, { at: now, suppressed: 0 });
  }
}
