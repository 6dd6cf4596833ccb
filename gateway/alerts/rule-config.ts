/**
 * The `rules:` section (and rule files): what an operator writes to have the gateway raise an alert.
 *
 *   - name: reservoir-level-high
 *     match: { site: "district-*", domain: water, device: "pump-station-*", metric: level, tags: { zone: north } }
 *     above: 4.5            # one condition: above | below | outside | equals | rate | stale | offline
 *     clear: 4.3            # hysteresis: the alert resolves only below 4.3
 *     for: 30s              # the condition must hold this long before the alert fires
 *     severity: critical
 *     message: "{device} {metric} = {value} {unit} (limit {threshold})"
 *     notify: [duty-webhook]
 *     renotify: 10m         # reminders while firing and unacknowledged
 */
import { z } from 'zod';
import { duration } from '../config/duration.js';

/** A name or a glob over names: letters, digits, "_", "-", ".", and "*" for any run of characters. */
const pattern = z.string().regex(/^[A-Za-z0-9_.*-]+$/, 'letters, digits, "_", "-", "." and "*" (any characters)');

const selectorSchema = z.strictObject({
  /** A rule file shared by several gateways can hold rules for some sites only. */
  site: pattern.optional(),
  domain: pattern.optional(),
  device: pattern.optional(),
  metric: pattern.optional(),
  /** Every listed tag must be present on the device with a matching value (globs allowed). */
  tags: z.record(z.string(), pattern).optional(),
});
export type Selector = z.output<typeof selectorSchema>;

const rateSchema = z
  .strictObject({
    /** Fires when the value rises faster than this many units per `per`. */
    above: z.number().finite().optional(),
    /** Fires when it falls faster: a negative number, e.g. -0.5 (units per `per`). */
    below: z.number().finite().optional(),
    per: duration({ min: 1000 }).default(60_000),
  })
  .refine((rate) => (rate.above === undefined) !== (rate.below === undefined), { message: 'give exactly one of above or below' });

export const placeholders = ['rule', 'site', 'domain', 'device', 'metric', 'value', 'unit', 'severity', 'threshold', 'since'] as const;
const templateField = /\{([^{}]*)\}/g;

const message = z.string().superRefine((text, ctx) => {
  for (const [, name] of text.matchAll(templateField)) {
    if (!(placeholders as readonly string[]).includes(name!) && !/^tags\.[A-Za-z0-9_.-]+$/.test(name!)) {
      ctx.addIssue({ code: 'custom', message: `unknown placeholder {${name}} (allowed: ${placeholders.map((p) => `{${p}}`).join(' ')} {tags.NAME})` });
    }
  }
});

const conditionKeys = ['above', 'below', 'outside', 'equals', 'rate', 'stale', 'offline'] as const;
export type ConditionKind = (typeof conditionKeys)[number];

export const ruleSchema = z
  .strictObject({
    name: z.string().regex(/^[A-Za-z0-9_.-]+$/, 'letters, digits, "_", "-" or "." (it becomes an MQTT topic level)'),
    match: selectorSchema.default({}),
    above: z.number().finite().optional(),
    below: z.number().finite().optional(),
    outside: z.tuple([z.number().finite(), z.number().finite()]).optional(),
    equals: z.union([z.number(), z.boolean(), z.string()]).optional(),
    rate: rateSchema.optional(),
    stale: duration({ min: 1000 }).optional(),
    offline: z.literal(true).optional(),
    /** Hysteresis: the value that ends the alert (below it for `above`, above it for `below`, a band for `outside`). */
    clear: z.union([z.number().finite(), z.tuple([z.number().finite(), z.number().finite()])]).optional(),
    for: duration().default(0),
    severity: z.enum(['info', 'warning', 'critical']).default('warning'),
    message: message.optional(),
    /** Notifier names (see `notifiers:`); MQTT publication always happens. */
    notify: z.array(z.string()).default([]),
    /** Reminder interval while firing and unacknowledged; default 10m for critical alerts, none otherwise; `off` for none. */
    renotify: z.union([z.literal('off'), duration({ min: 1000 })]).optional(),
  })
  .superRefine((rule, ctx) => {
    const given = conditionKeys.filter((key) => rule[key] !== undefined);
    if (given.length !== 1) {
      ctx.addIssue({ code: 'custom', path: [], message: given.length === 0 ? `needs a condition: one of ${conditionKeys.join(', ')}` : `has ${given.join(' and ')}: give exactly one condition` });
      return;
    }
    const kind = given[0]!;
    if (rule.outside && rule.outside[0] > rule.outside[1]) ctx.addIssue({ code: 'custom', path: ['outside'], message: 'must be [low, high] with low ≤ high' });
    const { clear } = rule;
    if (clear === undefined) return;
    const bad = (why: string) => ctx.addIssue({ code: 'custom', path: ['clear'], message: why });
    if (kind === 'above' && (typeof clear !== 'number' || clear > rule.above!)) bad(`must be a number at or below the threshold ${rule.above} (the alert ends once the value is under it)`);
    else if (kind === 'below' && (typeof clear !== 'number' || clear < rule.below!)) bad(`must be a number at or above the threshold ${rule.below} (the alert ends once the value is over it)`);
    else if (kind === 'outside') {
      const [lo, hi] = rule.outside!;
      if (typeof clear === 'number' || clear[0] < lo || clear[1] > hi || clear[0] > clear[1]) bad(`must be a band [low, high] inside [${lo}, ${hi}]`);
    } else if (kind !== 'above' && kind !== 'below') bad(`hysteresis is for above, below and outside, not ${kind}`);
  });

export type RuleConfig = z.output<typeof ruleSchema>;

export const rulesSchema = z.array(ruleSchema).superRefine((rules, ctx) => {
  const seen = new Map<string, number>();
  rules.forEach((rule, index) => {
    const first = seen.get(rule.name);
    if (first !== undefined) ctx.addIssue({ code: 'custom', path: [index, 'name'], message: `"${rule.name}" is already the name of rules[${first}] (names must be unique)` });
    else seen.set(rule.name, index);
  });
});

/** A rule file: `rules:` and nothing else. */
export const ruleFileSchema = z.strictObject({ rules: rulesSchema });

export function conditionOf(rule: RuleConfig): ConditionKind {
  return conditionKeys.find((key) => rule[key] !== undefined)!;
}
