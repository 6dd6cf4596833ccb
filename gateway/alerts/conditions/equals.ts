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
  judge: (condition, value) => (value === condition.value ? 'trip' : 'clear'),
  threshold: ({ value }) => `= ${String(value)}`,
  defaultMessage: '{device} {metric} = {value}',
};
