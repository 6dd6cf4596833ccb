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
import { clearSchema } from './conditions/condition.js';
import { conditionKinds, conditionShape, hysteresisKinds, parseCondition, takesClear, type Condition } from './conditions/index.js';

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

export const placeholders = ['rule', 'site', 'domain', 'device', 'metric', 'value', 'unit', 'severity', 'threshold', 'since'] as const;
const templateField = /\{([^{}]*)\}/g;

const message = z.string().superRefine((text, ctx) => {
  for (const [, name = ''] of text.matchAll(templateField)) {
    if (!(placeholders as readonly string[]).includes(name) && !/^tags\.[A-Za-z0-9_.-]+$/.test(name)) {
      ctx.addIssue({ code: 'custom', message: `unknown placeholder {${name}} (allowed: ${placeholders.map((p) => `{${p}}`).join(' ')} {tags.NAME})` });
    }
  }
});

/** The rule's keys as written: its condition is one of the condition keys (see conditions/index.ts). */
const ruleFields = z.strictObject({
  name: z.string().regex(/^[A-Za-z0-9_.-]+$/, 'letters, digits, "_", "-" or "." (it becomes an MQTT topic level)'),
  match: selectorSchema.default({}),
  ...conditionShape,
  /** Hysteresis: the value that ends the alert (below it for `above`, above it for `below`, a band for `outside`). */
  clear: clearSchema.optional(),
  for: duration().default(0),
  severity: z.enum(['info', 'warning', 'critical']).default('warning'),
  message: message.optional(),
  /** Notifier names (see `notifiers:`); MQTT publication always happens. */
  notify: z.array(z.string()).default([]),
  /** Reminder interval while firing and unacknowledged; default 10m for critical alerts, none otherwise; `off` for none. */
  renotify: z.union([z.literal('off'), duration({ min: 1000 })]).optional(),
});
type RuleFields = z.output<typeof ruleFields>;

type Issue = (path: string[], message: string) => void;

/**
 * The typed condition of a rule, or undefined after reporting why there is none. It runs twice: as a refinement, so
 * that its problems are listed with those of the other keys, and in the transform that yields the condition (which
 * zod runs only once nothing is wrong).
 */
function readCondition(fields: RuleFields, issue: Issue): Condition | undefined {
  const given = conditionKinds.flatMap((kind) => {
    const value = fields[kind];
    return value === undefined ? [] : [{ kind, value }];
  });
  const [first] = given;
  if (!first || given.length > 1) {
    issue([], first ? `has ${given.map((g) => g.kind).join(' and ')}: give exactly one condition` : `needs a condition: one of ${conditionKinds.join(', ')}`);
    return undefined;
  }
  const report = (key: string, message: string) => issue([key], message);
  if (fields.clear !== undefined && !takesClear(first.kind)) {
    report('clear', `hysteresis is for ${listed(hysteresisKinds)}, not ${first.kind}`);
    return undefined;
  }
  return parseCondition(first.kind, first.value, fields.clear, report);
}

/** "a, b and c" */
function listed(words: readonly string[]): string {
  return words.length > 1 ? `${words.slice(0, -1).join(', ')} and ${words.at(-1)}` : words.join('');
}

const addIssue = (ctx: z.RefinementCtx): Issue => (path, message) => ctx.addIssue({ code: 'custom', path, message });

export const ruleSchema = ruleFields
  .superRefine((fields, ctx) => void readCondition(fields, addIssue(ctx)))
  .transform((fields, ctx) => {
    const condition = readCondition(fields, addIssue(ctx));
    if (!condition) return z.NEVER;
    const { name, match, for: forMs, severity, message, notify, renotify } = fields;
    return { name, match, condition, for: forMs, severity, message, notify, renotify };
  });

/** A rule as the engine takes it: the keys of the file, with its condition typed (`condition.kind` says which). */
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
