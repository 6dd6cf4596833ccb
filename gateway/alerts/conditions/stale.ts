/** `stale: 2m`: a series the rule watches has had no good reading for that long. Any good reading ends the alert. */
import { duration } from '../../config/duration.js';
import type { ConditionType } from './condition.js';

export interface StaleCondition {
  readonly kind: 'stale';
  readonly afterMs: number;
}

export const stale: ConditionType<StaleCondition, number, number> = {
  schema: duration({ min: 1000 }),
  takesClear: false,
  parse: (afterMs) => ({ kind: 'stale', afterMs }),
  /** Judges the silence of a series: how long (monotonic ms) since its last good reading. */
  judge: ({ afterMs }, silentMs) => (silentMs > afterMs ? 'trip' : 'clear'),
  threshold: ({ afterMs }) => `no data for ${afterMs / 1000} s`,
  defaultMessage: '{device} {metric}: {threshold}',
};
