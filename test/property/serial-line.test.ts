/** Line framing, checksums and parsers on arbitrary bytes and text: they refuse with a reason, never throw. */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { checkLine } from '../../drivers/serial-line/checksum.js';
import { lineParserSchema } from '../../drivers/serial-line/config.js';
import { LineSplitter } from '../../drivers/serial-line/framing.js';
import { createParser } from '../../drivers/serial-line/parsers.js';

const field = (metric: string, type: 'number' | 'boolean' | 'string' = 'number') => ({ metric, type });
const parsers = [
  { type: 'csv', columns: { '0': field('level'), '2': field('pump', 'boolean'), '3': field('state', 'string') } },
  { type: 'csv', separator: ' ', columns: { '1': field('level') } },
  { type: 'kv', fields: { L: field('level'), P: field('pump', 'boolean') } },
  { type: 'regex', pattern: '^L=(?<level>\\S+) T=(?<temp>\\S*)', fields: { level: field('level'), temp: field('temp') } },
  { type: 'json', fields: { 'probe.level': field('level'), ok: field('ok', 'boolean'), 'values.0': field('first'), note: field('note', 'string') } },
].map((config) => createParser(lineParserSchema.parse(config)));

/** Lines like the devices print, and arbitrary ones. */
const line = fc.oneof(
  fc.string(),
  fc.string({ unit: 'binary' }),
  fc.array(fc.oneof(fc.double().map(String), fc.constantFrom('on', 'off', '', 'NaN', '1e999', 'L=3', 'T=', 'P=on')), { maxLength: 5 }).map((cells) => cells.join(',')),
  fc.jsonValue().map((v) => JSON.stringify(v) ?? ''),
  fc.record({ probe: fc.jsonValue(), ok: fc.jsonValue(), values: fc.jsonValue() }, { requiredKeys: [] }).map((v) => JSON.stringify(v)),
);

describe('serial-line modules on arbitrary input', () => {
  it('parsers: a result with values, or a refusal with a reason; never a throw', () => {
    fc.assert(
      fc.property(line, (text) => {
        for (const parse of parsers) {
          const result = parse(text);
          if (result.ok) for (const { value } of result.values) expect(typeof value !== 'number' || Number.isFinite(value)).toBe(true);
          else expect(result.error.length).toBeGreaterThan(0);
        }
      }),
      { numRuns: 1500 },
    );
  });

  it('nmea checksum: accepts exactly the lines whose XOR matches, refuses the others with a reason', () => {
    fc.assert(
      fc.property(fc.oneof(line, line.map((text) => `$${text}*${xorHex(text)}`)), (text) => {
        const result = checkLine('nmea', text);
        if (result.ok) {
          expect(text.startsWith(`$${result.payload}*`)).toBe(true);
          expect(text.slice(result.payload.length + 2, result.payload.length + 4).toUpperCase()).toBe(xorHex(result.payload));
        }
        else expect(result.error.length).toBeGreaterThan(0);
      }),
      { numRuns: 1500 },
    );
  });

  it('framing: arbitrary chunks give back exactly the lines of at most max_line bytes, in order, holding at most max_line', () => {
    fc.assert(
      fc.property(fc.array(fc.uint8Array({ maxLength: 64 }), { maxLength: 12 }), fc.constantFrom('\n', '\r\n', '\x03', '||'), fc.integer({ min: 8, max: 48 }), (chunks, delimiter, maxLine) => {
        const splitter = new LineSplitter({ delimiter, maxLine });
        const lines: string[] = [];
        for (const chunk of chunks) {
          for (const event of splitter.push(Buffer.from(chunk))) {
            if (event.kind === 'line') lines.push(event.text);
            else expect(event.sample.length).toBeLessThanOrEqual(64);
          }
          expect(splitter.buffered).toBeLessThanOrEqual(maxLine + delimiter.length);
        }
        expect(lines).toEqual(referenceLines(Buffer.concat(chunks), delimiter, maxLine));
      }),
      { numRuns: 1000 },
    );
  });
});

/** The whole stream cut at every delimiter: the complete lines that fit, stray CR/LF trimmed, blank ones left out. */
function referenceLines(stream: Buffer, delimiter: string, maxLine: number): string[] {
  const parts = stream.toString('latin1').split(delimiter).slice(0, -1);
  return parts
    .filter((part) => part.length <= maxLine)
    .map((part) => Buffer.from(part, 'latin1').toString('utf8').replace(/^[\r\n]+|[\r\n]+$/g, ''))
    .filter((text) => text.length > 0);
}

function xorHex(payload: string): string {
  let sum = 0;
  for (const byte of Buffer.from(payload, 'utf8')) sum ^= byte;
  return sum.toString(16).toUpperCase().padStart(2, '0');
}
