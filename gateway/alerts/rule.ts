import type { Severity } from './alert.js';
import { conditionOf, type ConditionKind, type RuleConfig } from './rule-config.js';

/**
 * What a value says about a rule's condition: `trip` (the alert should be on), `clear` (it should end), or `hold`
 * (inside the hysteresis band: keep whatever state the alert is in).
 */
export type Verdict = 'trip' | 'clear' | 'hold';

/** Critical alerts remind every 10 minutes until acknowledged unless the rule says otherwise. */
const DEFAULT_CRITICAL_RENOTIFY_MS = 10 * 60_000;

/** A rule ready to evaluate: selectors compiled to matchers, defaults resolved. Pure, no state of its own. */
export class Rule {
  readonly name: string;
  readonly kind: ConditionKind;
  readonly severity: Severity;
  readonly forMs: number;
  /** Reminder interval while firing unacknowledged, or undefined for none. */
  readonly renotifyMs: number | undefined;
  readonly notify: readonly string[];
  /** The limit as shown in messages ({threshold}). */
  readonly threshold: string;
  /** Whether the rule is for a gateway of this site (a shared rule file may name other sites). */
  readonly appliesToSite: Matcher;
  private readonly domain: Matcher;
  private readonly device: Matcher;
  private readonly metric: Matcher;
  private readonly tags: readonly [string, Matcher][];

  constructor(readonly config: RuleConfig) {
    this.name = config.name;
    this.kind = conditionOf(config);
    this.severity = config.severity;
    this.forMs = config.for;
    this.renotifyMs = config.renotify === 'off' ? undefined : (config.renotify ?? (config.severity === 'critical' ? DEFAULT_CRITICAL_RENOTIFY_MS : undefined));
    this.notify = config.notify;
    this.appliesToSite = matcher(config.match.site);
    this.domain = matcher(config.match.domain);
    this.device = matcher(config.match.device);
    this.metric = matcher(config.match.metric);
    this.tags = Object.entries(config.match.tags ?? {}).map(([key, value]) => [key, matcher(value)] as const);
    this.threshold = thresholdText(config, this.kind);
  }

  /** Whether the rule watches this series (a device-level rule, `offline`, ignores domain and metric). */
  matches(device: string, domain: string, metric: string, tags: Readonly<Record<string, string>> | undefined): boolean {
    if (!this.device(device) || !this.matchesTags(tags)) return false;
    return this.kind === 'offline' || (this.domain(domain) && this.metric(metric));
  }

  /** For `offline` rules, which see devices only through their status. */
  matchesDevice(device: string): boolean {
    return this.device(device);
  }

  /** The verdict of one value for the value conditions (above, below, outside, equals). */
  judge(value: number | boolean | string): Verdict {
    const { config } = this;
    switch (this.kind) {
      case 'above':
        if (typeof value !== 'number') return 'hold';
        return value > config.above! ? 'trip' : value <= clearAt(config.clear, config.above!) ? 'clear' : 'hold';
      case 'below':
        if (typeof value !== 'number') return 'hold';
        return value < config.below! ? 'trip' : value >= clearAt(config.clear, config.below!) ? 'clear' : 'hold';
      case 'outside': {
        if (typeof value !== 'number') return 'hold';
        const [low, high] = config.outside!;
        if (value < low || value > high) return 'trip';
        const [clearLow, clearHigh] = Array.isArray(config.clear) ? config.clear : [low, high];
        return value >= clearLow && value <= clearHigh ? 'clear' : 'hold';
      }
      case 'equals':
        return value === config.equals ? 'trip' : 'clear';
      default:
        throw new Error(`rule ${this.name}: ${this.kind} is not judged by value`);
    }
  }

  /** The verdict of a rate of change (units per `rate.per`). */
  judgeRate(rate: number): Verdict {
    const { above, below } = this.config.rate!;
    if (above !== undefined) return rate > above ? 'trip' : 'clear';
    return rate < below! ? 'trip' : 'clear';
  }

  private matchesTags(tags: Readonly<Record<string, string>> | undefined): boolean {
    for (const [key, match] of this.tags) {
      const value = tags?.[key];
      if (value === undefined || !match(value)) return false;
    }
    return true;
  }
}

type Matcher = (name: string) => boolean;

/** A glob where `*` stands for any run of characters; absent means anything. */
function matcher(glob: string | undefined): Matcher {
  if (glob === undefined || glob === '*') return () => true;
  if (!glob.includes('*')) return (name) => name === glob;
  const regex = new RegExp(`^${glob.split('*').map((part) => part.replace(/[.+?^${}()|[\]\\]/g, '\\$&')).join('.*')}$`);
  return (name) => regex.test(name);
}

function clearAt(clear: RuleConfig['clear'], threshold: number): number {
  return typeof clear === 'number' ? clear : threshold;
}

function thresholdText(config: RuleConfig, kind: ConditionKind): string {
  switch (kind) {
    case 'above':
      return `> ${config.above}`;
    case 'below':
      return `< ${config.below}`;
    case 'outside':
      return `outside [${config.outside!.join(', ')}]`;
    case 'equals':
      return `= ${String(config.equals)}`;
    case 'rate': {
      const { above, below, per } = config.rate!;
      return `${above !== undefined ? `> ${above}` : `< ${below}`} per ${per / 1000} s`;
    }
    case 'stale':
      return `no data for ${config.stale! / 1000} s`;
    case 'offline':
      return 'offline';
  }
}
