import type { Logger } from '../../gateway/util/log.js';

export type BadLineKind = 'malformed' | 'checksum' | 'overlong';

const SAMPLE_CHARS = 80;

/**
 * Warns about a device's bad lines without flooding the log: a device gone haywire can print hundreds of bad lines
 * a second. The first bad line is logged at once; those that follow within the window are counted and summed up
 * in one warning when it ends (with the last one as an example), at most one per window.
 */
export class BadLineLog {
  private window: NodeJS.Timeout | undefined;
  private suppressed: Record<BadLineKind, number> = { malformed: 0, checksum: 0, overlong: 0 };
  private last: { kind: BadLineKind; error: string; sample: string } | undefined;

  constructor(
    private readonly log: Logger,
    private readonly device: string,
    private readonly windowMs = 10_000,
  ) {}

  report(kind: BadLineKind, error: string, line: string): void {
    const sample = line.length > SAMPLE_CHARS ? `${line.slice(0, SAMPLE_CHARS)}...` : line;
    if (this.window) {
      this.suppressed[kind]++;
      this.last = { kind, error, sample };
      return;
    }
    this.log.warn('bad line', { device: this.device, kind, error, sample });
    this.openWindow();
  }

  /** Logs what is still counted and stops the timer. */
  close(): void {
    clearTimeout(this.window);
    this.window = undefined;
    this.flush();
  }

  private openWindow(): void {
    this.window = setTimeout(() => {
      // A quiet window ends the rate limit: the next bad line is logged at once again.
      this.window = undefined;
      if (this.flush()) this.openWindow();
    }, this.windowMs);
  }

  /** Logs the summary of the suppressed lines, if any; true if it did. */
  private flush(): boolean {
    const total = this.suppressed.malformed + this.suppressed.checksum + this.suppressed.overlong;
    if (total === 0 || !this.last) return false;
    this.log.warn('more bad lines since the last warning', {
      device: this.device,
      count: total,
      ...this.suppressed,
      last_kind: this.last.kind,
      last_error: this.last.error,
      last_sample: this.last.sample,
    });
    this.suppressed = { malformed: 0, checksum: 0, overlong: 0 };
    this.last = undefined;
    return true;
  }
}
