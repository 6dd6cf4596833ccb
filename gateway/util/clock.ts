/**
 * Two clocks, for two questions. `now` is the wall clock: what a timestamp says (readings, events, "since").
 * `elapsed` is monotonic: how long something took or has waited (schedules, `for`, staleness, backoff). The wall clock
 * jumps when NTP corrects a box that booted without the time; a duration measured on it would stall a poller for an
 * hour or call every sensor stale at once.
 */
export interface Clock {
  /** Epoch milliseconds. */
  now(): number;
  /** Milliseconds since an arbitrary origin, never going back. */
  elapsed(): number;
}

export const systemClock: Clock = {
  now: () => Date.now(),
  elapsed: () => performance.now(),
};
