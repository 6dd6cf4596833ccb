/** `outside: [6.5, 8.5]`: a numeric value must stay inside a band; `clear: [6.7, 8.3]` is a narrower band that ends the alert. */
import { z } from 'zod';
import type { ReadingValue } from '../../model.js';
import { isNumeric, type ConditionType } from './condition.js';

export interface OutsideCondition {
  readonly kind: 'outside';
  readonly low: number;
  readonly high: number;
  /** The alert ends once the value is back inside [clearLow, clearHigh] (the band itself unless `clear:` narrows it). */
  readonly clearLow: number;
  readonly clearHigh: number;
}

export const outside: ConditionType<OutsideCondition, [number, number], ReadingValue> = {
  schema: z.tuple([z.number().finite(), z.number().finite()]),
  takesClear: true,
  parse([low, high], clear, report) {
    let valid = true;
    if (low > high) {
      report('outside', 'must be [low, high] with low ≤ high');
      valid = false;
    }
    if (clear === undefined) return valid ? { kind: 'outside', low, high, clearLow: low, clearHigh: high } : undefined;
    if (typeof clear === 'number' || clear[0] < low || clear[1] > high || clear[0] > clear[1]) {
      report('clear', `must be a band [low, high] inside [${low}, ${high}]`);
      return undefined;
    }
    return valid ? { kind: 'outside', low, high, clearLow: clear[0], clearHigh: clear[1] } : undefined;
  },
  judge({ low, high, clearLow, clearHigh }, value) {
    if (!isNumeric(value)) return 'hold';
    if (value < low || value > high) return 'trip';
    return value >= clearLow && value <= clearHigh ? 'clear' : 'hold';
  },
  threshold: ({ low, high }) => `outside [${low}, ${high}]`,
  defaultMessage: '{device} {metric} = {value} {unit} ({threshold})',
};
