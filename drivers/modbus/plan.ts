/**
 * Read coalescing: the fewest read requests that cover a device's points. Pure, no I/O.
 *
 * A request reads a contiguous range of one table and serves the points inside it. It is valid when its count stays
 * within the function's limit and no run of registers (bits) that none of its points uses is longer than `maxGap`.
 *
 * planReads is a greedy sweep over the points sorted by address: a point joins the open request when the gap from
 * the request's covered end to the point is at most maxGap and the request stays within the limit; otherwise it opens
 * a new request. Why that is optimal: let p1..pr be the points that opened the r requests and M(k) the highest end of
 * request k's points. Every point before p(k+1) in address order ends by M(k), and M(k) < M(k+1): p(k+1) either starts
 * more than maxGap past M(k) (gap break), or ends past p(k)'s start + limit (limit break), beyond all of request k.
 * Now take any i < j. If p(j) opened its request on a gap break, the registers from M(j-1) to p(j)'s start are used by
 * no point at all, and a request holding both p(i) (starting below M(i) <= M(j-1)) and p(j) contains that run. If it
 * was a limit break, p(j) ends more than limit past p(j-1)'s start, hence past p(i)'s start. Either way no valid
 * request holds both: the r opening points need r requests in any plan, and the greedy plan has exactly r.
 */
import { modbusTables, type ModbusPoint } from '../../gateway/config/schema.js';
import { registerSpan } from './register-span.js';

export type ModbusTable = ModbusPoint['table'];

export interface ReadRequest {
  readonly table: ModbusTable;
  readonly start: number;
  readonly count: number;
  /** In address order. */
  readonly points: readonly ModbusPoint[];
}

/** Modbus limits per request: registers for FC3/FC4, bits for FC1/FC2. */
export const MAX_REGISTERS = 125;
export const MAX_BITS = 2000;

export interface PlanOptions {
  /** Longest run of unused registers (bits) a request may read through; 0 merges only adjacent or overlapping points. */
  readonly maxGap: number;
  readonly maxRegisters?: number;
  readonly maxBits?: number;
}

/** The requests of one poll: tables in the order holding, input, coil, discrete, then by start address. */
export function planReads(points: readonly ModbusPoint[], opts: PlanOptions): ReadRequest[] {
  const requests: ReadRequest[] = [];
  for (const table of modbusTables) {
    const limit = limitOf(table, opts);
    let open: ModbusPoint[] = [];
    let start = 0;
    let end = 0;
    for (const point of pointsOf(points, table, limit)) {
      const pointEnd = point.address + registerSpan(point);
      if (open.length > 0 && point.address - end <= opts.maxGap && Math.max(end, pointEnd) - start <= limit) {
        open.push(point);
        end = Math.max(end, pointEnd);
        continue;
      }
      if (open.length > 0) requests.push({ table, start, count: end - start, points: open });
      open = [point];
      start = point.address;
      end = pointEnd;
    }
    if (open.length > 0) requests.push({ table, start, count: end - start, points: open });
  }
  return requests;
}

/**
 * The fewest requests that can cover `points` under the same rules, by dynamic programming over the points in address
 * order: best[i] is the fewest requests for the first i points, each request taking a run of consecutive points.
 * Runs of consecutive points suffice because the greedy plan is made of them and is optimal (see above); the tests
 * also check this function against an exhaustive search over every partition of small maps. O(n^2) per table.
 */
export function minimumRequestCount(points: readonly ModbusPoint[], opts: PlanOptions): number {
  let total = 0;
  for (const table of modbusTables) {
    const limit = limitOf(table, opts);
    const sorted = pointsOf(points, table, limit);
    const best = new Array<number>(sorted.length + 1).fill(Number.POSITIVE_INFINITY);
    best[0] = 0;
    for (let first = 0; first < sorted.length; first++) {
      const start = sorted[first]!.address;
      let end = start;
      // Extend the run first..last while it is one valid request; once invalid, every longer run is too.
      for (let last = first; last < sorted.length; last++) {
        const point = sorted[last]!;
        if (point.address - end > opts.maxGap) break;
        end = Math.max(end, point.address + registerSpan(point));
        if (end - start > limit) break;
        best[last + 1] = Math.min(best[last + 1]!, best[first]! + 1);
      }
    }
    total += best[sorted.length]!;
  }
  return total;
}

/** One request per point, in address order: finds the point a device refuses when it refuses a coalesced read. */
export function splitRequest(request: ReadRequest): ReadRequest[] {
  return request.points.map((point) => ({ table: request.table, start: point.address, count: registerSpan(point), points: [point] }));
}

function limitOf(table: ModbusTable, opts: PlanOptions): number {
  return table === 'coil' || table === 'discrete' ? (opts.maxBits ?? MAX_BITS) : (opts.maxRegisters ?? MAX_REGISTERS);
}

/** The table's points by address (longer first at one address, else in input order); a point over the limit is an error. */
function pointsOf(points: readonly ModbusPoint[], table: ModbusTable, limit: number): ModbusPoint[] {
  const selected = points.filter((point) => point.table === table);
  for (const point of selected) {
    if (registerSpan(point) > limit) throw new RangeError(`point ${point.name} spans ${registerSpan(point)} registers, more than one request may read (${limit})`);
  }
  return selected.sort((a, b) => a.address - b.address || registerSpan(b) - registerSpan(a));
}
