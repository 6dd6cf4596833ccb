/**
 * The registry of rule conditions: every kind by its YAML key, in the order messages list them. A new condition is
 * a module of this folder and one line in `conditionTypes`; the rule schema, the typed `Condition` union and the
 * dispatch below follow from it.
 */
import type { z } from 'zod';
import type { Clear, ConditionType, Report, Verdict } from './condition.js';
import { equals } from './equals.js';
import { offline } from './offline.js';
import { outside } from './outside.js';
import { rate } from './rate.js';
import { stale } from './stale.js';
import { above, below } from './threshold.js';

const conditionTypes = { above, below, outside, equals, rate, stale, offline };

type Types = typeof conditionTypes;
export type ConditionKind = keyof Types;
type Parts<T> = T extends ConditionType<infer C, infer V, infer I> ? { condition: C; value: V; input: I } : never;
export type ConditionOf<K extends ConditionKind> = Parts<Types[K]>['condition'];
/** What the kind's schema yields for the value under its key. */
type ConditionValue<K extends ConditionKind> = Parts<Types[K]>['value'];
type InputOf<K extends ConditionKind> = Parts<Types[K]>['input'];

/** A rule's condition, typed by its kind: `{ kind: 'above', limit, clearAt }`, `{ kind: 'stale', afterMs }`, ... */
export type Condition = ConditionOf<ConditionKind>;

// The same registry, typed so that a kind's parts are looked up together (TypeScript's correlated unions). It also
// checks that each condition's `kind` is its key in the registry, which the dispatch below relies on.
const registry: { readonly [K in ConditionKind]: ConditionType<ConditionOf<K> & { readonly kind: K }, ConditionValue<K>, InputOf<K>> } = conditionTypes;

function typeOf<K extends ConditionKind>(kind: K): ConditionType<ConditionOf<K>, ConditionValue<K>, InputOf<K>> {
  return registry[kind];
}

function isConditionKind(key: string): key is ConditionKind {
  return key in registry;
}

export const conditionKinds: readonly ConditionKind[] = Object.keys(registry).filter(isConditionKind);

/** The kinds that take `clear:`. */
export const hysteresisKinds: readonly ConditionKind[] = conditionKinds.filter((kind) => registry[kind].takesClear);

/** The rule keys of the conditions, each optional (a rule gives exactly one; the rule schema checks that). */
export type ConditionShape = { readonly [K in ConditionKind]: z.ZodOptional<z.ZodType<ConditionValue<K>>> };

// Object.fromEntries cannot type a mapped object; each entry is the `.optional()` of its own kind's schema.
export const conditionShape = Object.fromEntries(conditionKinds.map((kind) => [kind, registry[kind].schema.optional()])) as ConditionShape;

export function takesClear(kind: ConditionKind): boolean {
  return registry[kind].takesClear;
}

export function parseCondition<K extends ConditionKind>(kind: K, value: ConditionValue<K>, clear: Clear | undefined, report: Report): ConditionOf<K> | undefined {
  return typeOf(kind).parse(value, clear, report);
}

/** The verdict of what the engine feeds a condition of this kind (see each kind's `judge`). */
export function judge<K extends ConditionKind>(condition: ConditionOf<K> & { readonly kind: K }, input: InputOf<K>): Verdict {
  return typeOf<K>(condition.kind).judge(condition, input);
}

export function thresholdText<K extends ConditionKind>(condition: ConditionOf<K> & { readonly kind: K }): string {
  return typeOf<K>(condition.kind).threshold(condition);
}

export function defaultMessage(kind: ConditionKind): string {
  return registry[kind].defaultMessage;
}
