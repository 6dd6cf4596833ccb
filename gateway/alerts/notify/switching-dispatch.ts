import type { Logger } from '../../util/log.js';
import type { AlertEvent } from '../alert.js';
import type { AlertDispatch } from '../alerting.js';
import type { NotificationDispatcher, NotifierStats } from './dispatcher.js';

/**
 * The dispatcher the alerting sends to, which a config reload can replace with one for the new notifiers. The old one
 * is closed first (its undelivered notifications stay in their outboxes, which the new one opens again for notifiers
 * that remain); events of that moment wait in memory and go to the new one.
 */
export class SwitchingDispatch implements AlertDispatch {
  private waiting: { event: AlertEvent; targets: readonly string[] }[] | undefined;

  constructor(
    private current: NotificationDispatcher,
    private readonly log: Logger,
  ) {}

  send(event: AlertEvent, targets: readonly string[]): void {
    if (this.waiting) this.waiting.push({ event, targets });
    else this.current.send(event, targets);
  }

  stats(): Record<string, NotifierStats> {
    return this.current.stats();
  }

  /** Replaces the dispatcher with `open()`'s; when that fails, opens the previous set again with `reopen()`. */
  async switchTo(open: () => Promise<NotificationDispatcher>, reopen: () => Promise<NotificationDispatcher>): Promise<void> {
    this.waiting = [];
    try {
      await this.current.close();
      try {
        this.current = await open();
      } catch (error) {
        this.log.error('notifiers not reloaded: the new set could not open; the previous ones stay', { error });
        this.current = await reopen();
        throw error;
      }
    } finally {
      const waiting = this.waiting;
      this.waiting = undefined;
      for (const { event, targets } of waiting) this.current.send(event, targets);
    }
  }

  close(): Promise<void> {
    return this.current.close();
  }
}
