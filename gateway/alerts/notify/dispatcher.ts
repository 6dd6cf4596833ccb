/**
 * Delivers alert events to the notifiers they are addressed to. Each notifier has its own FIFO queue and delivers one
 * event at a time, so a receiver that hangs or refuses only ever delays its own queue: the duty webhook keeps paging
 * while the mail relay is down. Failed deliveries are retried with capped, jittered exponential backoff until the
 * event is too old to matter; a queue that grows past its bound sheds its oldest events.
 */
import type { Logger } from '../../util/log.js';
import type { AlertEvent, Notifier } from '../alert.js';

export interface DispatcherOptions {
  /** First retry delay after a failed delivery (ms); doubles per consecutive failure. Default 1 s. */
  readonly retryInitial?: number;
  /** Cap of the retry delay (ms). Default 5 min. */
  readonly retryMax?: number;
  /** An event still undelivered this long after it was queued is given up (ms). Default 24 h. */
  readonly maxAge?: number;
  /** Events each notifier may hold (the one being delivered included); beyond it the oldest waiting one is dropped. Default 1000. */
  readonly queueSize?: number;
  /**
   * Last-resort bound of one delivery attempt (ms), for a notifier whose own timeouts fail to fire. The abandoned
   * attempt may still land, so the receiver can see a duplicate — better than a queue stuck for good. Default 2 min.
   */
  readonly attemptTimeout?: number;
  /** How long close() waits for attempts in flight and for the notifiers to close (ms). Default 5 s. */
  readonly closeTimeout?: number;
}

/** Per-notifier counters, snake_case because they are shown to operators as they are. */
export interface NotifierStats {
  /** Events waiting or being delivered. */
  readonly queued: number;
  readonly delivered: number;
  readonly failed_attempts: number;
  /** Events shed because the queue was full. */
  readonly dropped: number;
  /** Events given up because they stayed undelivered longer than maxAge. */
  readonly expired: number;
  readonly last_error: string | undefined;
  /** Epoch ms of the last delivery. */
  readonly last_success: number | undefined;
}

type Settings = Required<DispatcherOptions>;

const defaults: Settings = {
  retryInitial: 1000,
  retryMax: 5 * 60_000,
  maxAge: 24 * 3_600_000,
  queueSize: 1000,
  attemptTimeout: 2 * 60_000,
  closeTimeout: 5000,
};

export class NotificationDispatcher {
  private readonly queues = new Map<string, NotifierQueue>();
  private readonly reportedUnknown = new Set<string>();
  private closed = false;
  private readonly settings: Settings;

  constructor(
    notifiers: readonly Notifier[],
    opts: DispatcherOptions,
    private readonly log: Logger,
  ) {
    this.settings = { ...defaults, ...definedOnly(opts) };
    for (const notifier of notifiers) {
      if (this.queues.has(notifier.name)) throw new Error(`two notifiers are named "${notifier.name}"`);
      this.queues.set(notifier.name, new NotifierQueue(notifier, this.settings, log));
    }
  }

  /** Queues `event` for each named notifier and returns at once; an unknown name is logged (once per name). */
  send(event: AlertEvent, targets: readonly string[]): void {
    try {
      if (this.closed) {
        this.log.warn('alert event after shutdown, not delivered', { alert: event.id, kind: event.kind });
        return;
      }
      for (const target of new Set(targets)) {
        const queue = this.queues.get(target);
        if (queue) queue.enqueue(event);
        else this.reportUnknown(target, event);
      }
    } catch (error) {
      // The caller is the rule engine: a notification problem must never break alert evaluation.
      this.log.error('could not queue alert event', { alert: event.id, error });
    }
  }

  stats(): Record<string, NotifierStats> {
    const out: Record<string, NotifierStats> = {};
    for (const [name, queue] of this.queues) out[name] = queue.stats();
    return out;
  }

  /** Stops retrying, lets attempts in flight finish and closes the notifiers, all within closeTimeout. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    const queues = [...this.queues.values()];
    const pending = new Set(queues.map((queue) => queue.name));
    const shutdowns = Promise.all(queues.map((queue) => queue.shutdown().then(() => pending.delete(queue.name))));
    let timer: NodeJS.Timeout | undefined;
    const deadline = new Promise<void>((resolve) => {
      timer = setTimeout(resolve, this.settings.closeTimeout);
    });
    await Promise.race([shutdowns, deadline]);
    clearTimeout(timer);
    if (pending.size > 0) {
      this.log.warn('notifiers still busy at shutdown, abandoned', { notifiers: [...pending].join(','), waited_ms: this.settings.closeTimeout });
    }
  }

  private reportUnknown(target: string, event: AlertEvent): void {
    if (this.reportedUnknown.has(target)) return;
    this.reportedUnknown.add(target);
    this.log.warn('alert addressed to an unknown notifier (reported once per name)', { notifier: target, rule: event.rule });
  }
}

interface Pending {
  readonly event: AlertEvent;
  /** Epoch ms when it was queued, for maxAge. */
  readonly queuedAt: number;
}

/** One notifier's FIFO, its single delivery loop and its retry state. */
class NotifierQueue {
  readonly name: string;
  private readonly waiting: Pending[] = [];
  private current: Pending | undefined;
  private attempt: Promise<void> | undefined;
  private retryTimer: NodeJS.Timeout | undefined;
  /** Failures since the last success: the backoff exponent, and whether the notifier counts as failing. */
  private consecutiveFailures = 0;
  private failingSince: number | undefined;
  private closed = false;
  private delivered = 0;
  private failedAttempts = 0;
  private dropped = 0;
  private expired = 0;
  private lastError: string | undefined;
  private lastSuccess: number | undefined;

  constructor(
    private readonly notifier: Notifier,
    private readonly settings: Settings,
    private readonly log: Logger,
  ) {
    this.name = notifier.name;
  }

  enqueue(event: AlertEvent): void {
    if (this.closed) return;
    this.waiting.push({ event, queuedAt: Date.now() });
    // The event being delivered is never dropped: it may already be on its way.
    while (this.held() > this.settings.queueSize && this.waiting.length > 0) {
      const oldest = this.waiting.shift()!;
      this.dropped++;
      this.log.warn('notifier queue full, oldest alert event dropped', { notifier: this.name, alert: oldest.event.id, kind: oldest.event.kind, dropped: this.dropped });
    }
    this.startNext();
  }

  stats(): NotifierStats {
    return {
      queued: this.held(),
      delivered: this.delivered,
      failed_attempts: this.failedAttempts,
      dropped: this.dropped,
      expired: this.expired,
      last_error: this.lastError,
      last_success: this.lastSuccess,
    };
  }

  async shutdown(): Promise<void> {
    this.closed = true;
    clearTimeout(this.retryTimer);
    this.retryTimer = undefined;
    if (this.held() > 0) this.log.warn('alert events left undelivered at shutdown', { notifier: this.name, queued: this.held() });
    await this.attempt;
    try {
      await this.notifier.close?.();
    } catch (error) {
      this.log.warn('notifier did not close cleanly', { notifier: this.name, error });
    }
  }

  private held(): number {
    return this.waiting.length + (this.current ? 1 : 0);
  }

  /** Starts delivering the head of the queue unless a delivery is under way or a retry is pending. */
  private startNext(): void {
    if (this.closed || this.current || this.retryTimer) return;
    this.expireStale();
    const next = this.waiting.shift();
    if (!next) return;
    this.current = next;
    this.attempt = this.deliver(next);
  }

  /** Never rejects: every outcome is recorded, and the loop goes on from here. */
  private async deliver(pending: Pending): Promise<void> {
    let failure: { error: unknown } | undefined;
    try {
      await this.boundedAttempt(pending.event);
    } catch (error) {
      failure = { error };
    }
    this.current = undefined;
    this.attempt = undefined;
    if (this.closed) return;
    if (failure) this.onFailure(pending, failure.error);
    else this.onSuccess();
    this.startNext();
  }

  private async boundedAttempt(event: AlertEvent): Promise<void> {
    const limit = this.settings.attemptTimeout;
    let timer: NodeJS.Timeout | undefined;
    const deadline = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new Error(`notifier ${this.name} gave no outcome within ${limit} ms`)), limit);
    });
    try {
      // Promise.resolve().then(): a notifier that throws synchronously becomes a rejection like any other failure.
      await Promise.race([Promise.resolve().then(() => this.notifier.deliver(event)), deadline]);
    } finally {
      clearTimeout(timer);
    }
  }

  private onSuccess(): void {
    this.delivered++;
    this.lastSuccess = Date.now();
    if (this.failingSince !== undefined) {
      this.log.info('notifier working again', {
        notifier: this.name,
        failed_attempts: this.consecutiveFailures,
        outage_s: Math.round((this.lastSuccess - this.failingSince) / 1000),
      });
    }
    this.failingSince = undefined;
    this.consecutiveFailures = 0;
  }

  private onFailure(pending: Pending, error: unknown): void {
    this.failedAttempts++;
    this.consecutiveFailures++;
    this.lastError = error instanceof Error ? error.message : String(error);
    if (this.failingSince === undefined) {
      this.failingSince = Date.now();
      this.log.warn('notifier failing, retrying with backoff', { notifier: this.name, error: this.lastError, queued: this.held() + 1 });
    } else {
      this.log.debug('notifier still failing', { notifier: this.name, error: this.lastError, attempt: this.consecutiveFailures });
    }
    if (this.isExpired(pending)) this.giveUp(pending);
    else this.waiting.unshift(pending);
    const delay = retryDelay(this.consecutiveFailures, this.settings.retryInitial, this.settings.retryMax);
    this.retryTimer = setTimeout(() => {
      this.retryTimer = undefined;
      this.startNext();
    }, delay);
    // A pending retry must not keep a gateway that is otherwise done from exiting.
    this.retryTimer.unref();
  }

  /** Events behind a failing head age too: give up the ones past maxAge before trying them. */
  private expireStale(): void {
    while (this.waiting.length > 0 && this.isExpired(this.waiting[0]!)) this.giveUp(this.waiting.shift()!);
  }

  private isExpired(pending: Pending): boolean {
    return Date.now() - pending.queuedAt >= this.settings.maxAge;
  }

  private giveUp(pending: Pending): void {
    this.expired++;
    this.log.warn('alert event given up, undelivered for too long', {
      notifier: this.name,
      alert: pending.event.id,
      kind: pending.event.kind,
      queued_s: Math.round((Date.now() - pending.queuedAt) / 1000),
      expired: this.expired,
      last_error: this.lastError,
    });
  }
}

/**
 * Capped exponential backoff with "equal jitter": half the nominal delay is fixed and half random, so gateways that
 * lost the same receiver do not retry in lockstep, yet none retries sooner than half the nominal delay.
 */
export function retryDelay(failures: number, initial: number, max: number, random: () => number = Math.random): number {
  const nominal = Math.min(max, initial * 2 ** Math.min(Math.max(failures - 1, 0), 30));
  return nominal / 2 + (random() * nominal) / 2;
}

function definedOnly(opts: DispatcherOptions): Partial<Settings> {
  return Object.fromEntries(Object.entries(opts).filter(([, value]) => value !== undefined)) as Partial<Settings>;
}
