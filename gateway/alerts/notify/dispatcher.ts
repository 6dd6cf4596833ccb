/**
 * Delivers alert events to the notifiers they are addressed to. Each notifier has its own durable outbox (outbox.ts)
 * and delivers one notification at a time from it, so a receiver that hangs or refuses only ever delays its own
 * outbox: the duty webhook keeps paging while the mail relay is down. An event is stored before delivery is tried
 * and forgotten once the target accepted it, so notifications owed at a restart (kill -9 included) are sent after
 * it. Failed deliveries are retried with capped, jittered exponential backoff; a notification older than max_age is
 * given up, and an outbox past its bound sheds the oldest of its least severe notifications. All of it is counted.
 */
import { randomUUID } from 'node:crypto';
import { readdirSync, type Dirent } from 'node:fs';
import { join } from 'node:path';
import { backoffDelay } from '../../util/backoff.js';
import { LogLimiter } from '../../util/log-limiter.js';
import type { Logger } from '../../util/log.js';
import type { AlertEvent, Notifier, Severity } from '../alert.js';
import { NotificationOutbox, type Notification, type OutboxEntry } from './outbox.js';

export interface DispatcherOptions {
  /** First retry delay after a failed delivery (ms); the ceiling doubles per consecutive failure. Default 1 s. */
  readonly retryInitial?: number;
  /** Cap of the retry delay (ms). Default 5 min. */
  readonly retryMax?: number;
  /**
   * Last-resort bound of one delivery attempt (ms), for a notifier whose own timeouts fail to fire. The abandoned
   * attempt may still land, so the receiver can see a duplicate — better than an outbox stuck for good. Default 2 min.
   */
  readonly attemptTimeout?: number;
  /** How long close() waits for attempts in flight and for the notifiers to close (ms). Default 5 s. */
  readonly closeTimeout?: number;
  /** Interval of the rate-limited warnings (drops, expiries, unreadable entries) per notifier (ms). Default 1 min. */
  readonly logInterval?: number;
  /**
   * The folder holding one outbox per notifier name: an outbox there whose notifier is no longer configured (renamed,
   * removed) is reported at start, since what it holds will not be delivered.
   */
  readonly outboxRoot?: string;
}

/** A notifier and where and how much it may hold. */
export interface NotifierTarget {
  readonly notifier: Notifier;
  readonly outbox: {
    readonly dir: string;
    /** Bound of the outbox in bytes; beyond it the oldest of the least severe notifications are dropped. */
    readonly maxBytes: number;
    /** A notification undelivered this long after it was queued is given up (ms). */
    readonly maxAge: number;
  };
}

/** Per-notifier counters, snake_case because they are shown to operators as they are. */
export interface NotifierStats {
  /** Notifications in the outbox (the one being delivered included). */
  readonly queued: number;
  readonly queued_bytes: number;
  readonly queued_by_severity: Record<Severity, number>;
  readonly delivered: number;
  readonly failed_attempts: number;
  /** Notifications shed because the outbox was full. */
  readonly dropped: number;
  /** Notifications given up because they stayed undelivered longer than max_age. */
  readonly expired: number;
  /** Notifications that could not be written to the outbox (e.g. a full disk), hence never delivered. */
  readonly write_failures: number;
  /** Damaged outbox entries skipped. */
  readonly unreadable: number;
  readonly last_error: string | undefined;
  /** Epoch ms of the last delivery. */
  readonly last_success: number | undefined;
}

type Settings = Required<Omit<DispatcherOptions, 'outboxRoot'>>;

const defaults: Settings = {
  retryInitial: 1000,
  retryMax: 5 * 60_000,
  attemptTimeout: 2 * 60_000,
  closeTimeout: 5000,
  logInterval: 60_000,
};

export class NotificationDispatcher {
  private readonly reportedUnknown = new Set<string>();
  private closed = false;

  private constructor(
    private readonly loops: ReadonlyMap<string, NotifierLoop>,
    private readonly settings: Settings,
    private readonly log: Logger,
  ) {}

  /** Opens each notifier's outbox (what an earlier run left is delivered first) and starts delivering. */
  static async open(targets: readonly NotifierTarget[], opts: DispatcherOptions, log: Logger): Promise<NotificationDispatcher> {
    const { outboxRoot, ...timing } = opts;
    const settings = { ...defaults, ...definedOnly(timing) };
    const limiter = new LogLimiter(log, settings.logInterval);
    const loops = new Map<string, NotifierLoop>();
    try {
      for (const { notifier, outbox } of targets) {
        if (loops.has(notifier.name)) throw new Error(`two notifiers are named "${notifier.name}"`);
        const store = NotificationOutbox.open(outbox.dir, { maxBytes: outbox.maxBytes }, log);
        const loop = new NotifierLoop(notifier, store, outbox.maxAge, settings, log, limiter);
        loops.set(notifier.name, loop);
        log.info('notification outbox opened', { notifier: notifier.name, dir: outbox.dir, queued: store.stats().queued });
      }
    } catch (error) {
      // Release the outboxes already open (their locks) before reporting.
      await Promise.all([...loops.values()].map((loop) => loop.shutdown(Promise.resolve())));
      throw error;
    }
    if (outboxRoot !== undefined) reportOrphanOutboxes(outboxRoot, new Set(targets.map((t) => t.outbox.dir)), log);
    for (const loop of loops.values()) loop.startNext();
    return new NotificationDispatcher(loops, settings, log);
  }

  /** Stores `event` in the outbox of each named notifier and returns at once; an unknown name is logged once. */
  send(event: AlertEvent, targets: readonly string[]): void {
    try {
      if (this.closed) {
        this.log.warn('alert event after shutdown, not delivered', { alert: event.id, kind: event.kind });
        return;
      }
      const notification: Notification = { event_id: randomUUID(), queued_at: Date.now(), event };
      for (const target of new Set(targets)) {
        const loop = this.loops.get(target);
        if (loop) loop.enqueue(notification);
        else this.reportUnknown(target, event);
      }
    } catch (error) {
      // The caller is the rule engine: a notification problem must never break alert evaluation.
      this.log.error('could not queue alert event', { alert: event.id, error });
    }
  }

  stats(): Record<string, NotifierStats> {
    const out: Record<string, NotifierStats> = {};
    for (const [name, loop] of this.loops) out[name] = loop.stats();
    return out;
  }

  /** Stops retrying, lets attempts in flight finish, closes outboxes and notifiers, all within closeTimeout. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    let timer: NodeJS.Timeout | undefined;
    const deadline = new Promise<void>((resolve) => {
      timer = setTimeout(resolve, this.settings.closeTimeout);
    });
    const loops = [...this.loops.values()];
    const settled = await Promise.all(loops.map((loop) => loop.shutdown(deadline)));
    clearTimeout(timer);
    const busy = loops.filter((_, i) => !settled[i]).map((loop) => loop.name);
    if (busy.length > 0) {
      this.log.warn('notifiers still busy at shutdown, abandoned (sent again after the restart)', { notifiers: busy.join(','), waited_ms: this.settings.closeTimeout });
    }
  }

  private reportUnknown(target: string, event: AlertEvent): void {
    if (this.reportedUnknown.has(target)) return;
    this.reportedUnknown.add(target);
    this.log.warn('alert addressed to an unknown notifier (reported once per name)', { notifier: target, rule: event.rule });
  }
}

interface InFlight {
  readonly entry: OutboxEntry;
  /** The bound shed it while it was on its way: a failure now counts as a drop, not as a retry. */
  shed: boolean;
}

/** One notifier's delivery loop over its outbox, and its retry state. */
class NotifierLoop {
  readonly name: string;
  private current: InFlight | undefined;
  private attempt: Promise<void> | undefined;
  private retryTimer: NodeJS.Timeout | undefined;
  /** Failures since the last success: the backoff exponent, and whether the notifier counts as failing. */
  private consecutiveFailures = 0;
  private failingSince: number | undefined;
  private closed = false;
  /** Once the outbox is closed, a late outcome must not touch it (the notification is sent again next run). */
  private outboxClosed = false;
  /** Accepted by the target, but the outbox could not note it (disk trouble): commit it again, never resend it. */
  private uncommitted: string | undefined;
  private delivered = 0;
  private failedAttempts = 0;
  private dropped = 0;
  private expired = 0;
  private writeFailures = 0;
  private unreadable = 0;
  private lastError: string | undefined;
  private lastSuccess: number | undefined;

  constructor(
    private readonly notifier: Notifier,
    private readonly outbox: NotificationOutbox,
    private readonly maxAge: number,
    private readonly settings: Settings,
    private readonly log: Logger,
    private readonly limiter: LogLimiter,
  ) {
    this.name = notifier.name;
  }

  enqueue(notification: Notification): void {
    if (this.closed) return;
    const { event } = notification;
    try {
      this.outbox.append(notification);
    } catch (error) {
      this.writeFailures++;
      this.limiter.error(`write:${this.name}`, 'cannot store the notification in the outbox: not delivered', {
        notifier: this.name,
        dir: this.outbox.dir,
        alert: event.id,
        kind: event.kind,
        write_failures: this.writeFailures,
        error,
      });
      return;
    }
    for (const shed of this.outbox.shed()) this.onShed(shed);
    this.startNext();
  }

  stats(): NotifierStats {
    const outbox = this.outbox.stats();
    return {
      queued: outbox.queued,
      queued_bytes: outbox.queued_bytes,
      queued_by_severity: outbox.queued_by_severity,
      delivered: this.delivered,
      failed_attempts: this.failedAttempts,
      dropped: this.dropped + outbox.segment_drops,
      expired: this.expired,
      write_failures: this.writeFailures,
      unreadable: this.unreadable,
      last_error: this.lastError,
      last_success: this.lastSuccess,
    };
  }

  /** Resolves true once the attempt in flight (if any) has settled, false if `deadline` came first. */
  async shutdown(deadline: Promise<void>): Promise<boolean> {
    this.closed = true;
    clearTimeout(this.retryTimer);
    this.retryTimer = undefined;
    const settled = this.attempt ? await Promise.race([this.attempt.then(() => true), deadline.then(() => false)]) : true;
    const { queued } = this.outbox.stats();
    if (queued > 0) this.log.info('notifications left in the outbox, sent after the restart', { notifier: this.name, queued });
    this.outboxClosed = true;
    try {
      await this.outbox.close();
    } catch (error) {
      this.log.warn('notification outbox did not close cleanly', { notifier: this.name, dir: this.outbox.dir, error });
    }
    try {
      await Promise.race([Promise.resolve().then(() => this.notifier.close?.()), deadline]);
    } catch (error) {
      this.log.warn('notifier did not close cleanly', { notifier: this.name, error });
    }
    return settled;
  }

  /** Starts delivering the head of the outbox unless a delivery is under way or a retry is pending. */
  startNext(): void {
    if (this.closed || this.current || this.retryTimer) return;
    let entry: OutboxEntry | undefined;
    try {
      entry = this.nextFresh();
    } catch (error) {
      // Reading the outbox failed (I/O error): try again later rather than stop delivering for good.
      this.lastError = `outbox: ${error instanceof Error ? error.message : String(error)}`;
      this.limiter.error(`read:${this.name}`, 'cannot read or update the notification outbox, retrying', { notifier: this.name, dir: this.outbox.dir, error });
      this.scheduleRetry();
      return;
    }
    if (!entry) return;
    const current: InFlight = { entry, shed: false };
    this.current = current;
    this.attempt = this.deliver(current);
  }

  /** The head of the outbox, giving up on the way those past max_age and skipping damaged entries. */
  private nextFresh(): OutboxEntry | undefined {
    for (;;) {
      const entry = this.outbox.head((severity, line) => {
        this.unreadable++;
        this.limiter.warn(`unreadable:${this.name}`, 'damaged outbox entry skipped', { notifier: this.name, severity, line: line.slice(0, 200), unreadable: this.unreadable });
      });
      if (!entry) return undefined;
      if (entry.notification.event_id === this.uncommitted) {
        this.outbox.commit(entry);
        this.uncommitted = undefined;
        continue;
      }
      if (Date.now() - entry.notification.queued_at < this.maxAge) return entry;
      this.outbox.commit(entry);
      this.giveUp(entry.notification);
    }
  }

  /** Never rejects: every outcome is recorded, and the loop goes on from here. */
  private async deliver(current: InFlight): Promise<void> {
    let failure: { error: unknown } | undefined;
    try {
      await this.boundedAttempt(current.entry.notification);
    } catch (error) {
      failure = { error };
    }
    this.current = undefined;
    this.attempt = undefined;
    if (this.outboxClosed) return;
    if (failure) this.onFailure(current, failure.error);
    else this.onSuccess(current);
    this.startNext();
  }

  private async boundedAttempt({ event, event_id }: Notification): Promise<void> {
    const limit = this.settings.attemptTimeout;
    let timer: NodeJS.Timeout | undefined;
    const deadline = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new Error(`notifier ${this.name} gave no outcome within ${limit} ms`)), limit);
    });
    try {
      // Promise.resolve().then(): a notifier that throws synchronously becomes a rejection like any other failure.
      await Promise.race([Promise.resolve().then(() => this.notifier.deliver(event, event_id)), deadline]);
    } finally {
      clearTimeout(timer);
    }
  }

  private onSuccess(current: InFlight): void {
    try {
      // A no-op when the bound shed the entry meanwhile: it was delivered all the same.
      this.outbox.commit(current.entry);
    } catch (error) {
      // Committing writes to the disk. Resending would spam the receiver: note it here and commit on the next pass,
      // after a backoff (a restart meanwhile sends it again, at least once).
      this.uncommitted = current.entry.notification.event_id;
      this.lastError = `outbox: ${error instanceof Error ? error.message : String(error)}`;
      this.limiter.error(`commit:${this.name}`, 'cannot note a delivery in the notification outbox, retrying', { notifier: this.name, dir: this.outbox.dir, error });
      this.scheduleRetry();
    }
    this.delivered++;
    this.lastSuccess = Date.now();
    if (this.failingSince !== undefined) {
      this.log.info('notifier working again', {
        notifier: this.name,
        failed_attempts: this.consecutiveFailures,
        outage_s: Math.round((this.lastSuccess - this.failingSince) / 1000),
        queued: this.outbox.stats().queued,
      });
    }
    this.failingSince = undefined;
    this.consecutiveFailures = 0;
  }

  private onFailure(current: InFlight, error: unknown): void {
    this.failedAttempts++;
    this.consecutiveFailures++;
    this.lastError = error instanceof Error ? error.message : String(error);
    if (this.failingSince === undefined) {
      this.failingSince = Date.now();
      this.log.warn('notifier failing, retrying with backoff', { notifier: this.name, error: this.lastError, queued: this.outbox.stats().queued });
    } else {
      this.log.debug('notifier still failing', { notifier: this.name, error: this.lastError, attempt: this.consecutiveFailures });
    }
    if (current.shed) this.countDrop(current.entry.notification);
    // The entry stays at the head of its queue; the retry reads the outbox again, so a more severe alert queued
    // meanwhile goes first once the target is back.
    this.scheduleRetry();
  }

  private scheduleRetry(): void {
    const delay = backoffDelay(Math.max(this.consecutiveFailures - 1, 0), this.settings.retryInitial, this.settings.retryMax);
    this.retryTimer = setTimeout(() => {
      this.retryTimer = undefined;
      this.startNext();
    }, delay);
    // A pending retry must not keep a gateway that is otherwise done from exiting.
    this.retryTimer.unref();
  }

  /** The bound shed `notification`; the one on its way is counted once its outcome is known. */
  private onShed(notification: Notification): void {
    if (this.current && this.current.entry.notification.event_id === notification.event_id) this.current.shed = true;
    else this.countDrop(notification);
  }

  private countDrop({ event }: Notification): void {
    this.dropped++;
    this.limiter.warn(`dropped:${this.name}`, 'notification outbox full, oldest of the least severe dropped', {
      notifier: this.name,
      alert: event.id,
      severity: event.severity,
      kind: event.kind,
      dropped: this.dropped,
    });
  }

  private giveUp({ event, queued_at }: Notification): void {
    this.expired++;
    this.limiter.warn(`expired:${this.name}`, 'notification given up, undelivered for too long', {
      notifier: this.name,
      alert: event.id,
      kind: event.kind,
      queued_s: Math.round((Date.now() - queued_at) / 1000),
      max_age_s: Math.round(this.maxAge / 1000),
      expired: this.expired,
      last_error: this.lastError,
    });
  }
}

/** Outboxes in `root` that no configured notifier owns: their notifications stay where they are, undelivered. */
function reportOrphanOutboxes(root: string, owned: ReadonlySet<string>, log: Logger): void {
  let entries: Dirent[];
  try {
    entries = readdirSync(root, { withFileTypes: true });
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'ENOENT') log.warn('cannot list the notification outboxes', { dir: root, error });
    return;
  }
  for (const entry of entries) {
    const dir = join(root, entry.name);
    if (entry.isDirectory() && !owned.has(dir)) {
      log.warn('outbox of a notifier no longer configured: its notifications are not delivered (configure it again, or remove the folder)', { notifier: entry.name, dir });
    }
  }
}

function definedOnly(opts: Omit<DispatcherOptions, 'outboxRoot'>): Partial<Settings> {
  return Object.fromEntries(Object.entries(opts).filter(([, value]) => value !== undefined)) as Partial<Settings>;
}
