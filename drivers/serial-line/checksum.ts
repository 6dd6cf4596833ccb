/** Line checksums. Pure. */
import type { ChecksumMode } from './config.js';

/** The part of the line the parser reads, or why the line fails its checksum. */
export type ChecksumResult = { readonly ok: true; readonly payload: string } | { readonly ok: false; readonly error: string };

export function checkLine(mode: ChecksumMode, line: string): ChecksumResult {
  switch (mode) {
    case 'none':
      return { ok: true, payload: line };
    case 'nmea':
      return checkNmea(line);
    default:
      throw new Error(`unknown checksum ${String(mode satisfies never)}`);
  }
}

const nmeaTrailer = /\*([0-9A-Fa-f]{2})\s*$/;

/**
 * NMEA 0183 style: `$payload*HH`, where HH is the XOR of the payload's bytes in hex. The payload (between `$` and
 * `*`) is what the parser gets.
 */
export function checkNmea(line: string): ChecksumResult {
  if (!line.startsWith('$')) return { ok: false, error: 'no "$" at the start of the line (checksum nmea expects $...*HH)' };
  const trailer = nmeaTrailer.exec(line);
  if (!trailer) return { ok: false, error: 'no "*HH" checksum at the end of the line' };
  const payload = line.slice(1, trailer.index);
  const expected = parseInt(trailer[1]!, 16);
  const actual = xorOf(payload);
  if (actual !== expected) return { ok: false, error: `checksum mismatch: the line says ${hex(expected)}, its payload gives ${hex(actual)}` };
  return { ok: true, payload };
}

/** XOR of the payload's bytes (as sent: UTF-8, which is plain ASCII for any NMEA talker). */
export function xorOf(payload: string): number {
  let sum = 0;
  for (const byte of Buffer.from(payload, 'utf8')) sum ^= byte;
  return sum;
}

function hex(value: number): string {
  return value.toString(16).toUpperCase().padStart(2, '0');
}
