/** Report-by-exception decisions (drivers/report-by-exception.ts): examples and properties of deadband and heartbeat. */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { modbusPointSchema } from '../../drivers/modbus/config.js';
import { ReportGate } from '../../drivers/report-by-exception.js';
import { lineFieldSchema } from '../../drivers/serial-line/config.js';
import type { Quality, ReadingValue } from '../../gateway/model.js';

function gate(policy: { deadband?: number | string; max_silence?: number }): ReportGate {
  const made = ReportGate.of(policy);
  if (!made) throw new Error('no gate');
  return made;
}

/** Feeds samples one second apart; returns which were reported. */
function feed(g: ReportGate, values: readonly ReadingValue[], quality: Quality = 'good'): boolean[] {
  return values.map((value, i) => g.admit(value, quality, i * 1000));
}

describe('ReportGate', () => {
  it('is not made without deadband or max_silence: every sample reports', () => {
    expect(ReportGate.of({})).toBeUndefined();
  });

  it('absolute deadband: reports the first sample, then moves of more than the band from the last reported value', () => {
    expect(feed(gate({ deadband: 0.5 }), [10, 10.2, 10.5, 10.6, 10.3, 10.0, 9.9])).toEqual([true, false, false, true, false, true, false]);
  });

  it('percent deadband: of the last reported value, which drags along as it reports', () => {
    expect(feed(gate({ deadband: '2%' }), [100, 101.9, 102.1, 104.1, 104.2, 0, 0.001])).toEqual([true, false, true, false, true, true, true]);
  });

  it('deadband 0 reports every change and nothing else', () => {
    expect(feed(gate({ deadband: 0 }), [1, 1, 2, 2, 1])).toEqual([true, false, true, false, true]);
  });

  it('max_silence alone: reports changes, and an unchanged value once the silence has lasted that long', () => {
    expect(feed(gate({ max_silence: 3000 }), [5, 5, 5, 5, 5, 6, 6])).toEqual([true, false, false, true, false, true, false]);
    expect(feed(gate({ max_silence: 3000 }), ['open', 'open', 'closed'])).toEqual([true, false, true]);
  });

  it('a quality change always reports, and a value that goes bad and good again', () => {
    const g = gate({ deadband: 100 });
    expect(g.admit(20, 'good', 0)).toBe(true);
    expect(g.admit(Number.NaN, 'bad', 1)).toBe(true);
    expect(g.admit(Number.NaN, 'bad', 2)).toBe(false);
    expect(g.admit(20, 'good', 3)).toBe(true);
    expect(g.admit(21, 'uncertain', 4)).toBe(true);
  });

  it('after forget() (device offline, point unreadable) the next sample reports whatever it is', () => {
    const g = gate({ deadband: 100 });
    expect(feed(g, [1, 2])).toEqual([true, false]);
    g.forget();
    expect(g.admit(2, 'good', 5000)).toBe(true);
  });

  it('compares 64-bit integers exactly', () => {
    const g = gate({ deadband: 1 });
    expect(g.admit(9007199254740993n, 'good', 0)).toBe(true);
    expect(g.admit(9007199254740994n, 'good', 1)).toBe(false);
    expect(g.admit(9007199254740995n, 'good', 2)).toBe(true);
    expect(feed(gate({ max_silence: 60_000 }), [2n ** 63n, 2n ** 63n, 2n ** 63n + 1n])).toEqual([true, false, true]);
  });

  it('takes a percentage of the last value as written: 15% of 5e-323 is 15 × 5e-323 / 100, not 0.15 × 5e-323', () => {
    // Found by the property below: 0.15 is not exact, and in the smallest doubles its rounding moved the band by one step.
    expect(feed(gate({ deadband: '15%' }), [5e-323, 6e-323, 0])).toEqual([true, false, true]);
  });

  it('property: a suppressed sample lies within the band of the last reported one; a reported one outside it, or first, or after the silence', () => {
    fc.assert(
      fc.property(
        fc.oneof(fc.double({ min: 0, max: 50, noNaN: true }), fc.integer({ min: 0, max: 50 }).map((n) => `${n}%`)),
        fc.option(fc.integer({ min: 1, max: 20_000 }), { nil: undefined }),
        fc.array(fc.tuple(fc.double({ min: -1e3, max: 1e3, noNaN: true }), fc.integer({ min: 0, max: 5_000 })), { minLength: 1, maxLength: 60 }),
        (deadband, maxSilence, steps) => {
          const g = gate({ deadband, ...(maxSilence === undefined ? {} : { max_silence: maxSilence }) });
          let last: { value: number; at: number } | undefined;
          let now = 0;
          for (const [value, elapsed] of steps) {
            now += elapsed;
            const reported = g.admit(value, 'good', now);
            const band = typeof deadband === 'number' ? deadband : (Math.abs(last?.value ?? 0) * Number(deadband.slice(0, -1))) / 100;
            const outside = last === undefined || Math.abs(value - last.value) > band;
            const silentTooLong = last !== undefined && maxSilence !== undefined && now - last.at >= maxSilence;
            expect(reported).toBe(outside || silentTooLong);
            if (reported) last = { value, at: now };
          }
        },
      ),
      { numRuns: 500 },
    );
  });
});

describe('config', () => {
  it('takes deadband and max_silence on numeric points', () => {
    const point = modbusPointSchema.parse({ name: 'level', address: 0, deadband: '2.5%', max_silence: '5m' });
    expect(point).toMatchObject({ deadband: '2.5%', max_silence: 300_000 });
    expect(lineFieldSchema.parse({ metric: 'level', deadband: 0.01 })).toMatchObject({ deadband: 0.01 });
  });

  it('refuses a deadband on a boolean or text point, a negative one, and a percentage it cannot read', () => {
    const problems = (fields: Record<string, unknown>) => modbusPointSchema.safeParse({ name: 'p', address: 0, ...fields }).error?.issues.map((i) => `${i.path.join('.')}: ${i.message}`);
    expect(problems({ table: 'coil', deadband: 1 })).toEqual([expect.stringMatching(/^deadband: deadband applies to numbers only \(this is bool\)/)]);
    expect(problems({ type: 'string', length: 2, deadband: 1 })).toEqual([expect.stringMatching(/^deadband: .*this is string/)]);
    expect(problems({ deadband: -1 })).toHaveLength(1);
    expect(problems({ deadband: '2 percent' })).toHaveLength(1);
    expect(lineFieldSchema.safeParse({ metric: 'door', type: 'boolean', deadband: 1 }).success).toBe(false);
  });
});
