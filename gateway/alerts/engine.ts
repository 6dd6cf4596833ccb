import type { DeviceStatus, Reading, ReadingValue } from '../model.js';
import type { Clock } from '../util/clock.js';
import type { Acknowledgement, AlertEvent, AlertEventKind } from './alert.js';
import type { Verdict } from './conditions/condition.js';
import { judge } from './conditions/index.js';
import { RateWindow } from './conditions/rate-window.js';
import type { Rule, RuleOf } from './rule.js';

/** An alert that is on: pending (its condition holds, not yet for long enough) or firing. */
export interface ActiveAlert {
  readonly id: string;
  readonly rule: string;
  readonly device: string;
  readonly metric: string;
  readonly domain: string | undefined;
  unit: string | undefined;
  tags: Readonly<Record<string, string>> | undefined;
  state: 'pending' | 'firing';
  /** Pending: since when the condition holds. Firing: when it fired. */
  since: number;
  value: ReadingValue | undefined;
  acknowledged: Acknowledgement | undefined;
  /** When people were last told (the firing event or the last reminder). */
  lastNotified: number;
}

/** Where the engine's decisions go: MQTT, notifiers, the persistent store. Calls must not throw. */
export interface EngineOutput {
  /** A firing, reminder or resolved event, for the event stream and the rule's notifiers. */
  event(event: AlertEvent, alert: ActiveAlert, notify: readonly string[]): void;
  /** An alert was acknowledged (its retained state changes; nobody needs paging for it). */
  acknowledged(alert: ActiveAlert): void;
  /** The set of active alerts changed (persist it). */
  changed(): void;
}

/** What the engine needs to know of the series an alert is about. */
interface SeriesInfo {
  readonly device: string;
  readonly domain: string | undefined;
  readonly metric: string;
  readonly unit?: string | undefined;
  readonly tags?: Readonly<Record<string, string>> | undefined;
}

interface SeriesSeen {
  /** Monotonic time of the last good reading. */
  at: number;
  readonly device: string;
  readonly domain: string;
  readonly metric: string;
  readonly unit: string | undefined;
  readonly tags: Readonly<Record<string, string>> | undefined;
}

/** Monotonic marks of an active alert: durations (`for`, reminders) must not jump with the wall clock. */
interface AlertMarks {
  /** Pending: when the condition started to hold. Firing: when it fired. */
  changedAt: number;
  notifiedAt: number;
}

/** The metric name of device-level alerts (offline). */
export const DEVICE_METRIC = 'status';

/** The rules that apply to one series, and the id of each one's alert on it. */
interface SeriesRules {
  readonly tags: Reading['tags'];
  readonly rules: readonly Rule[];
  readonly ids: readonly string[];
}

/**
 * Evaluates readings and device statuses against the rules and keeps one state machine per (rule, series):
 * ok → pending (the condition holds, `for` not yet elapsed) → firing → resolved (back to ok), in the manner of
 * Prometheus. Every transition that people care about (firing, resolved, reminders) is emitted exactly once.
 * Bad-quality readings never trip or clear value rules. Time comes from `clock`, so tests drive it by hand: timestamps
 * from its wall clock, durations from its monotonic one. `tick` advances what depends on time alone (`for`,
 * staleness, reminders).
 */
export class RuleEngine {
  private rules: Rule[] = [];
  /** The same rules by name: tick() looks one up for every active alert and watched series. */
  private byName = new Map<string, Rule>();
  private offlineRules: RuleOf<'offline'>[] = [];
  private readonly alerts = new Map<string, ActiveAlert>();
  private readonly marks = new Map<string, AlertMarks>();
  /**
   * The rules that watch each series and their alert ids, found once per series (cleared when the rules change), by
   * device → domain → metric: looked up for every reading, so no key is built per reading.
   */
  private readonly rulesBySeries = new Map<string, Map<string, Map<string, SeriesRules>>>();
  private readonly rates = new Map<string, RateWindow>();
  /** Last good reading of every series a `stale` rule watches. */
  private readonly seen = new Map<string, SeriesSeen>();

  constructor(
    private readonly site: string,
    private readonly clock: Clock,
    private readonly output: EngineOutput,
  ) {}

  /**
   * Installs a rule set (at start, and on every reload). Alerts of rules that still exist keep their state; alerts of
   * rules that are gone are resolved, so nobody waits for an end that would never come.
   */
  setRules(all: readonly Rule[]): void {
    const rules = all.filter((rule) => rule.appliesToSite(this.site));
    const byName = new Map(rules.map((rule) => [rule.name, rule]));
    const removed = [...this.alerts.values()].filter((alert) => !byName.has(alert.rule));
    const previous = this.byName;
    this.rules = [...rules];
    this.byName = byName;
    this.offlineRules = rules.filter((rule) => rule.is('offline'));
    this.rulesBySeries.clear();
    // A rule that is gone, or whose condition changed (a rate's `per`), starts its windows afresh.
    const changed = (name: string) => JSON.stringify(previous.get(name)?.condition) !== JSON.stringify(byName.get(name)?.condition);
    for (const id of [...this.rates.keys(), ...this.seen.keys()]) {
      if (changed(ruleNameOf(id))) {
        this.rates.delete(id);
        this.seen.delete(id);
      }
    }
    for (const alert of removed) this.end(alert, previous.get(alert.rule), alert.value, 'the rule was removed');
  }

  /** Puts back the alerts a previous run left active; they are not announced again. */
  restore(alerts: readonly ActiveAlert[]): void {
    // Monotonic time does not survive a restart: a restored alert counts its `for` and reminders from now.
    const now = this.clock.elapsed();
    for (const alert of alerts) {
      this.alerts.set(alert.id, { ...alert });
      this.marks.set(alert.id, { changedAt: now, notifiedAt: now });
    }
  }

  active(): ActiveAlert[] {
    return [...this.alerts.values()];
  }

  get(id: string): ActiveAlert | undefined {
    return this.alerts.get(id);
  }

  onReadings(readings: readonly Reading[]): void {
    // Indexed: called once per device message, and an iterator each time showed in the allocation profile.
    for (let i = 0; i < readings.length; i++) this.onReading(readings[i]!);
  }

  onStatus(status: DeviceStatus): void {
    for (const rule of this.offlineRules) {
      if (!rule.matchesDevice(status.device)) continue;
      const id = `${rule.name}/${status.device}/${DEVICE_METRIC}`;
      const verdict = judge(rule.condition, status);
      this.apply(rule, id, { device: status.device, domain: undefined, metric: DEVICE_METRIC, unit: undefined, tags: undefined }, verdict, status.error);
    }
  }

  /** Advances what depends on time alone: `for` durations, staleness and reminders. Call it often (e.g. 4×/s). */
  tick(): void {
    const elapsed = this.clock.elapsed();
    for (const [id, seen] of this.seen) {
      const rule = this.ruleNamed(ruleNameOf(id));
      if (rule?.condition.kind === 'stale' && judge(rule.condition, elapsed - seen.at) === 'trip' && !this.alerts.has(id)) this.apply(rule, id, seen, 'trip', undefined);
    }
    for (const alert of this.alerts.values()) {
      const rule = this.ruleNamed(alert.rule);
      const marks = this.marks.get(alert.id);
      if (!rule || !marks) continue;
      if (alert.state === 'pending' && elapsed - marks.changedAt >= rule.forMs) this.fire(alert, rule);
      else if (alert.state === 'firing' && rule.renotifyMs !== undefined && !alert.acknowledged && elapsed - marks.notifiedAt >= rule.renotifyMs) {
        alert.lastNotified = this.clock.now();
        marks.notifiedAt = elapsed;
        this.emit('reminder', alert, rule, alert.value);
        this.output.changed();
      }
    }
  }

  /** Records who acknowledged an alert and stops its reminders; false when there is no such active alert. */
  acknowledge(id: string, by: string): boolean {
    const alert = this.alerts.get(id);
    if (!alert) return false;
    alert.acknowledged = { by, at: this.clock.now() };
    this.output.acknowledged(alert);
    this.output.changed();
    return true;
  }

  private onReading(reading: Reading): void {
    if (reading.quality === 'bad') return;
    const { rules, ids } = this.rulesFor(reading);
    for (let i = 0; i < rules.length; i++) {
      const rule = rules[i]!;
      const id = ids[i]!;
      const { condition } = rule;
      switch (condition.kind) {
        case 'stale': {
          this.seen.set(id, { at: this.clock.elapsed(), device: reading.device, domain: reading.domain, metric: reading.metric, unit: reading.unit, tags: reading.tags });
          // A good reading is the end of any silence.
          const alert = this.alerts.get(id);
          if (alert) this.apply(rule, id, alert, 'clear', reading.value);
          break;
        }
        case 'rate': {
          // A rate is a double: a 64-bit integer takes part as its nearest one.
          const value = typeof reading.value === 'bigint' ? Number(reading.value) : reading.value;
          if (typeof value !== 'number' || !Number.isFinite(value)) break;
          let window = this.rates.get(id);
          if (!window) this.rates.set(id, (window = new RateWindow(condition.perMs)));
          const rate = window.add(reading.ts, value);
          if (rate !== undefined) this.apply(rule, id, reading, judge(condition, rate), reading.value);
          break;
        }
        case 'offline':
          // Device-level: judged by onStatus, never by readings (rulesFor leaves these rules out).
          break;
        default:
          this.apply(rule, id, reading, judge(condition, reading.value), reading.value);
      }
    }
  }

  /** One step of the state machine of alert `id` under a verdict. */
  private apply(rule: Rule, id: string, series: SeriesInfo, verdict: Verdict, value: ReadingValue | undefined): void {
    const alert = this.alerts.get(id);
    if (verdict === 'trip') {
      if (!alert) {
        const created: ActiveAlert = { id, rule: rule.name, device: series.device, domain: series.domain, metric: series.metric, unit: series.unit, tags: series.tags, state: 'pending', since: this.clock.now(), value, acknowledged: undefined, lastNotified: 0 };
        this.alerts.set(id, created);
        this.marks.set(id, { changedAt: this.clock.elapsed(), notifiedAt: 0 });
        if (rule.forMs === 0) this.fire(created, rule);
        else this.output.changed();
        return;
      }
      alert.value = value ?? alert.value;
      alert.unit = series.unit ?? alert.unit;
      alert.tags = series.tags ?? alert.tags;
      if (alert.state === 'pending' && this.clock.elapsed() - (this.marks.get(id)?.changedAt ?? 0) >= rule.forMs) this.fire(alert, rule);
      return;
    }
    if (!alert) return;
    // A pending alert needs its condition to hold without a break; inside the hysteresis band it does not.
    if (alert.state === 'pending') {
      this.alerts.delete(id);
      this.marks.delete(id);
      this.output.changed();
      return;
    }
    if (verdict === 'clear') this.end(alert, rule, value, undefined);
    else alert.value = value ?? alert.value;
  }

  private fire(alert: ActiveAlert, rule: Rule): void {
    const now = this.clock.now();
    const elapsed = this.clock.elapsed();
    alert.state = 'firing';
    alert.since = now;
    alert.lastNotified = now;
    this.marks.set(alert.id, { changedAt: elapsed, notifiedAt: elapsed });
    this.emit('firing', alert, rule, alert.value);
    this.output.changed();
  }

  private end(alert: ActiveAlert, rule: Rule | undefined, value: ReadingValue | undefined, why: string | undefined): void {
    this.alerts.delete(alert.id);
    this.marks.delete(alert.id);
    // Only a firing alert was announced, so only a firing alert is announced as ended.
    if (alert.state === 'firing') this.emit('resolved', alert, rule, value, why);
    this.output.changed();
  }

  private emit(kind: AlertEventKind, alert: ActiveAlert, rule: Rule | undefined, value: ReadingValue | undefined, why?: string): void {
    const now = this.clock.now();
    const message = rule ? renderMessage(rule, alert, value, this.site) : `${alert.device} ${alert.metric}`;
    const event: AlertEvent = {
      id: alert.id,
      site: this.site,
      rule: alert.rule,
      device: alert.device,
      metric: alert.metric,
      domain: alert.domain,
      kind,
      severity: rule?.severity ?? 'warning',
      message: why ? `${message} (${why})` : message,
      value: typeof value === 'number' && !Number.isFinite(value) ? undefined : value,
      unit: alert.unit,
      since: alert.since,
      ts: now,
      acknowledged: alert.acknowledged,
    };
    this.output.event(event, alert, rule?.notify ?? []);
  }

  private rulesFor(reading: Reading): SeriesRules {
    const { device, domain, metric, tags } = reading;
    let byDomain = this.rulesBySeries.get(device);
    if (!byDomain) this.rulesBySeries.set(device, (byDomain = new Map()));
    let byMetric = byDomain.get(domain);
    if (!byMetric) byDomain.set(domain, (byMetric = new Map()));
    let entry = byMetric.get(metric);
    // Drivers hand the same frozen tags object with every reading of a device; another object means other tags.
    if (!entry || entry.tags !== tags) {
      const rules = this.rules.filter((rule) => rule.condition.kind !== 'offline' && rule.matches(device, domain, metric, tags));
      byMetric.set(metric, (entry = { tags, rules, ids: rules.map((rule) => `${rule.name}/${device}/${metric}`) }));
    }
    return entry;
  }

  /** The installed rule of that name (rules for other sites are not installed). */
  ruleNamed(name: string): Rule | undefined {
    return this.byName.get(name);
  }
}

function ruleNameOf(id: string): string {
  return id.slice(0, id.indexOf('/'));
}

/** Fills the rule's message template (or the default of its kind). */
export function renderMessage(rule: Rule, alert: Pick<ActiveAlert, 'device' | 'domain' | 'metric' | 'unit' | 'tags' | 'since'>, value: ReadingValue | undefined, site: string): string {
  const fields: Record<string, string> = {
    rule: rule.name,
    site,
    domain: alert.domain ?? '',
    device: alert.device,
    metric: alert.metric,
    value: value === undefined ? '' : String(value),
    unit: alert.unit ?? '',
    severity: rule.severity,
    threshold: rule.threshold,
    since: new Date(alert.since).toISOString(),
  };
  return rule.message
    .replace(/\{([^{}]*)\}/g, (_, name: string) => (name.startsWith('tags.') ? (alert.tags?.[name.slice(5)] ?? '') : (fields[name] ?? '')))
    .replace(/\s+/g, ' ')
    .trim();
}
