/**
 * What one kind of rule condition provides. Each kind is a module of this folder, listed once in index.ts; a rule
 * names its condition by the kind's YAML key (`above: 4.5`, `rate: { above: 0.5, per: 1m }`, `offline: true`).
 */
import { z } from 'zod';
import type { ReadingValue } from '../../model.js';

/**
 * What an input says about a rule's condition: `trip` (the alert should be on), `clear` (it should end), or `hold`
 * (inside the hysteresis band: keep whatever state the alert is in).
 */
export type Verdict = 'trip' | 'clear' | 'hold';

/** `clear:`, the hysteresis of a rule: a value (for a one-sided limit) or a band (for a band). */
export const clearSchema = z.union([z.number().finite(), z.tuple([z.number().finite(), z.number().finite()])]);
export type Clear = z.output<typeof clearSchema>;

/**
 * A value a limit applies to: a double, or a 64-bit integer (bigint). `<` and `>` between a bigint and a number
 * compare their exact values, so -9007199254740993n < -9007199254740992 holds though no double tells them apart.
 */
export function isNumeric(value: ReadingValue): value is number | bigint {
  return typeof value === 'number' || typeof value === 'bigint';
}

/** Reports a problem at a key of the rule: the condition's own key or `clear`. */
export type Report = (key: string, message: string) => void;

/**
 * A condition kind: `C` is its typed condition (`{ kind: 'above', limit, clearAt }`), `V` what its schema yields for
 * the value under its key, `I` what the engine feeds its judge (a reading's value, a rate, a silence, a status).
 */
export interface ConditionType<C extends { readonly kind: string }, V, I> {
  /** What may be written under the kind's key. */
  readonly schema: z.ZodType<V>;
  /** Whether the kind has a hysteresis band (`clear:`); a rule of another kind that gives one is refused. */
  readonly takesClear: boolean;
  /**
   * The typed condition, or undefined when there is none to make. Problems the schema cannot see (they involve
   * `clear:`, or both ends of a band) go to `report`. It also sees values that failed a refinement of the schema (zod
   * still runs the rule's checks then, to list every problem at once): those are reported already, not again.
   */
  parse(value: V, clear: Clear | undefined, report: Report): C | undefined;
  judge(condition: C, input: I): Verdict;
  /** The limit as shown in messages ({threshold}). */
  threshold(condition: C): string;
  /** The message of its alerts when the rule gives none. */
  readonly defaultMessage: string;
}
