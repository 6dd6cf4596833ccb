import { z } from 'zod';
import { duration } from './duration.js';

/** Settings of a serial port, shared by Modbus RTU buses and line-based serial devices. */
export const serialPortFields = {
  /** Device path, e.g. /dev/ttyUSB0 or /dev/serial/by-id/... (stable across replugs). */
  port: z.string().min(1),
  baud: z.number().int().min(300).max(4_000_000).default(9600),
  data_bits: z.union([z.literal(7), z.literal(8)]).default(8),
  parity: z.enum(['none', 'even', 'odd']).default('none'),
  stop_bits: z.union([z.literal(1), z.literal(2)]).default(1),
  /** Cap of the backoff between attempts to reopen a port that vanished (USB adapter unplugged). */
  reopen_max: duration({ min: 100 }).default(30_000),
};

export const serialPortSchema = z.strictObject(serialPortFields);
export type SerialPortConfig = z.output<typeof serialPortSchema>;
