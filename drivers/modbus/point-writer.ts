import type { ReadingValue } from '../../gateway/model.js';
import type { WriteOutcome } from '../driver.js';
import type { ModbusPoint } from './config.js';
import { decodeBit, decodePoint } from './codec.js';
import { ModbusFailure, type BlockData, type LinkSession, type ModbusLink } from './link.js';
import type { ReadRequest } from './plan.js';
import { registerSpan } from './registers.js';
import { encodeWrite, heldValue, WriteRefusal } from './write-encoding.js';

/** What the writer needs of a device. */
export interface WrittenDevice {
  readonly name: string;
  readonly unit_id: number;
  readonly timeout: number;
}

/**
 * Writes one point and reads it back, as one session on the device's link: a read before (the value it replaces, and
 * the register a bool at a `bit` shares with other bits), the write, the read back. Polls of the other devices on the
 * link wait for it, so nothing is interleaved on an RTU line. A value the point cannot hold is refused before the
 * bus is touched. Never throws: every outcome is a WriteOutcome for the operator.
 */
export async function writePoint(link: ModbusLink, device: WrittenDevice, point: ModbusPoint, value: unknown): Promise<WriteOutcome> {
  try {
    // Checked with the register at 0 first: a refused value costs no transaction.
    encodeWrite(point, value, 0);
  } catch (error) {
    return failed(error);
  }
  const read: ReadRequest = { table: point.table, start: point.address, count: registerSpan(point), points: [point] };
  let before: ReadingValue | undefined;
  try {
    return await link.session(device.unit_id, device.timeout, async (session) => {
      const current = await readBefore(session, read, point);
      before = current?.value;
      const write = encodeWrite(point, value, current?.word);
      await writeStep(session, write.table === 'coil' ? { table: 'coil', start: point.address, bits: write.bits } : { table: 'holding', start: point.address, registers: write.registers });
      const after = decode(point, await readBackStep(session, read));
      const expected = heldValue(point, write);
      if (after !== expected) return { ok: false, error: `read-back mismatch: wrote ${show(expected)}, the device holds ${show(after)}`, before, after };
      return { ok: true, value: after, before, ts: Date.now() };
    });
  } catch (error) {
    return failed(error, before);
  }
}

/** The point's value and its first register word, or undefined when the device refuses the read (some write-only setpoints). */
async function readBefore(session: LinkSession, read: ReadRequest, point: ModbusPoint): Promise<{ value: ReadingValue; word: number } | undefined> {
  let data: BlockData;
  try {
    data = await session.read(read);
  } catch (error) {
    // A bool at a bit shares its register with other bits: without reading it, they would be overwritten.
    if (error instanceof ModbusFailure && error.kind === 'exception' && point.bit === undefined) return undefined;
    throw error;
  }
  return { value: decode(point, data), word: 'registers' in data && data.registers.length >= 2 ? data.registers.readUInt16BE(0) : 0 };
}

async function writeStep(session: LinkSession, request: Parameters<LinkSession['write']>[0]): Promise<void> {
  try {
    await session.write(request);
  } catch (error) {
    if (error instanceof ModbusFailure && error.kind === 'timeout') throw new ModbusFailure('timeout', `${error.message}: the device may or may not have taken the write`);
    throw error;
  }
}

async function readBackStep(session: LinkSession, read: ReadRequest): Promise<BlockData> {
  try {
    return await session.read(read);
  } catch (error) {
    if (error instanceof ModbusFailure) throw new ModbusFailure(error.kind, `written, but the read back failed: ${error.message}`, error.exceptionCode);
    throw error;
  }
}

function decode(point: ModbusPoint, data: BlockData): ReadingValue {
  return 'registers' in data ? decodePoint(point, data.registers, point.address) : decodeBit(point, data.bits, point.address);
}

function failed(error: unknown, before?: ReadingValue): WriteOutcome {
  if (error instanceof WriteRefusal) return { ok: false, error: error.message };
  if (error instanceof ModbusFailure) {
    // A silent device or a dead link: the operator learns the device is unreachable, with the reason.
    const message = error.kind === 'timeout' || error.kind === 'link' ? `device offline: ${error.message}` : error.message;
    return { ok: false, error: message, before };
  }
  return { ok: false, error: `write failed: ${(error as Error).message}`, before };
}

function show(value: ReadingValue): string {
  return JSON.stringify(value);
}
