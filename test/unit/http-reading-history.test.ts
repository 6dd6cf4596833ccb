/**
 * The charts' history: one point per step per series (the newest of the step wins), a window that slides, a fixed
 * number of series (the rest counted), booleans as 0/1 and no strings. Checked against a plain model with fast-check.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { Reading } from '../../gateway/model.js';
import { ReadingHistory } from '../../gateway/http/reading-history.js';

const reading = (device: string, metric: string, ts: number, value: Reading['value']): Reading => ({ device, domain: 'water', metric, value, unit: 'm', ts, quality: 'good' });
const key = (r: Reading) => `${r.device}\u0000${r.metric}`;

describe('ReadingHistory', () => {
  it('keeps one point per second, the newest of each second', () => {
    const history = new ReadingHistory({ windowMs: 60_000, stepMs: 1000, maxSeries: 10 }, () => 10_000);
    for (const [ts, value] of [[1000, 1], [1200, 2], [1999, 3], [2000, 4], [4500, 5]] as const) history.add(reading('p1', 'level', ts, value), 'p1\u0000level');
    expect(history.select({})).toEqual([{ device: 'p1', domain: 'water', metric: 'level', unit: 'm', ts: [1999, 2000, 4500], values: [3, 4, 5] }]);
  });

  it('charts booleans as 0/1 and keeps no strings', () => {
    const history = new ReadingHistory({ windowMs: 60_000, stepMs: 1000, maxSeries: 10 }, () => 10_000);
    for (const r of [reading('b1', 'closed', 1000, true), reading('b1', 'closed', 2000, false), reading('b1', 'mode', 1000, 'auto')]) history.add(r, key(r));
    expect(history.select({}).map(({ metric, values }) => ({ metric, values }))).toEqual([{ metric: 'closed', values: [1, 0] }]);
  });

  it('keeps at most maxSeries series and counts the readings of the others; filters by domain and device', () => {
    const history = new ReadingHistory({ windowMs: 60_000, stepMs: 1000, maxSeries: 2 }, () => 10_000);
    for (const device of ['a', 'b', 'c', 'c']) history.add(reading(device, 'level', 1000, 1), `${device}\u0000level`);
    expect(history.stats()).toEqual({ series: 2, seriesRefused: 2 });
    expect(history.select({ device: 'b' }).map((s) => s.device)).toEqual(['b']);
    expect(history.select({ domain: 'traffic' })).toEqual([]);
  });

  it('answers like a model: the last window of per-step points, whatever the readings (fast-check)', () => {
    const windowMs = 10_000;
    const stepMs = 1000;
    fc.assert(
      fc.property(fc.array(fc.tuple(fc.integer({ min: 0, max: 2500 }), fc.double({ noNaN: true })), { maxLength: 200 }), fc.integer({ min: 0, max: 30_000 }), (steps, lookAhead) => {
        let ts = 0;
        const readings = steps.map(([gap, value]) => reading('p', 'x', (ts += gap), value));
        const now = ts + lookAhead;
        const history = new ReadingHistory({ windowMs, stepMs, maxSeries: 1 }, () => now);
        for (const r of readings) history.add(r, key(r));
        // The model: the newest reading of each step; the last windowMs/stepMs steps that had one; those in the window.
        const newest = new Map<number, Reading>();
        for (const r of readings) newest.set(Math.floor(r.ts / stepMs), r);
        const kept = [...newest.values()].slice(-(windowMs / stepMs)).filter((r) => r.ts >= now - windowMs);
        const [series] = history.select({});
        expect(series?.ts ?? []).toEqual(kept.map((r) => r.ts));
        expect(series?.values ?? []).toEqual(kept.map((r) => r.value));
      }),
    );
  });
});
