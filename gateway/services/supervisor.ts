import { Backoff } from '../util/backoff.js';
import type { Logger } from '../util/log.js';
import type { Service, ServiceHealth, ServiceState } from './service.js';

interface Entry {
  readonly service: Service;
  state: ServiceState;
  error: string | undefined;
  failedStarts: number;
  retry: NodeJS.Timeout | undefined;
  readonly backoff: Backoff;
  /** The start in progress (first or a retry), so stop waits for it rather than racing it. */
  starting: Promise<void> | undefined;
}

export interface SupervisorOptions {
  retryMinMs?: number;
  retryMaxMs?: number;
}

/**
 * Starts the gateway's parts in the order listed and stops them in reverse. A part that fails to start is reported,
 * and retried with capped backoff while the others run; an essential one (broker, durable buffer) fails the start,
 * stopping what had started. Like zigbee2mqtt's controller: one failing extension never takes the rest down.
 */
export class Supervisor {
  private readonly entries: Entry[];
  private stopped = false;

  constructor(
    services: readonly Service[],
    private readonly log: Logger,
    opts: SupervisorOptions = {},
  ) {
    const backoff = { initialMs: opts.retryMinMs ?? 1000, maxMs: opts.retryMaxMs ?? 60_000 };
    this.entries = services.map((service) => ({ service, state: 'stopped', error: undefined, failedStarts: 0, retry: undefined, backoff: new Backoff(backoff), starting: undefined }));
  }

  async start(): Promise<void> {
    for (const entry of this.entries) {
      const started = await this.attempt(entry);
      if (!started && entry.service.essential) {
        await this.stop();
        throw new Error(`${entry.service.name} could not start: ${entry.error ?? 'unknown error'}`);
      }
    }
  }

  /** Stops every part in reverse order; a part that fails to stop is logged and the others still stop. */
  async stop(): Promise<void> {
    this.stopped = true;
    for (const entry of [...this.entries].reverse()) {
      clearTimeout(entry.retry);
      await entry.starting?.catch(() => undefined);
      if (entry.state !== 'running') {
        entry.state = 'stopped';
        continue;
      }
      entry.state = 'stopping';
      try {
        await entry.service.stop();
      } catch (error) {
        this.log.error('part failed to stop', { part: entry.service.name, error });
      }
      entry.state = 'stopped';
    }
  }

  health(): ServiceHealth[] {
    return this.entries.map(({ service, state, error, failedStarts }) => ({ name: service.name, essential: service.essential, state, failedStarts, ...(error === undefined ? {} : { error }) }));
  }

  /** One start; on failure a non-essential part is scheduled to try again. True when it runs. */
  private async attempt(entry: Entry): Promise<boolean> {
    entry.state = 'starting';
    entry.starting = entry.service.start();
    try {
      await entry.starting;
    } catch (error) {
      entry.failedStarts++;
      entry.error = error instanceof Error ? error.message : String(error);
      entry.state = 'retrying';
      const fields = { part: entry.service.name, error: entry.error, failed_starts: entry.failedStarts };
      if (entry.service.essential) this.log.error('essential part could not start', fields);
      else this.scheduleRetry(entry, fields);
      return false;
    } finally {
      entry.starting = undefined;
    }
    if (entry.failedStarts > 0) this.log.info('part started after failing', { part: entry.service.name, failed_starts: entry.failedStarts });
    entry.state = 'running';
    entry.error = undefined;
    return true;
  }

  private scheduleRetry(entry: Entry, fields: Record<string, unknown>): void {
    if (this.stopped) return;
    const delay = entry.backoff.next();
    // The first failure is worth an error; the retries that follow say so once each, at warn.
    const message = 'part could not start; the others run, it is retried';
    if (entry.failedStarts === 1) this.log.error(message, { ...fields, retry_in_ms: Math.round(delay) });
    else this.log.warn(message, { ...fields, retry_in_ms: Math.round(delay) });
    entry.retry = setTimeout(() => {
      entry.retry = undefined;
      if (!this.stopped) void this.attempt(entry);
    }, delay);
    entry.retry.unref();
  }
}
