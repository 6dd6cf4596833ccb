/**
 * A profile's points read from a device and decoded as the gateway would, each also shown in the other byte orders:
 * a wrong order stands out (230.1 V beside 1.7e-38).
 */
import { referenceOf } from '../../drivers/modbus/addressing.js';
import { decodeBit, decodePoint } from '../../drivers/modbus/codec.js';
import type { ModbusPoint } from '../../drivers/modbus/config.js';
import { ModbusFailure, type BlockData, type ModbusLink } from '../../drivers/modbus/link.js';
import { planReads, splitRequest, type ReadRequest } from '../../drivers/modbus/plan.js';
import { byteOrders, registerSpan } from '../../drivers/modbus/registers.js';
import type { ReadingValue } from '../../gateway/model.js';
import type { Order } from './interpret.js';

export interface ProfileRow {
  readonly point: string;
  readonly table: ModbusPoint['table'];
  readonly address: number;
  readonly reference: string;
  readonly type: ModbusPoint['type'];
  readonly order: Order;
  readonly value?: ReadingValue;
  readonly unit?: string;
  /** Why there is no value: the device's exception for this point. */
  readonly error?: string;
  /** The same registers in each other order that gives a different value (scale and offset applied). */
  readonly other_orders?: Partial<Record<Order, ReadingValue>>;
}

/** The gateway's default max_gap: the probe reads with the same requests a device with the profile gets. */
const MAX_GAP = 16;

/**
 * Reads every point; a point the device refuses (an exception) gets its error in its row, and the rest are read on.
 * Anything else (no answer, a broken link) throws the ModbusFailure: nothing of the device can be shown.
 */
export async function readProfile(link: ModbusLink, unit: number, points: readonly ModbusPoint[], timeoutMs: number): Promise<ProfileRow[]> {
  const results = new Map<ModbusPoint, Omit<ProfileRow, 'point' | 'table' | 'address' | 'reference' | 'type' | 'order' | 'unit'>>();
  const read = async (request: ReadRequest): Promise<void> => {
    let data: BlockData;
    try {
      data = await link.read(unit, request, timeoutMs);
    } catch (error) {
      if (!(error instanceof ModbusFailure) || error.kind !== 'exception') throw error;
      // A coalesced read may span a register the device lacks: read its points one by one to find the culprit.
      if (request.points.length > 1) {
        for (const part of splitRequest(request)) await read(part);
        return;
      }
      for (const point of request.points) results.set(point, { error: error.message });
      return;
    }
    for (const point of request.points) results.set(point, decodeAllOrders(point, data, request.start));
  };
  for (const request of planReads(points, { maxGap: MAX_GAP })) await read(request);
  return points.map((point) => ({
    point: point.name,
    table: point.table,
    address: point.address,
    reference: referenceOf(point.table, point.address),
    type: point.type,
    order: point.order,
    ...(point.unit === undefined ? {} : { unit: point.unit }),
    ...results.get(point),
  }));
}

function decodeAllOrders(point: ModbusPoint, data: BlockData, start: number): { value: ReadingValue; other_orders?: Partial<Record<Order, ReadingValue>> } {
  if ('bits' in data) return { value: decodeBit(point, data.bits, start) };
  const value = decodePoint(point, data.registers, start);
  if (point.type === 'bool' || point.type === 'string') return { value };
  const others: Partial<Record<Order, ReadingValue>> = {};
  // One register has two readings (as is, bytes swapped); wider values have four.
  const candidates = registerSpan(point) === 1 ? (['ABCD', 'BADC'] as const) : byteOrders;
  const seen = new Set([sameOrder(point.order, registerSpan(point))]);
  for (const order of candidates) {
    if (seen.has(order)) continue;
    seen.add(order);
    others[order] = decodePoint({ ...point, order }, data.registers, start);
  }
  return { value, other_orders: others };
}

/** The order a 16-bit value reads identically in, among ABCD and BADC. */
function sameOrder(order: Order, span: number): Order {
  if (span > 1) return order;
  return order === 'CDAB' ? 'ABCD' : order === 'DCBA' ? 'BADC' : order;
}
