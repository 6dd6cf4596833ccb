import { describe, expect, it } from 'vitest';
import { seededRandom } from '../../drivers/simulator/random.js';
import { registerSpan } from '../../drivers/modbus/register-span.js';
import { MAX_BITS, MAX_REGISTERS, minimumRequestCount, planReads, splitRequest, type PlanOptions, type ReadRequest } from '../../drivers/modbus/plan.js';
import { modbusPointSchema, type ModbusPoint } from '../../gateway/config/schema.js';

let serial = 0;
function point(fields: Record<string, unknown>): ModbusPoint {
  return modbusPointSchema.parse({ name: `p${serial++}`, ...fields });
}

/** `count` uint16 points (or bits) at consecutive addresses. */
function run(from: number, count: number, fields: Record<string, unknown> = {}): ModbusPoint[] {
  return Array.from({ length: count }, (_, i) => point({ address: from + i, ...fields }));
}

/** A request as table:start+count, to compare plans at a glance. */
function shape(requests: readonly ReadRequest[]): string[] {
  return requests.map((r) => `${r.table}:${r.start}+${r.count}`);
}


function limitOf(table: ModbusPoint['table'], opts: PlanOptions): number {
  return table === 'coil' || table === 'discrete' ? (opts.maxBits ?? MAX_BITS) : (opts.maxRegisters ?? MAX_REGISTERS);
}

/**
 * Whether one request may read exactly these points, checked on a map of the registers they use (independent of the
 * planner's sweep): one table, within the limit, no run of unused registers longer than maxGap.
 */
function validRequest(points: readonly ModbusPoint[], opts: PlanOptions): boolean {
  const table = points[0]!.table;
  if (points.some((p) => p.table !== table)) return false;
  const start = Math.min(...points.map((p) => p.address));
  const end = Math.max(...points.map((p) => p.address + registerSpan(p)));
  if (end - start > limitOf(table, opts)) return false;
  const used = new Array<boolean>(end - start).fill(false);
  for (const p of points) for (let r = p.address; r < p.address + registerSpan(p); r++) used[r - start] = true;
  let unused = 0;
  for (const u of used) {
    unused = u ? 0 : unused + 1;
    if (unused > opts.maxGap) return false;
  }
  return true;
}

/** Every point in exactly one request that holds it, each request valid, tight and in the documented order. */
function expectValidPlan(points: readonly ModbusPoint[], plan: readonly ReadRequest[], opts: PlanOptions): void {
  const names = (list: readonly ModbusPoint[]): string[] => list.map((p) => p.name).sort();
  expect(names(plan.flatMap((r) => r.points))).toEqual(names(points));
  const tableRank = (table: ModbusPoint['table']): number => allTables.indexOf(table);
  for (let i = 0; i < plan.length; i++) {
    const r = plan[i]!;
    expect(r.points.length).toBeGreaterThan(0);
    expect(validRequest(r.points, opts)).toBe(true);
    for (const p of r.points) expect(p.table).toBe(r.table);
    expect(Math.min(...r.points.map((p) => p.address))).toBe(r.start);
    expect(Math.max(...r.points.map((p) => p.address + registerSpan(p)))).toBe(r.start + r.count);
    const addresses = r.points.map((p) => p.address);
    expect(addresses).toEqual([...addresses].sort((a, b) => a - b));
    const next = plan[i + 1];
    if (next) expect(tableRank(r.table) < tableRank(next.table) || (r.table === next.table && r.start < next.start)).toBe(true);
  }
}

/** The fewest valid requests over every partition of the points (exhaustive, so only for small maps). */
function exhaustiveMinimum(points: readonly ModbusPoint[], opts: PlanOptions): number {
  const n = points.length;
  const full = (1 << n) - 1;
  const valid = new Array<boolean>(full + 1).fill(false);
  for (let mask = 1; mask <= full; mask++) valid[mask] = validRequest(points.filter((_, i) => mask & (1 << i)), opts);
  const best = new Array<number>(full + 1).fill(Number.POSITIVE_INFINITY);
  best[0] = 0;
  for (let mask = 1; mask <= full; mask++) {
    const lowest = mask & -mask;
    // Subsets of mask that contain its lowest point: each partition is counted once.
    for (let sub = mask; sub > 0; sub = (sub - 1) & mask) {
      if (sub & lowest && valid[sub]) best[mask] = Math.min(best[mask]!, best[mask ^ sub]! + 1);
    }
  }
  return best[full]!;
}

const types = ['uint16', 'int16', 'int32', 'float32', 'uint64', 'float64', 'bool', 'string'] as const;

const allTables = ['holding', 'input', 'coil', 'discrete'] as const;

/** A random register map: clusters of points with some overlap, in random order over the given tables. */
function randomMap(random: () => number, count: number, opts: PlanOptions, tables: readonly ModbusPoint['table'][] = allTables): ModbusPoint[] {
  const points: ModbusPoint[] = [];
  let cursor = Math.floor(random() * 50);
  for (let i = 0; i < count; i++) {
    const table = tables[Math.floor(random() * tables.length)]!;
    cursor += Math.floor(random() * 3) === 0 ? Math.floor(random() * (opts.maxGap + 12)) : Math.floor(random() * 4);
    const address = Math.max(0, cursor - Math.floor(random() * 6));
    if (table === 'coil' || table === 'discrete') {
      points.push(point({ table, address }));
      continue;
    }
    const type = types[Math.floor(random() * types.length)]!;
    const limit = limitOf(table, opts);
    const fields: Record<string, unknown> = { table, address, type };
    if (type === 'bool' && random() < 0.5) fields.bit = Math.floor(random() * 16);
    if (type === 'string') fields.length = 1 + Math.floor(random() * Math.min(limit, 12));
    const p = point(fields);
    if (registerSpan(p) <= limit) points.push(p);
  }
  return points;
}

describe('planReads: gaps', () => {
  it('plans nothing for no points', () => {
    expect(planReads([], { maxGap: 16 })).toEqual([]);
    expect(minimumRequestCount([], { maxGap: 16 })).toBe(0);
  });

  it('reads a single point alone', () => {
    const p = point({ address: 40, type: 'float32' });
    expect(planReads([p], { maxGap: 16 })).toEqual([{ table: 'holding', start: 40, count: 2, points: [p] }]);
  });

  it('merges back-to-back points into one request', () => {
    const points = [0, 2, 4].map((address) => point({ address, type: 'float32' }));
    const plan = planReads(points, { maxGap: 0 });
    expect(shape(plan)).toEqual(['holding:0+6']);
    expect(plan[0]!.points).toEqual(points);
  });

  it('reads through a gap of exactly maxGap, not one more', () => {
    for (const maxGap of [1, 5, 16, 123]) {
      const a = point({ address: 0 });
      expect(shape(planReads([a, point({ address: 1 + maxGap })], { maxGap }))).toEqual([`holding:0+${maxGap + 2}`]);
      expect(shape(planReads([a, point({ address: 2 + maxGap })], { maxGap }))).toEqual(['holding:0+1', `holding:${2 + maxGap}+1`]);
    }
  });

  it('with maxGap 0 merges only adjacent or overlapping points', () => {
    const points = [point({ address: 0 }), point({ address: 1, type: 'int32' }), point({ address: 3 }), point({ address: 5 }), point({ address: 6 })];
    expect(shape(planReads(points, { maxGap: 0 }))).toEqual(['holding:0+4', 'holding:5+2']);
  });

  it('measures the gap from the end of the longest point so far', () => {
    // The string covers 10..19, so the point at 22 is 2 past the covered end even though the uint16 at 11 ends at 12.
    const points = [point({ address: 10, type: 'string', length: 10 }), point({ address: 11 }), point({ address: 22 })];
    expect(shape(planReads(points, { maxGap: 2 }))).toEqual(['holding:10+13']);
    expect(shape(planReads(points, { maxGap: 1 }))).toEqual(['holding:10+10', 'holding:22+1']);
  });

  it('merges bits across gaps the same way', () => {
    const coils = [0, 1, 5, 30].map((address) => point({ table: 'coil', address }));
    expect(shape(planReads(coils, { maxGap: 3 }))).toEqual(['coil:0+6', 'coil:30+1']);
    expect(shape(planReads(coils, { maxGap: 24 }))).toEqual(['coil:0+31']);
  });

  it('does not depend on the order of the input', () => {
    const random = seededRandom(7);
    const points = randomMap(random, 60, { maxGap: 4 });
    const shuffled = [...points].sort(() => random() - 0.5);
    const names = (plan: ReadRequest[]): string[][] => plan.map((r) => r.points.map((p) => p.name));
    const a = planReads(points, { maxGap: 4 });
    const b = planReads(shuffled, { maxGap: 4 });
    expect(shape(b)).toEqual(shape(a));
    // Points at distinct addresses come out in the same order; ties keep their (different) input order.
    expect(names(b).map((n) => [...n].sort())).toEqual(names(a).map((n) => [...n].sort()));
  });
});

describe('planReads: request limits', () => {
  it('reads 125 registers in one request and the 126th in a second', () => {
    expect(shape(planReads(run(0, 125), { maxGap: 0 }))).toEqual(['holding:0+125']);
    expect(shape(planReads(run(0, 126), { maxGap: 0 }))).toEqual(['holding:0+125', 'holding:125+1']);
    expect(shape(planReads(run(1000, 251, { table: 'input' }), { maxGap: 0 }))).toEqual(['input:1000+125', 'input:1125+125', 'input:1250+1']);
  });

  it('does not cut a multi-register point at the limit', () => {
    // 62 float32 end at 124; the 63rd ends at 126, past 125: it starts the next request whole.
    const floats = Array.from({ length: 63 }, (_, i) => point({ address: i * 2, type: 'float32' }));
    expect(shape(planReads(floats, { maxGap: 0 }))).toEqual(['holding:0+124', 'holding:124+2']);
    const withTail = [...floats.slice(0, 62), point({ address: 124 })];
    expect(shape(planReads(withTail, { maxGap: 0 }))).toEqual(['holding:0+125']);
  });

  it('counts the gap towards the limit', () => {
    expect(shape(planReads([point({ address: 0 }), point({ address: 124 })], { maxGap: 124 }))).toEqual(['holding:0+125']);
    expect(shape(planReads([point({ address: 0 }), point({ address: 123, type: 'int32' })], { maxGap: 124 }))).toEqual(['holding:0+125']);
    expect(shape(planReads([point({ address: 0 }), point({ address: 124, type: 'int32' })], { maxGap: 124 }))).toEqual(['holding:0+1', 'holding:124+2']);
  });

  it('reads a string of 125 registers alone', () => {
    const points = [point({ address: 5 }), point({ address: 6, type: 'string', length: 125 }), point({ address: 131 })];
    expect(shape(planReads(points, { maxGap: 16 }))).toEqual(['holding:5+1', 'holding:6+125', 'holding:131+1']);
  });

  it('reads 2000 bits in one request and the 2001st in a second', () => {
    expect(shape(planReads(run(0, 2000, { table: 'coil' }), { maxGap: 0 }))).toEqual(['coil:0+2000']);
    expect(shape(planReads(run(0, 2001, { table: 'discrete' }), { maxGap: 0 }))).toEqual(['discrete:0+2000', 'discrete:2000+1']);
    expect(shape(planReads([point({ table: 'coil', address: 0 }), point({ table: 'coil', address: 1999 })], { maxGap: 1998 }))).toEqual(['coil:0+2000']);
    expect(shape(planReads([point({ table: 'coil', address: 0 }), point({ table: 'coil', address: 2000 })], { maxGap: 1999 }))).toEqual(['coil:0+1', 'coil:2000+1']);
  });

  it('takes smaller limits for devices that need them', () => {
    expect(shape(planReads(run(0, 10), { maxGap: 0, maxRegisters: 4 }))).toEqual(['holding:0+4', 'holding:4+4', 'holding:8+2']);
    expect(shape(planReads(run(0, 10, { table: 'coil' }), { maxGap: 0, maxBits: 8 }))).toEqual(['coil:0+8', 'coil:8+2']);
    // The register limit does not apply to bits and the other way round.
    expect(shape(planReads([...run(0, 10), ...run(0, 10, { table: 'coil' })], { maxGap: 0, maxRegisters: 5, maxBits: 100 }))).toEqual([
      'holding:0+5',
      'holding:5+5',
      'coil:0+10',
    ]);
  });

  it('refuses a point longer than one request may read', () => {
    expect(() => planReads([point({ address: 0, type: 'float64' })], { maxGap: 0, maxRegisters: 3 })).toThrow(RangeError);
    expect(() => minimumRequestCount([point({ address: 0, type: 'string', length: 9 })], { maxGap: 0, maxRegisters: 8 })).toThrow(/more than one request/);
  });
});

describe('planReads: overlapping points', () => {
  it('reads the bits of one register and the register itself with one request', () => {
    const bits = Array.from({ length: 16 }, (_, bit) => point({ address: 100, type: 'bool', bit }));
    const word = point({ address: 100 });
    const plan = planReads([...bits, word], { maxGap: 0 });
    expect(shape(plan)).toEqual(['holding:100+1']);
    expect(plan[0]!.points).toHaveLength(17);
  });

  it('shares registers between two views of the same value', () => {
    const points = [point({ address: 10, type: 'int32' }), point({ address: 11 }), point({ address: 10, type: 'float32', order: 'CDAB' }), point({ address: 10, type: 'uint64' })];
    expect(shape(planReads(points, { maxGap: 0 }))).toEqual(['holding:10+4']);
  });

  it('puts the longer of two points at one address first', () => {
    const short = point({ address: 10 });
    const long = point({ address: 10, type: 'float64' });
    expect(planReads([short, long], { maxGap: 0 })[0]!.points).toEqual([long, short]);
  });

  it('keeps a point inside a long one in its request even at the limit', () => {
    const points = [point({ address: 0, type: 'string', length: 125 }), point({ address: 124 }), point({ address: 60, type: 'float64' })];
    expect(shape(planReads(points, { maxGap: 0 }))).toEqual(['holding:0+125']);
  });
});

describe('planReads: tables', () => {
  it('never merges across tables and orders them holding, input, coil, discrete', () => {
    const points = [
      point({ table: 'discrete', address: 0 }),
      point({ table: 'coil', address: 3 }),
      point({ table: 'input', address: 1 }),
      point({ table: 'holding', address: 2 }),
      point({ table: 'coil', address: 0 }),
      point({ table: 'input', address: 0 }),
      point({ table: 'holding', address: 500 }),
    ];
    expect(shape(planReads(points, { maxGap: 16 }))).toEqual(['holding:2+1', 'holding:500+1', 'input:0+2', 'coil:0+4', 'discrete:0+1']);
  });
});

describe('planReads is minimal', () => {
  it('matches minimumRequestCount on hand-made maps', () => {
    const maps: [ModbusPoint[], PlanOptions, number][] = [
      [run(0, 126), { maxGap: 0 }, 2],
      [[point({ address: 0 }), point({ address: 200 })], { maxGap: 16 }, 2],
      [[point({ address: 0 }), point({ address: 17 })], { maxGap: 16 }, 1],
      [[point({ address: 0 }), point({ address: 1, type: 'string', length: 10 }), point({ address: 2 }), point({ address: 10 })], { maxGap: 0, maxRegisters: 10 }, 2],
      [[...run(0, 3), ...run(0, 3, { table: 'input' }), ...run(0, 3, { table: 'coil' }), ...run(0, 3, { table: 'discrete' })], { maxGap: 0 }, 4],
    ];
    for (const [points, opts, expected] of maps) {
      expect(minimumRequestCount(points, opts)).toBe(expected);
      expect(planReads(points, opts)).toHaveLength(expected);
    }
  });

  it('equals the dynamic programming minimum on 2000 random maps', () => {
    const random = seededRandom(1234);
    for (let i = 0; i < 2000; i++) {
      const opts: PlanOptions = {
        maxGap: Math.floor(random() * 20),
        maxRegisters: random() < 0.5 ? MAX_REGISTERS : 4 + Math.floor(random() * 30),
        maxBits: random() < 0.5 ? MAX_BITS : 1 + Math.floor(random() * 40),
      };
      const points = randomMap(random, 1 + Math.floor(random() * 80), opts);
      const plan = planReads(points, opts);
      expectValidPlan(points, plan, opts);
      expect(plan.length, `map ${i}`).toBe(minimumRequestCount(points, opts));
    }
  });

  it('and both equal an exhaustive search over every partition of small maps', () => {
    const random = seededRandom(99);
    for (let i = 0; i < 400; i++) {
      const opts: PlanOptions = { maxGap: Math.floor(random() * 6), maxRegisters: 3 + Math.floor(random() * 12), maxBits: 1 + Math.floor(random() * 8) };
      // Two tables only, so the points crowd into the same requests.
      const points = randomMap(random, 2 + Math.floor(random() * 9), opts, ['holding', 'holding', 'holding', 'coil']);
      const exact = allTables.map((t) => points.filter((p) => p.table === t)).reduce((sum, group) => sum + (group.length ? exhaustiveMinimum(group, opts) : 0), 0);
      expect(minimumRequestCount(points, opts), `map ${i}`).toBe(exact);
      expect(planReads(points, opts), `map ${i}`).toHaveLength(exact);
    }
  });

  it('stays minimal on large dense maps', () => {
    const floats = Array.from({ length: 300 }, (_, i) => point({ table: 'input', address: i * 2, type: 'float32' }));
    expect(planReads(floats, { maxGap: 16 })).toHaveLength(5);
    expect(minimumRequestCount(floats, { maxGap: 16 })).toBe(5);
  });
});

describe('splitRequest', () => {
  it('reads each point of a coalesced request on its own, in address order', () => {
    const points = [point({ address: 0, type: 'float32' }), point({ address: 3 }), point({ address: 4, type: 'string', length: 5 }), point({ address: 12, type: 'uint64' })];
    const [request] = planReads(points, { maxGap: 16 });
    const parts = splitRequest(request!);
    expect(parts).toEqual([
      { table: 'holding', start: 0, count: 2, points: [points[0]] },
      { table: 'holding', start: 3, count: 1, points: [points[1]] },
      { table: 'holding', start: 4, count: 5, points: [points[2]] },
      { table: 'holding', start: 12, count: 4, points: [points[3]] },
    ]);
  });

  it('gives overlapping points a request each, so a refused part is never split again', () => {
    const bits = Array.from({ length: 3 }, (_, bit) => point({ table: 'input', address: 7, type: 'bool', bit }));
    const parts = splitRequest(planReads(bits, { maxGap: 0 })[0]!);
    expect(shape(parts)).toEqual(['input:7+1', 'input:7+1', 'input:7+1']);
    expect(parts.map((p) => p.points)).toEqual(bits.map((b) => [b]));
  });

  it('splits bit requests into single bits', () => {
    const coils = [2, 3, 9].map((address) => point({ table: 'discrete', address }));
    expect(shape(splitRequest(planReads(coils, { maxGap: 10 })[0]!))).toEqual(['discrete:2+1', 'discrete:3+1', 'discrete:9+1']);
  });

  it('leaves a single-point request as it is', () => {
    const request = planReads([point({ address: 9, type: 'int64' })], { maxGap: 0 })[0]!;
    expect(splitRequest(request)).toEqual([request]);
  });

  it('every part of every random plan holds one point within the original request', () => {
    const random = seededRandom(5);
    for (let i = 0; i < 100; i++) {
      const opts = { maxGap: Math.floor(random() * 10) };
      for (const request of planReads(randomMap(random, 40, opts), opts)) {
        const parts = splitRequest(request);
        expect(parts.map((p) => p.points[0])).toEqual(request.points);
        for (const part of parts) {
          expect(part.points).toHaveLength(1);
          expect(part.table).toBe(request.table);
          expect(part.start).toBeGreaterThanOrEqual(request.start);
          expect(part.start + part.count).toBeLessThanOrEqual(request.start + request.count);
        }
      }
    }
  });
});
