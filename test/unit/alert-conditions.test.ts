import fc from 'fast-check';
import { describe, expect, expectTypeOf, it } from 'vitest';
import { conditionKinds, judge, thresholdText, type Condition, type ConditionKind } from '../../gateway/alerts/conditions/index.js';
import { ruleSchema } from '../../gateway/alerts/rule-config.js';
import { Rule } from '../../gateway/alerts/rule.js';

/** The typed condition a rule's YAML keys parse into. */
const conditionOf = (keys: Record<string, unknown>): Condition => ruleSchema.parse({ name: 'r', ...keys }).condition;

const problems = (keys: Record<string, unknown>): string[] => {
  const result = ruleSchema.safeParse({ name: 'r', ...keys });
  return result.success ? [] : result.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`);
};

describe('condition registry', () => {
  it('lists every kind by its YAML key, in the order messages name them', () => {
    expect(conditionKinds).toEqual(['above', 'below', 'outside', 'equals', 'rate', 'stale', 'offline']);
    expectTypeOf<Condition['kind']>().toEqualTypeOf<ConditionKind>();
    expectTypeOf<ConditionKind>().toEqualTypeOf<'above' | 'below' | 'outside' | 'equals' | 'rate' | 'stale' | 'offline'>();
  });

  it('parses each kind into its typed condition, hysteresis resolved', () => {
    expect(conditionOf({ above: 4.5 })).toEqual({ kind: 'above', limit: 4.5, clearAt: 4.5 });
    expect(conditionOf({ above: 4.5, clear: 4.3 })).toEqual({ kind: 'above', limit: 4.5, clearAt: 4.3 });
    expect(conditionOf({ below: 2, clear: 2.3 })).toEqual({ kind: 'below', limit: 2, clearAt: 2.3 });
    expect(conditionOf({ outside: [6.5, 8.5] })).toEqual({ kind: 'outside', low: 6.5, high: 8.5, clearLow: 6.5, clearHigh: 8.5 });
    expect(conditionOf({ outside: [6.5, 8.5], clear: [6.7, 8.3] })).toEqual({ kind: 'outside', low: 6.5, high: 8.5, clearLow: 6.7, clearHigh: 8.3 });
    expect(conditionOf({ equals: false })).toEqual({ kind: 'equals', value: false });
    expect(conditionOf({ rate: { above: 0.5 } })).toEqual({ kind: 'rate', direction: 'rising', limit: 0.5, perMs: 60_000 });
    expect(conditionOf({ rate: { below: -0.5, per: '10s' } })).toEqual({ kind: 'rate', direction: 'falling', limit: -0.5, perMs: 10_000 });
    expect(conditionOf({ stale: '2m' })).toEqual({ kind: 'stale', afterMs: 120_000 });
    expect(conditionOf({ offline: true })).toEqual({ kind: 'offline' });
  });

  it('shows each limit in messages as before', () => {
    const shown = (keys: Record<string, unknown>) => thresholdText(conditionOf(keys));
    expect(shown({ above: 4.5 })).toBe('> 4.5');
    expect(shown({ below: -2 })).toBe('< -2');
    expect(shown({ outside: [6.5, 8.5], clear: [7, 8] })).toBe('outside [6.5, 8.5]');
    expect(shown({ equals: 'open' })).toBe('= open');
    expect(shown({ rate: { above: 0.5, per: '1m' } })).toBe('> 0.5 per 60 s');
    expect(shown({ rate: { below: -0.5, per: '1500ms' } })).toBe('< -0.5 per 1.5 s');
    expect(shown({ stale: '2m' })).toBe('no data for 120 s');
    expect(shown({ offline: true })).toBe('offline');
  });

  it('gives each kind its default message', () => {
    const message = (keys: Record<string, unknown>) => new Rule(ruleSchema.parse({ name: 'r', ...keys })).message;
    expect(message({ above: 1 })).toBe('{device} {metric} = {value} {unit} ({threshold})');
    expect(message({ equals: true })).toBe('{device} {metric} = {value}');
    expect(message({ rate: { above: 1 } })).toBe('{device} {metric} changing fast: {value} {unit} ({threshold})');
    expect(message({ stale: '1m' })).toBe('{device} {metric}: {threshold}');
    expect(message({ offline: true })).toBe('{device} offline');
    expect(message({ offline: true, message: '{device} is gone' })).toBe('{device} is gone');
  });
});

describe('condition verdicts', () => {
  it('above and below: trip past the limit, hold in the band, clear at the clear value', () => {
    const high = conditionOf({ above: 4.5, clear: 4.3 });
    const low = conditionOf({ below: 2, clear: 2.3 });
    if (high.kind !== 'above' || low.kind !== 'below') throw new Error('parsed the wrong kind');
    expect([4.6, 4.5, 4.31, 4.3, Number.NaN, '5', true].map((value) => judge(high, value))).toEqual(['trip', 'hold', 'hold', 'clear', 'hold', 'hold', 'hold']);
    expect([1.9, 2, 2.29, 2.3, Number.NaN].map((value) => judge(low, value))).toEqual(['trip', 'hold', 'hold', 'clear', 'hold']);
  });

  it('outside: trips out of the band, clears inside the narrower one', () => {
    const band = conditionOf({ outside: [6.5, 8.5], clear: [6.7, 8.3] });
    if (band.kind !== 'outside') throw new Error('parsed the wrong kind');
    expect([6.4, 8.6, 6.5, 6.6, 6.7, 8.3, 8.4, 'x'].map((value) => judge(band, value))).toEqual(['trip', 'trip', 'hold', 'hold', 'clear', 'clear', 'hold', 'hold']);
  });

  it('equals: trips on the value itself, of any type, and clears on anything else', () => {
    const open = conditionOf({ equals: false });
    if (open.kind !== 'equals') throw new Error('parsed the wrong kind');
    expect([false, true, 0, 'false'].map((value) => judge(open, value))).toEqual(['trip', 'clear', 'clear', 'clear']);
  });

  it('rate, stale and offline judge a rate, a silence and a status', () => {
    const rising = conditionOf({ rate: { above: 0.5 } });
    const falling = conditionOf({ rate: { below: -0.5 } });
    const silent = conditionOf({ stale: '2m' });
    const offline = conditionOf({ offline: true });
    if (rising.kind !== 'rate' || falling.kind !== 'rate' || silent.kind !== 'stale' || offline.kind !== 'offline') throw new Error('parsed the wrong kind');
    expect([0.6, 0.5, -1].map((rate) => judge(rising, rate))).toEqual(['trip', 'clear', 'clear']);
    expect([-0.6, -0.5, 1].map((rate) => judge(falling, rate))).toEqual(['trip', 'clear', 'clear']);
    expect([120_001, 120_000].map((silentMs) => judge(silent, silentMs))).toEqual(['trip', 'clear']);
    expect(judge(offline, { device: 'p', state: 'offline', ts: 0 })).toBe('trip');
    expect(judge(offline, { device: 'p', state: 'online', ts: 0 })).toBe('clear');
  });

  it('a clear value never lets the alert end above the limit, nor trip inside it (any limit, any value)', () => {
    fc.assert(
      fc.property(fc.double({ min: -1e6, max: 1e6, noNaN: true }), fc.double({ min: 0, max: 1e3, noNaN: true }), fc.double({ noNaN: true }), (limit, gap, value) => {
        const high = conditionOf({ above: limit, clear: limit - gap });
        if (high.kind !== 'above') throw new Error('parsed the wrong kind');
        const verdict = judge(high, value);
        expect(verdict === 'trip').toBe(value > limit);
        expect(verdict === 'clear').toBe(value <= limit - gap);
      }),
    );
  });
});

describe('condition config problems (messages as before)', () => {
  it('one condition, exactly', () => {
    expect(problems({})).toEqual([': needs a condition: one of above, below, outside, equals, rate, stale, offline']);
    expect(problems({ above: 1, below: 0, stale: '1m' })).toEqual([': has above and below and stale: give exactly one condition']);
  });

  it('hysteresis that does not fit its condition', () => {
    expect(problems({ below: 2, clear: 1 })).toEqual(['clear: must be a number at or above the threshold 2 (the alert ends once the value is over it)']);
    expect(problems({ above: 2, clear: [1, 2] })).toEqual(['clear: must be a number at or below the threshold 2 (the alert ends once the value is under it)']);
    expect(problems({ outside: [1, 5], clear: 3 })).toEqual(['clear: must be a band [low, high] inside [1, 5]']);
    expect(problems({ outside: [1, 5], clear: [4, 2] })).toEqual(['clear: must be a band [low, high] inside [1, 5]']);
    expect(problems({ outside: [5, 1] })).toEqual(['outside: must be [low, high] with low ≤ high']);
    expect(problems({ outside: [5, 1], clear: [2, 3] })).toEqual(['outside: must be [low, high] with low ≤ high', 'clear: must be a band [low, high] inside [5, 1]']);
    for (const keys of [{ equals: 1 }, { rate: { above: 1 } }, { stale: '1m' }, { offline: true }]) {
      const [kind] = Object.keys(keys);
      expect(problems({ ...keys, clear: 1 })).toEqual([`clear: hysteresis is for above, below and outside, not ${kind}`]);
    }
  });

  it('a condition problem is listed with the problems of other keys', () => {
    expect(problems({ rate: { per: '1m' }, message: '{valeu}' })).toEqual(['rate: give exactly one of above or below', expect.stringMatching(/^message: unknown placeholder \{valeu\}/)]);
    expect(problems({ above: 1, clear: 2, message: '{valeu}' })).toEqual([expect.stringMatching(/^message: unknown placeholder/), 'clear: must be a number at or below the threshold 1 (the alert ends once the value is under it)']);
    expect(problems({ message: '{valeu}' })).toEqual([expect.stringMatching(/^message: unknown placeholder/), ': needs a condition: one of above, below, outside, equals, rate, stale, offline']);
  });
});
