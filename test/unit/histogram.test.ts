import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { Histogram } from '../../gateway/util/histogram.js';

describe('Histogram', () => {
  it('counts cumulatively, as Prometheus buckets do', () => {
    const histogram = new Histogram([0.001, 0.01, 0.1]);
    for (const value of [0.0005, 0.001, 0.005, 0.05, 2]) histogram.observe(value);
    expect(histogram.snapshot()).toEqual({ buckets: [0.001, 0.01, 0.1], counts: [2, 3, 4], sum: 2.0565, count: 5 });
  });

  it('holds for any observations: each bucket counts the values at most its bound', () => {
    const bounds = [0.5, 1, 2.5, 10];
    fc.assert(
      fc.property(fc.array(fc.double({ min: 0, max: 20, noNaN: true })), (values) => {
        const histogram = new Histogram(bounds);
        for (const value of values) histogram.observe(value);
        const { counts, count } = histogram.snapshot();
        expect(counts).toEqual(bounds.map((bound) => values.filter((value) => value <= bound).length));
        expect(count).toBe(values.length);
      }),
    );
  });
});
