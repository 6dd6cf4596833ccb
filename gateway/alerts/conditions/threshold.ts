/** `above: 4.5` and `below: 2`: one-sided limits on a numeric value, each with an optional `clear:` value. */
import { z } from 'zod';
import type { ReadingValue } from '../../model.js';
import { isNumeric, type ConditionType } from './condition.js';

export interface AboveCondition {
  readonly kind: 'above';
  readonly limit: number;
  /** The alert ends at or below this value (the limit itself unless `clear:` says otherwise). */
  readonly clearAt: number;
}

export interface BelowCondition {
  readonly kind: 'below';
  readonly limit: number;
  /** The alert ends at or above this value. */
  readonly clearAt: number;
}

const limitSchema = z.number().finite();
const template = '{device} {metric} = {value} {unit} ({threshold})';

export const above: ConditionType<AboveCondition, number, ReadingValue> = {
  schema: limitSchema,
  takesClear: true,
  parse(limit, clear, report) {
    if (clear === undefined) return { kind: 'above', limit, clearAt: limit };
    if (typeof clear !== 'number' || clear > limit) {
      report('clear', `must be a number at or below the threshold ${limit} (the alert ends once the value is under it)`);
      return undefined;
    }
    return { kind: 'above', limit, clearAt: clear };
  },
  judge({ limit, clearAt }, value) {
    if (!isNumeric(value)) return 'hold';
    return value > limit ? 'trip' : value <= clearAt ? 'clear' : 'hold';
  },
  threshold: ({ limit }) => `> ${limit}`,
  defaultMessage: template,
};

export const below: ConditionType<BelowCondition, number, ReadingValue> = {
  schema: limitSchema,
  takesClear: true,
  parse(limit, clear, report) {
    if (clear === undefined) return { kind: 'below', limit, clearAt: limit };
    if (typeof clear !== 'number' || clear < limit) {
      report('clear', `must be a number at or above the threshold ${limit} (the alert ends once the value is over it)`);
      return undefined;
    }
    return { kind: 'below', limit, clearAt: clear };
  },
  judge({ limit, clearAt }, value) {
    if (!isNumeric(value)) return 'hold';
    return value < limit ? 'trip' : value >= clearAt ? 'clear' : 'hold';
  },
  threshold: ({ limit }) => `< ${limit}`,
  defaultMessage: template,
};
