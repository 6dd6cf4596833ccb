/**
 * Modbus RTU bus timing: how close the scheduler gets to what the wire allows. A pty does not enforce baud rate, so
 * the bus here is a model: a client whose every answer takes exactly the wire time of the request and response frames
 * at the given baud (11 bits per character, 3.5 character times of silence before the answer). The real link (with
 * its inter-frame silence after each answer), pollers and driver run on top, several devices sharing the bus and
 * polling as often as they can. Achieved transactions/s are compared with the theoretical limit of the wire.
 */
import type { ModbusRtuDevice } from '../drivers/modbus/config.js';
import { modbusPointSchema } from '../drivers/modbus/config.js';
import type { Reading } from '../gateway/model.js';
import { silentLogger } from '../gateway/util/log.js';
import type { ModbusClient } from '../drivers/modbus/client.js';
import { ModbusLink } from '../drivers/modbus/link.js';
import { interFrameSilenceMs, ModbusDriver } from '../drivers/modbus/modbus-driver.js';

const SECONDS = Number(process.env.BENCH_SECONDS ?? 5);
const BITS_PER_CHAR = 11;

/** Wire time of one read of `count` registers: request (8 bytes) + silence + response (5 + 2·count bytes). */
function wireMs(baud: number, count: number): number {
  return ((8 + 5 + 2 * count) * BITS_PER_CHAR * 1000) / baud + interFrameSilenceMs(baud);
}

/** A Modbus client on a modelled bus: answers after the wire time, with the registers it was asked for. */
function modelledClient(baud: number): ModbusClient {
  // Rounded up like the link's silences, so the model is never faster than the wire (Node truncates fractional delays).
  const read = (_start: number, count: number) =>
    new Promise((resolve) => setTimeout(() => resolve({ data: new Array<number>(count).fill(0), buffer: Buffer.alloc(count * 2) }), Math.ceil(wireMs(baud, count))));
  return { isOpen: true, setID() {}, setTimeout() {}, readHoldingRegisters: read, readInputRegisters: read, destroy() {}, on() {} } as unknown as ModbusClient;
}

function device(name: string, unit: number, registers: number): ModbusRtuDevice {
  const points = Array.from({ length: registers }, (_, i) => modbusPointSchema.parse({ name: `r${i}`, table: 'input', address: i }));
  return { name, driver: 'modbus-rtu', bus: 'model', unit_id: unit, domain: 'energy', tags: {}, poll_interval: 10, timeout: 1000, retries: 0, max_gap: 16, backoff_max: 1000, points };
}

async function measure(baud: number, registers: number, devices: number): Promise<string> {
  const link = new ModbusLink('model', async () => undefined, silentLogger, { turnaroundMs: interFrameSilenceMs(baud), createClient: () => modelledClient(baud) });
  const driver = new ModbusDriver('modbus-rtu', Array.from({ length: devices }, (_, i) => device(`meter-${i}`, i + 1, registers)), { keyOf: () => 'model', settingsOf: () => 'modelled bus', open: () => link });
  // Each device's registers are one coalesced request: a completed poll is a completed transaction.
  let polls = 0;
  await driver.start({ log: silentLogger, emit: (readings: readonly Reading[]) => void (polls += readings.length / registers), status: () => undefined });
  // Count from the first completed poll, so the window holds whole transactions only.
  while (polls === 0) await new Promise((resolve) => setImmediate(resolve));
  const started = performance.now();
  const first = polls;
  const busyBefore = link.stats.busyMs;
  await new Promise((resolve) => setTimeout(resolve, SECONDS * 1000));
  const seconds = (performance.now() - started) / 1000;
  const achieved = (polls - first) / seconds;
  const busy = (link.stats.busyMs - busyBefore) / 1000 / seconds;
  await driver.stop();
  const limit = 1000 / (wireMs(baud, registers) + interFrameSilenceMs(baud));
  return `  ${baud} baud, ${devices} devices × ${registers} registers: ${achieved.toFixed(2)} polls/s of ${limit.toFixed(2)} the wire allows = ${((achieved / limit) * 100).toFixed(1)}% (link busy ${(busy * 100).toFixed(0)}%, ${Math.round(polls - first)} polls counted)`;
}

export async function rtuTimingReport(): Promise<string> {
  const lines = ['Modbus RTU bus (modelled wire timing, 11 bits/char, 3.5-char silences):'];
  for (const baud of [9600, 19200]) {
    for (const [registers, devices] of [[10, 4], [60, 3]] as const) lines.push(await measure(baud, registers, devices));
  }
  return lines.join('\n');
}
