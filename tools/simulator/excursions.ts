/**
 * Occasional abnormal episodes (a pipe burst, a jam, a feeder overload) so that alert rules have something to catch.
 * Each kind starts at random with a mean spacing, lasts a random while, and reports its strength 0..1 with a soft
 * ramp in and out, the way real events build up and die down.
 */
export interface ExcursionKind {
  readonly name: string;
  /** Mean time between starts. */
  readonly meanIntervalMs: number;
  readonly minDurationMs: number;
  readonly maxDurationMs: number;
}

interface Episode {
  start: number;
  end: number;
}

const RAMP_MS = 15_000;

export class Excursions {
  private readonly next = new Map<string, number>();
  private readonly active = new Map<string, Episode>();

  constructor(
    private readonly kinds: readonly ExcursionKind[],
    private readonly random: () => number,
    startTs: number,
    /** The first episode comes sooner than the mean, so someone trying the gateway sees an alert without waiting hours. */
    firstWithinMs: number,
  ) {
    for (const kind of kinds) this.next.set(kind.name, startTs + firstWithinMs * (0.3 + 0.7 * random()));
  }

  /** Strength of each episode at `ts`: 0 outside, ramping to 1 inside. */
  strength(name: string, ts: number): number {
    this.advance(ts);
    const episode = this.active.get(name);
    if (!episode) return 0;
    const fromEdge = Math.min(ts - episode.start, episode.end - ts);
    return Math.max(0, Math.min(1, fromEdge / RAMP_MS));
  }

  private advance(ts: number): void {
    for (const kind of this.kinds) {
      const episode = this.active.get(kind.name);
      if (episode && ts >= episode.end) this.active.delete(kind.name);
      const due = this.next.get(kind.name)!;
      if (!this.active.has(kind.name) && ts >= due) {
        const duration = kind.minDurationMs + this.random() * (kind.maxDurationMs - kind.minDurationMs);
        this.active.set(kind.name, { start: ts, end: ts + duration });
        // Exponential spacing: starts form a Poisson process with the configured mean.
        this.next.set(kind.name, ts + duration - Math.log(1 - this.random()) * kind.meanIntervalMs);
      }
    }
  }
}
