/**
 * The window is filled again at once when this part of it is free, and otherwise REFILL_DELAY_MS after an
 * acknowledgement. Filled on every acknowledgement, the bridge and the broker played ping-pong with a message or two per
 * TCP segment: a write and a read per message, more CPU than the rest of the bridge. Never waiting for a quarter either:
 * a broker with Nagle's algorithm on (Mosquitto's default) holds its next PUBACKs until this side sends something or
 * its delayed TCP ACK comes, 40 ms later; one window per 40 ms was 2,300 messages/s.
 */
const REFILL_PARTS = 4;
const REFILL_DELAY_MS = 1;

/** When to fill a window of unacknowledged publishes again: calls `fill` (which sends what is free of the window). */
export class WindowRefill {
  private readonly refillAt: number;
  private queued = false;
  private timer: NodeJS.Timeout | undefined;

  constructor(
    private readonly window: number,
    private readonly fill: () => void,
  ) {
    this.refillAt = Math.max(1, Math.floor(window / REFILL_PARTS));
  }

  /** After an acknowledgement, with `unacknowledged` still awaited. */
  acknowledged(unacknowledged: number): void {
    if (this.window - unacknowledged >= this.refillAt || unacknowledged === 0) {
      if (this.queued) return;
      // After the rest of the acknowledgements read with this one.
      this.queued = true;
      queueMicrotask(this.run);
    } else this.timer ??= setTimeout(this.run, REFILL_DELAY_MS);
  }

  cancel(): void {
    clearTimeout(this.timer);
    this.timer = undefined;
    this.queued = false;
  }

  private readonly run = (): void => {
    if (!this.queued && this.timer === undefined) return;
    this.cancel();
    this.fill();
  };
}
