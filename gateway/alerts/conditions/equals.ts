/** `equals: false`: a value (number, boolean or text) that means trouble, e.g. an open breaker. No hysteresis. */
import { z } from 'zod';
import type { ReadingValue } from '../../model.js';
import type { ConditionType } from './condition.js';

export interface EqualsCondition {
  readonly kind: 'equals';
  readonly value: ReadingValue;
}

export const equals: ConditionType<EqualsCondition, ReadingValue, ReadingValue> = {
  schema: z.union([z.number(), z.boolean(), z.string()]),
  takesClear: false,
  parse: (value) => ({ kind: 'equals', value }),
  judge: (condition, value) => (same(value, condition.value) ? 'trip' : 'clear'),
  threshold: ({ value }) => `= ${String(value)}`,
  defaultMessage: '{device} {metric} = {value}',
};

/** A 64-bit point's value is a bigint, the configured value a number: equal when the number is that integer exactly. */
function same(value: ReadingValue, expected: ReadingValue): boolean {
  if (typeof value === 'bigint' && typeof expected === 'number') return Number.isInteger(expected) && value === BigInt(expected);
  return value === expected;
}
