/**
 * `rate: { above: 0.5, per: 1m }`: the value changes faster than a limit, in units per `per`, measured over a window
 * of that length by the readings' own timestamps (see RateWindow). `below` takes a negative limit, for a fall.
 */
import { z } from 'zod';
import { duration } from '../../config/duration.js';
import type { ConditionType } from './condition.js';

export interface RateCondition {
  readonly kind: 'rate';
  /** Rising: fires above `limit`; falling: fires below it. */
  readonly direction: 'rising' | 'falling';
  readonly limit: number;
  /** The unit of time of the rate, and the length of its window. */
  readonly perMs: number;
}

const rateSchema = z
  .strictObject({
    /** Fires when the value rises faster than this many units per `per`. */
    above: z.number().finite().optional(),
    /** Fires when it falls faster: a negative number, e.g. -0.5 (units per `per`). */
    below: z.number().finite().optional(),
    per: duration({ min: 1000 }).default(60_000),
  })
  .refine((rate) => (rate.above === undefined) !== (rate.below === undefined), { message: 'give exactly one of above or below' });

export const rate: ConditionType<RateCondition, z.output<typeof rateSchema>, number> = {
  schema: rateSchema,
  takesClear: false,
  parse({ above, below, per }) {
    // Both or neither: the schema has said so.
    if (above !== undefined) return below === undefined ? { kind: 'rate', direction: 'rising', limit: above, perMs: per } : undefined;
    return below === undefined ? undefined : { kind: 'rate', direction: 'falling', limit: below, perMs: per };
  },
  judge({ direction, limit }, perWindow) {
    const trips = direction === 'rising' ? perWindow > limit : perWindow < limit;
    return trips ? 'trip' : 'clear';
  },
  threshold: ({ direction, limit, perMs }) => `${direction === 'rising' ? '>' : '<'} ${limit} per ${perMs / 1000} s`,
  defaultMessage: '{device} {metric} changing fast: {value} {unit} ({threshold})',
};
