import type { Severity } from './alert.js';
import { defaultMessage, thresholdText, type Condition, type ConditionKind, type ConditionOf } from './conditions/index.js';
import type { RuleConfig } from './rule-config.js';

/** Critical alerts remind every 10 minutes until acknowledged unless the rule says otherwise. */
const DEFAULT_CRITICAL_RENOTIFY_MS = 10 * 60_000;

/** A rule ready to evaluate: selectors compiled to matchers, defaults resolved. Pure, no state of its own. */
export class Rule {
  readonly name: string;
  readonly condition: Condition;
  readonly severity: Severity;
  readonly forMs: number;
  /** Reminder interval while firing unacknowledged, or undefined for none. */
  readonly renotifyMs: number | undefined;
  readonly notify: readonly string[];
  /** The limit as shown in messages ({threshold}). */
  readonly threshold: string;
  /** The message template of its events: the rule's own, or its condition's default. */
  readonly message: string;
  /** Whether the rule is for a gateway of this site (a shared rule file may name other sites). */
  readonly appliesToSite: Matcher;
  private readonly domain: Matcher;
  private readonly device: Matcher;
  private readonly metric: Matcher;
  private readonly tags: readonly [string, Matcher][];

  constructor(readonly config: RuleConfig) {
    this.name = config.name;
    this.condition = config.condition;
    this.severity = config.severity;
    this.forMs = config.for;
    this.renotifyMs = config.renotify === 'off' ? undefined : (config.renotify ?? (config.severity === 'critical' ? DEFAULT_CRITICAL_RENOTIFY_MS : undefined));
    this.notify = config.notify;
    this.appliesToSite = matcher(config.match.site);
    this.domain = matcher(config.match.domain);
    this.device = matcher(config.match.device);
    this.metric = matcher(config.match.metric);
    this.tags = Object.entries(config.match.tags ?? {}).map(([key, value]) => [key, matcher(value)] as const);
    this.threshold = thresholdText(config.condition);
    this.message = config.message ?? defaultMessage(config.condition.kind);
  }

  /** Whether the rule watches this series (a device-level rule, `offline`, ignores domain and metric). */
  matches(device: string, domain: string, metric: string, tags: Readonly<Record<string, string>> | undefined): boolean {
    if (!this.device(device) || !this.matchesTags(tags)) return false;
    return this.condition.kind === 'offline' || (this.domain(domain) && this.metric(metric));
  }

  /** For `offline` rules, which see devices only through their status. */
  matchesDevice(device: string): boolean {
    return this.device(device);
  }

  /** Whether the rule's condition is of that kind; narrows `condition` (e.g. in a filter). */
  is<K extends ConditionKind>(kind: K): this is RuleOf<K> {
    return this.condition.kind === kind;
  }

  private matchesTags(tags: Readonly<Record<string, string>> | undefined): boolean {
    for (const [key, match] of this.tags) {
      const value = tags?.[key];
      if (value === undefined || !match(value)) return false;
    }
    return true;
  }
}

/** A rule whose condition is known to be of kind K. */
export type RuleOf<K extends ConditionKind> = Rule & { readonly condition: ConditionOf<K> };

type Matcher = (name: string) => boolean;

/** A glob where `*` stands for any run of characters; absent means anything. */
function matcher(glob: string | undefined): Matcher {
  if (glob === undefined || glob === '*') return () => true;
  if (!glob.includes('*')) return (name) => name === glob;
  const regex = new RegExp(`^${glob.split('*').map((part) => part.replace(/[.+?^${}()|[\]\\]/g, '\\$&')).join('.*')}$`);
  return (name) => regex.test(name);
}
