import { describe, expect, it } from 'vitest';
import { LineEncoder } from '../../gateway/influx/line-protocol.js';
import type { Reading } from '../../gateway/model.js';

const reading = (over: Partial<Reading>): Reading => ({ device: 'pump-3', domain: 'water', metric: 'level', value: 1.5, unit: 'm', ts: 1795405973402, quality: 'good', ...over });

describe('LineEncoder', () => {
  const encoder = new LineEncoder('district-7');

  it('writes measurement = domain, sorted tags with site and device, one float field, ms timestamp', () => {
    expect(encoder.encode(reading({ tags: { zone: 'north', street: 'harbour-road' } }))).toBe('water,device=pump-3,site=district-7,street=harbour-road,zone=north level=1.5 1795405973402');
    expect(encoder.encode(reading({ device: 'pump-4', value: 12 }))).toBe('water,device=pump-4,site=district-7 level=12 1795405973402');
  });

  it('writes booleans and strings, escaping what line protocol needs', () => {
    expect(encoder.encode(reading({ device: 'x', metric: 'running', value: true }))).toBe('water,device=x,site=district-7 running=true 1795405973402');
    expect(encoder.encode(reading({ device: 'y', metric: 'note', value: 'say "hi"\\ \nnow' }))).toBe('water,device=y,site=district-7 note="say \\"hi\\"\\\\  now" 1795405973402');
    expect(encoder.encode(reading({ device: 'z', domain: 'my water', tags: { 'a b': 'c,d', empty: '' } }))).toBe('my\\ water,a\\ b=c\\,d,device=z,site=district-7 level=1.5 1795405973402');
  });

  it('keeps the schema tags over configured tags of the same name', () => {
    expect(encoder.encode(reading({ device: 'w', tags: { site: 'elsewhere', device: 'other' } }))).toBe('water,device=w,site=district-7 level=1.5 1795405973402');
  });

  it('counts NaN and infinities instead of writing them', () => {
    const before = encoder.unrepresentable;
    expect(encoder.encode(reading({ value: Number.NaN, quality: 'bad' }))).toBeUndefined();
    expect(encoder.encode(reading({ value: Number.POSITIVE_INFINITY }))).toBeUndefined();
    expect(encoder.unrepresentable - before).toBe(2);
  });

  it('writes a 64-bit integer point as an exact integer field, small values too, and counts a uint64 beyond int64', () => {
    expect(encoder.encode(reading({ device: 'm', metric: 'energy', value: -9007199254740993n }))).toBe('water,device=m,site=district-7 energy=-9007199254740993i 1795405973402');
    expect(encoder.encode(reading({ device: 'm', metric: 'energy', value: 7n }))).toBe('water,device=m,site=district-7 energy=7i 1795405973402');
    expect(encoder.encode(reading({ device: 'm', metric: 'energy', value: 2n ** 63n - 1n }))).toBe('water,device=m,site=district-7 energy=9223372036854775807i 1795405973402');
    const before = { beyond: encoder.beyondInt64, unrepresentable: encoder.unrepresentable };
    expect(encoder.encode(reading({ device: 'm', metric: 'energy', value: 2n ** 63n }))).toBeUndefined();
    expect(encoder.encode(reading({ device: 'm', metric: 'energy', value: 18446744073709551000n }))).toBeUndefined();
    expect({ beyond: encoder.beyondInt64, unrepresentable: encoder.unrepresentable }).toEqual({ beyond: before.beyond + 2, unrepresentable: before.unrepresentable });
  });
});
