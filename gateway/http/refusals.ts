import type { Logger } from '../util/log.js';
import { LogLimiter } from '../util/log-limiter.js';

/** Why a request was refused, as counted in health and /metrics. */
export const refusalReasons = ['no_credentials', 'bad_credentials', 'expired_session', 'login_not_allowed', 'forbidden', 'cross_origin', 'rate_limited'] as const;
export type RefusalReason = (typeof refusalReasons)[number];

const LOG_INTERVAL_MS = 10_000;

/** Counts refused requests by reason and logs each (the user and remote address), rate-limited per address and reason. */
export class Refusals {
  private readonly counts = Object.fromEntries(refusalReasons.map((reason) => [reason, 0])) as Record<RefusalReason, number>;
  private readonly log: LogLimiter;

  constructor(log: Logger) {
    this.log = new LogLimiter(log, LOG_INTERVAL_MS);
  }

  note(reason: RefusalReason, fields: { remote: string; user: string | undefined; method: string; url: string; why: string }): void {
    this.counts[reason]++;
    this.log.warn(`${fields.remote} ${reason}`, 'HTTP request refused', { reason, ...fields });
  }

  stats(): Readonly<Record<RefusalReason, number>> {
    return { ...this.counts };
  }
}
