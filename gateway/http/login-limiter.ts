import { PublishThrottle } from '../broker/throttle.js';

/** Remote addresses remembered at most: a scan from many addresses must not grow the map without bound. */
const MAX_ADDRESSES = 10_000;

/**
 * Refused logins per remote address, as a token bucket (the broker's publish throttle): `attempts` refusals at once,
 * then one per `perMs / attempts`. An address over its allowance is answered 429 before its password is even checked,
 * so guessing costs the gateway no scrypt time either.
 */
export class LoginLimiter {
  private readonly addresses = new Map<string, { throttle: PublishThrottle; blockedUntil: number }>();
  private readonly rate: number;

  constructor(
    private readonly attempts: number,
    perMs: number,
    private readonly now: () => number = () => performance.now(),
  ) {
    this.rate = (attempts * 1000) / perMs;
  }

  /** Milliseconds until the address may try again; 0 when it may now. */
  waitFor(address: string): number {
    const entry = this.addresses.get(address);
    return entry ? Math.max(0, Math.ceil(entry.blockedUntil - this.now())) : 0;
  }

  /** Counts a refused attempt from the address. */
  refused(address: string): void {
    const now = this.now();
    let entry = this.addresses.get(address);
    if (!entry) {
      if (this.addresses.size >= MAX_ADDRESSES) this.forgetIdle(now);
      entry = { throttle: new PublishThrottle(this.rate, this.attempts, now), blockedUntil: 0 };
      this.addresses.set(address, entry);
    }
    const wait = entry.throttle.take(now);
    if (wait > 0) entry.blockedUntil = now + wait;
  }

  private forgetIdle(now: number): void {
    for (const [address, entry] of this.addresses) if (entry.blockedUntil <= now) this.addresses.delete(address);
    // Every one of them blocked (a flood from many addresses): start afresh rather than grow.
    if (this.addresses.size >= MAX_ADDRESSES) this.addresses.clear();
  }
}
