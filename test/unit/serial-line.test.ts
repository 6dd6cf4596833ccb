import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import type { z } from 'zod';
import { BadLineLog } from '../../drivers/serial-line/bad-line-log.js';
import { checkLine, checkNmea, xorOf } from '../../drivers/serial-line/checksum.js';
import { decodeEscapes, lineFieldSchema, serialLineDeviceSchema, silenceBeforeReopen, type LineField } from '../../drivers/serial-line/config.js';
import { LineSplitter, type FrameEvent } from '../../drivers/serial-line/framing.js';
import { createLineDecoder } from '../../drivers/serial-line/line-decoder.js';
import { convert, createParser, valueAtPath, type ParseResult } from '../../drivers/serial-line/parsers.js';
import { seededRandom } from '../../tools/simulator/random.js';
import { describeIssues } from '../../gateway/config/errors.js';
import type { LogFields, Logger } from '../../gateway/util/log.js';

const bytes = (text: string): Buffer => Buffer.from(text, 'latin1');

function split(delimiter: string, maxLine: number, chunks: readonly string[]): FrameEvent[] {
  const splitter = new LineSplitter({ delimiter, maxLine });
  return chunks.flatMap((chunk) => splitter.push(bytes(chunk)));
}

const line = (text: string): FrameEvent => ({ kind: 'line', text });

describe('LineSplitter', () => {
  it('yields one line per delimiter, several from one chunk, and keeps the unfinished rest', () => {
    const splitter = new LineSplitter({ delimiter: '\n', maxLine: 64 });
    expect(splitter.push(bytes('a=1\nb=2\nc='))).toEqual([line('a=1'), line('b=2')]);
    expect(splitter.buffered).toBe(2);
    expect(splitter.push(bytes('3\n'))).toEqual([line('c=3')]);
    expect(splitter.buffered).toBe(0);
  });

  it('joins a line split across many chunks, down to one byte each', () => {
    expect(split('\n', 64, [...'12.5,40\n13'].concat(['.0,41\n']))).toEqual([line('12.5,40'), line('13.0,41')]);
  });

  it('cuts a stream the same way however it is chunked', () => {
    const stream = Array.from({ length: 200 }, (_, i) => `${i},${'x'.repeat(i % 37)}\r\n`).join('') + 'y'.repeat(90) + '\r\nlast\r\n';
    const whole = split('\r\n', 80, [stream]);
    const random = seededRandom(7);
    for (let round = 0; round < 50; round++) {
      const chunks: string[] = [];
      for (let at = 0; at < stream.length; ) {
        const size = 1 + Math.floor(random() * 40);
        chunks.push(stream.slice(at, at + size));
        at += size;
      }
      expect(split('\r\n', 80, chunks)).toEqual(whole);
    }
    expect(whole).toHaveLength(202);
    expect(whole.at(-2)).toEqual({ kind: 'overlong', sample: 'y'.repeat(64) });
    expect(whole.at(-1)).toEqual(line('last'));
  });

  it('finds a CRLF delimiter split between chunks', () => {
    expect(split('\r\n', 64, ['a=1\r', '\nb=2\r', '\n'])).toEqual([line('a=1'), line('b=2')]);
  });

  it('with "\\n" configured, trims the CR of a CRLF device', () => {
    expect(split('\n', 64, ['a=1\r\nb=2\r\n'])).toEqual([line('a=1'), line('b=2')]);
  });

  it('with "\\r" configured, trims the LF of a CRLF device', () => {
    expect(split('\r', 64, ['a=1\r\nb=2\r\n'])).toEqual([line('a=1'), line('b=2')]);
  });

  it('with "\\r\\n" configured, a bare LF does not end a line', () => {
    expect(split('\r\n', 64, ['a=1\nb=2\r\n'])).toEqual([line('a=1\nb=2')]);
  });

  it('passes over blank lines', () => {
    expect(split('\r\n', 64, ['\r\n\r\na=1\r\n\r\n'])).toEqual([line('a=1')]);
  });

  it('takes any delimiter, e.g. ETX or a two-character one', () => {
    expect(split('\x03', 64, ['\x02L=1\x03\x02L=2\x03'])).toEqual([line('\x02L=1'), line('\x02L=2')]);
    expect(split(';;', 64, ['a;b;;c;', ';d;;'])).toEqual([line('a;b'), line('c'), line('d')]);
  });

  it('decodes UTF-8 text', () => {
    const splitter = new LineSplitter({ delimiter: '\n', maxLine: 64 });
    expect(splitter.push(Buffer.from('t=21.5 °C\n', 'utf8'))).toEqual([line('t=21.5 °C')]);
  });

  it('accepts a line of exactly max_line bytes and reports one byte more as over-long', () => {
    expect(split('\n', 8, ['12345678\n123456789\nok\n'])).toEqual([line('12345678'), { kind: 'overlong', sample: '123456789' }, line('ok')]);
  });

  it('reports an over-long line as soon as it outgrows max_line, skips it to the next delimiter and resynchronises', () => {
    const splitter = new LineSplitter({ delimiter: '\n', maxLine: 16, sampleLength: 10 });
    expect(splitter.push(bytes('good=1\nAAAAAAAAAA'))).toEqual([line('good=1')]);
    expect(splitter.push(bytes('BBBBBBBBBB'))).toEqual([{ kind: 'overlong', sample: 'AAAAAAAAAA' }]);
    // Never unbounded: the rest of the over-long line is dropped as it comes.
    for (let i = 0; i < 100; i++) expect(splitter.push(bytes('C'.repeat(1000)))).toEqual([]);
    expect(splitter.buffered).toBe(0);
    expect(splitter.push(bytes('CCC\ngood=2\n'))).toEqual([line('good=2')]);
  });

  it('keeps a partial delimiter while skipping, so a CRLF split across chunks still ends the over-long line', () => {
    const splitter = new LineSplitter({ delimiter: '\r\n', maxLine: 8 });
    expect(splitter.push(bytes('0123456789abc\r'))).toEqual([{ kind: 'overlong', sample: '0123456789abc\r' }]);
    expect(splitter.buffered).toBeLessThanOrEqual(1);
    expect(splitter.push(bytes('\nnext\r\n'))).toEqual([line('next')]);
  });

  it('holds at most max_line plus the delimiter while waiting', () => {
    const splitter = new LineSplitter({ delimiter: '\r\n', maxLine: 8 });
    splitter.push(bytes('12345678\r'));
    expect(splitter.buffered).toBe(9);
    expect(splitter.push(bytes('\n'))).toEqual([line('12345678')]);
  });

  it('reset() forgets a partial line', () => {
    const splitter = new LineSplitter({ delimiter: '\n', maxLine: 64 });
    splitter.push(bytes('half a li'));
    splitter.reset();
    expect(splitter.push(bytes('x=1\n'))).toEqual([line('x=1')]);
  });

  it('refuses an empty delimiter', () => {
    expect(() => new LineSplitter({ delimiter: '', maxLine: 8 })).toThrow(/delimiter/);
  });
});

/** Builds an NMEA line the way a talker does, independently of the module under test. */
function nmea(payload: string): string {
  let sum = 0;
  for (const char of payload) sum ^= char.charCodeAt(0);
  return `$${payload}*${sum.toString(16).toUpperCase().padStart(2, '0')}`;
}

describe('NMEA checksum', () => {
  it('accepts a correct line and hands over the payload between $ and *', () => {
    // The textbook example sentence and its published checksum.
    expect(checkNmea('$GPGLL,4916.45,N,12311.12,W,225444,A*31')).toEqual({ ok: true, payload: 'GPGLL,4916.45,N,12311.12,W,225444,A' });
    expect(checkNmea(nmea('PLVL,1.25,M'))).toEqual({ ok: true, payload: 'PLVL,1.25,M' });
  });

  it('accepts lower-case hex and trailing blanks', () => {
    const good = nmea('PRB,7,250');
    expect(checkNmea(`${good.slice(0, -2)}${good.slice(-2).toLowerCase()}  `)).toMatchObject({ ok: true, payload: 'PRB,7,250' });
  });

  it('rejects a wrong checksum, naming both values', () => {
    const good = nmea('PLVL,1.25,M');
    const tampered = good.replace('1.25', '1.26');
    const result = checkNmea(tampered);
    expect(result.ok).toBe(false);
    expect(!result.ok && result.error).toMatch(/^checksum mismatch: the line says [0-9A-F]{2}, its payload gives [0-9A-F]{2}$/);
  });

  it('rejects a line without the checksum or without the $', () => {
    expect(checkNmea('$PLVL,1.25,M')).toEqual({ ok: false, error: 'no "*HH" checksum at the end of the line' });
    expect(checkNmea('$PLVL,1.25,M*4')).toMatchObject({ ok: false, error: expect.stringMatching(/no "\*HH"/) });
    expect(checkNmea('PLVL,1.25,M*4A')).toMatchObject({ ok: false, error: expect.stringMatching(/no "\$"/) });
  });

  it('xorOf is the XOR of the bytes; checksum none passes the line through', () => {
    expect(xorOf('')).toBe(0);
    expect(xorOf('AB')).toBe(0x41 ^ 0x42);
    expect(checkLine('none', 'anything*ZZ')).toEqual({ ok: true, payload: 'anything*ZZ' });
    expect(checkLine('nmea', nmea('X'))).toEqual({ ok: true, payload: 'X' });
  });
});

function field(fields: Partial<Record<keyof LineField, unknown>> & { metric: string }): LineField {
  return lineFieldSchema.parse(fields);
}

function parser(config: unknown) {
  const device = serialLineDeviceSchema.parse({ driver: 'serial-line', name: 'd', domain: 'x', port: '/dev/null', parser: config });
  return createParser(device.parser);
}

function values(result: ParseResult): Record<string, unknown> {
  if (!result.ok) throw new Error(`expected values, got: ${result.error}`);
  return Object.fromEntries(result.values.map((v) => [v.metric, v.value]));
}

function error(result: ParseResult): string {
  if (result.ok) throw new Error(`expected an error, got ${JSON.stringify(result.values)}`);
  return result.error;
}

describe('csv parser', () => {
  const parse = parser({
    type: 'csv',
    columns: { 1: { metric: 'level', unit: 'm', scale: 0.01 }, 2: { metric: 'temp', unit: '°C', offset: -40 }, 3: { metric: 'pump', type: 'boolean' }, 4: { metric: 'mode', type: 'string' } },
  });

  it('reads the configured columns (0-based), with units, scale and offset', () => {
    const result = parse('PRB, 250 ,61.5,1,auto');
    expect(result).toEqual({
      ok: true,
      values: [
        { metric: 'level', value: 2.5, unit: 'm' },
        { metric: 'temp', value: 21.5, unit: '°C' },
        { metric: 'pump', value: true, unit: undefined },
        { metric: 'mode', value: 'auto', unit: undefined },
      ],
    });
  });

  it('rejects the whole line when a column is missing, empty or not a number, naming each', () => {
    expect(error(parse('PRB,250,61.5,1'))).toBe('column 4 (mode): missing');
    expect(error(parse('PRB,abc,,1,auto'))).toBe('column 1 (level): "abc" is not a finite number; column 2 (temp): is empty');
    expect(error(parse('PRB,250,61.5,maybe,auto'))).toMatch(/^column 3 \(pump\): "maybe" is not a boolean/);
  });

  it('splits on another separator, and on runs of whitespace when the separator is blank', () => {
    expect(values(parser({ type: 'csv', separator: ';', columns: { 0: { metric: 'a' }, 1: { metric: 'b' } } })('1;2'))).toEqual({ a: 1, b: 2 });
    expect(values(parser({ type: 'csv', separator: '\\t', columns: { 1: { metric: 'b' } } })('1\t2'))).toEqual({ b: 2 });
    expect(values(parser({ type: 'csv', separator: ' ', columns: { 0: { metric: 'a' }, 2: { metric: 'c' } } })('  12.5   40\t 7 '))).toEqual({ a: 12.5, c: 7 });
  });
});

describe('kv parser', () => {
  it('reads pairs split by "," and "=" by default, blanks around them allowed', () => {
    const parse = parser({ type: 'kv', fields: { T: { metric: 'temp', unit: '°C' }, H: { metric: 'humidity', scale: 0.1 } } });
    expect(parse('T=21.5, H = 405 ,X=junk')).toEqual({ ok: true, values: [{ metric: 'temp', value: 21.5, unit: '°C' }, { metric: 'humidity', value: 40.5, unit: undefined }] });
  });

  it('takes whitespace as the pair separator and another kv separator; passes over tokens that are not pairs', () => {
    const parse = parser({ type: 'kv', pair_separator: ' ', kv_separator: ':', fields: { F: { metric: 'flow' }, P: { metric: 'pump', type: 'boolean' }, S: { metric: 'state', type: 'string' } } });
    expect(values(parse('STATUS  F:12.5\tP:ON S:run OK'))).toEqual({ flow: 12.5, pump: true, state: 'run' });
  });

  it('takes the first of repeated keys', () => {
    expect(values(parser({ type: 'kv', fields: { a: { metric: 'a' } } })('a=1,a=2'))).toEqual({ a: 1 });
  });

  it('rejects a line missing a key or holding a non-number', () => {
    const parse = parser({ type: 'kv', fields: { T: { metric: 'temp' }, H: { metric: 'humidity' } } });
    expect(error(parse('T=21.5'))).toBe('key "H": missing');
    expect(error(parse('T=warm,H=40'))).toBe('key "T": "warm" is not a finite number');
    expect(error(parse('garbage'))).toBe('key "T": missing; key "H": missing');
  });
});

describe('regex parser', () => {
  const parse = parser({
    type: 'regex',
    pattern: '^LVL (?<level>\\S+) cm(?: T=(?<temp>[-+\\d.]+)C)?(?: (?<state>\\w+))?$',
    fields: { level: { metric: 'level', unit: 'm', scale: 0.01 }, temp: { metric: 'temp' }, state: { metric: 'state', type: 'string' } },
  });

  it('reads the named groups', () => {
    expect(values(parse('LVL 012.5 cm T=+21.3C ok'))).toEqual({ level: 0.125, temp: 21.3, state: 'ok' });
  });

  it('rejects a line that does not match, or whose group did not take part or is not a number', () => {
    expect(error(parse('hello'))).toBe('does not match the pattern');
    expect(error(parse('LVL 12 cm ok'))).toBe('group "temp": missing');
    expect(error(parse('LVL 1x2 cm T=1C ok'))).toBe('group "level": "1x2" is not a finite number');
  });
});

describe('json parser', () => {
  const parse = parser({
    type: 'json',
    fields: {
      'probe.level': { metric: 'level', unit: 'm' },
      'probe.ok': { metric: 'ok', type: 'boolean' },
      state: { metric: 'state', type: 'string' },
      'values.1': { metric: 'second' },
    },
  });

  it('reads keys and dot paths (array indexes too)', () => {
    expect(values(parse('{"probe":{"level":1.25,"ok":true},"state":"run","values":[1,2]}'))).toEqual({ level: 1.25, ok: true, state: 'run', second: 2 });
  });

  it('accepts a number written as a string, and turns numbers into strings for string fields', () => {
    expect(values(parse('{"probe":{"level":"1.5","ok":1},"state":7,"values":[0,"3"]}'))).toEqual({ level: 1.5, ok: true, state: '7', second: 3 });
  });

  it('rejects non-JSON, a non-object, a missing or null field and a non-number', () => {
    expect(error(parse('{"probe":'))).toMatch(/^not JSON \(/);
    expect(error(parse('42'))).toBe('not a JSON object');
    expect(error(parse('{"probe":{"level":null,"ok":true},"state":"run","values":[1,2]}'))).toBe('key "probe.level": is null');
    expect(error(parse('{"probe":{"ok":true},"state":"run","values":[1]}'))).toBe('key "probe.level": missing; key "values.1": missing');
    expect(error(parse('{"probe":{"level":true,"ok":true},"state":{},"values":[1,2]}'))).toBe('key "probe.level": true is not a finite number; key "state": an object is not a string');
  });

  it('finds a key holding dots before the path, and never reaches into prototypes', () => {
    expect(valueAtPath({ 'probe.level': 3, probe: { level: 4 } }, 'probe.level')).toBe(3);
    expect(valueAtPath({}, 'constructor')).toBeUndefined();
    expect(valueAtPath({ a: {} }, 'a.__proto__')).toBeUndefined();
    expect(valueAtPath({ a: 1 }, 'a.b')).toBeUndefined();
  });
});

describe('field conversion', () => {
  const number = field({ metric: 'n' });

  it('accepts plain decimals only', () => {
    expect(['12', '-3.5', '+.5', '1e3', '2.', ' 7 '].map((raw) => convert(number, raw))).toEqual([12, -3.5, 0.5, 1000, 2, 7]);
    for (const raw of ['0x1A', 'Infinity', 'NaN', '1,5', '12V', '--1']) expect(convert(number, raw)).toEqual({ error: `${JSON.stringify(raw)} is not a finite number` });
    expect(convert(number, Number.NaN)).toEqual({ error: 'NaN is not a finite number' });
  });

  it('scales, rounding to 15 significant digits, and refuses a result that is not finite', () => {
    expect(convert(field({ metric: 'n', scale: 0.1 }), '58')).toBe(5.8);
    expect(convert(field({ metric: 'n', scale: 2, offset: -1 }), '0.5')).toBe(0);
    expect(convert(field({ metric: 'n', scale: 1e300 }), '1e300')).toEqual({ error: '1e+300 * 1e+300 + 0 is not a finite number' });
  });

  it('reads booleans in the usual spellings', () => {
    const flag = field({ metric: 'b', type: 'boolean' });
    expect(['true', 'FALSE', 'on', 'Off', 'yes', 'no', '1', '0'].map((raw) => convert(flag, raw))).toEqual([true, false, true, false, true, false, true, false]);
    expect(convert(flag, false)).toBe(false);
    expect(convert(flag, 2)).toEqual({ error: '2 is not a boolean (true/false, 1/0, on/off, yes/no)' });
  });

  it('keeps strings trimmed, and refuses empty or absent values for every type', () => {
    const text = field({ metric: 's', type: 'string' });
    expect(convert(text, '  run ')).toBe('run');
    for (const f of [number, text]) {
      expect(convert(f, '  ')).toEqual({ error: 'is empty' });
      expect(convert(f, undefined)).toEqual({ error: 'missing' });
    }
  });
});

describe('line decoder', () => {
  const decode = createLineDecoder(
    serialLineDeviceSchema.parse({ driver: 'serial-line', name: 'd', domain: 'x', port: '/dev/null', checksum: 'nmea', parser: { type: 'csv', columns: { 1: { metric: 'level' } } } }),
  );

  it('checks the checksum, then parses the payload', () => {
    expect(decode(nmea('PLVL,1.25'))).toEqual({ ok: true, values: [{ metric: 'level', value: 1.25, unit: undefined }] });
  });

  it('tells a checksum failure from a malformed line', () => {
    expect(decode('$PLVL,1.25')).toMatchObject({ ok: false, problem: 'checksum' });
    expect(decode(nmea('PLVL,abc'))).toEqual({ ok: false, problem: 'malformed', error: 'column 1 (level): "abc" is not a finite number' });
  });
});

describe('serialLineDeviceSchema', () => {
  const base = { driver: 'serial-line', name: 'probe-1', domain: 'water', port: '/dev/ttyUSB0' };
  const problems = (input: Record<string, unknown>): string[] => {
    const result = serialLineDeviceSchema.safeParse(input);
    return result.success ? [] : describeIssues('city.yaml', result.error.issues, input, serialLineDeviceSchema as z.ZodType);
  };

  it('fills in the defaults', () => {
    expect(serialLineDeviceSchema.parse({ ...base, parser: { type: 'csv', columns: { 0: { metric: 'level' } } } })).toEqual({
      ...base,
      tags: {},
      baud: 9600,
      data_bits: 8,
      parity: 'none',
      stop_bits: 1,
      reopen_max: 30_000,
      framing: { delimiter: '\n', max_line: 1024 },
      checksum: 'none',
      parser: { type: 'csv', separator: ',', columns: { 0: { metric: 'level', scale: 1, offset: 0, type: 'number' } } },
      stale_after: 30_000,
    });
  });

  it('reopens a silent port after twice stale_after unless reopen_silent_after says otherwise', () => {
    const parser = { type: 'csv', columns: { 0: { metric: 'level' } } };
    expect(silenceBeforeReopen(serialLineDeviceSchema.parse({ ...base, parser }))).toBe(60_000);
    expect(silenceBeforeReopen(serialLineDeviceSchema.parse({ ...base, parser, stale_after: '5s' }))).toBe(10_000);
    expect(silenceBeforeReopen(serialLineDeviceSchema.parse({ ...base, parser, stale_after: '5s', reopen_silent_after: '2m' }))).toBe(120_000);
    expect(problems({ ...base, parser, reopen_silent_after: '50ms' })).toEqual([expect.stringContaining('reopen_silent_after')]);
  });

  it('decodes escapes as written in a plain or single-quoted YAML string', () => {
    const parsed = serialLineDeviceSchema.parse({ ...base, framing: { delimiter: '\\r\\n', max_line: 256 }, stale_after: '5s', parser: { type: 'kv', pair_separator: '\\t', fields: { a: { metric: 'a' } } } });
    expect(parsed.framing).toEqual({ delimiter: '\r\n', max_line: 256 });
    expect(parsed.parser).toMatchObject({ pair_separator: '\t', kv_separator: '=' });
    expect(parsed.stale_after).toBe(5000);
    expect(decodeEscapes('\\x03\\0\\\\')).toBe('\x03\0\\');
    expect(decodeEscapes('\r\n')).toBe('\r\n');
    expect(decodeEscapes('\\q')).toBeUndefined();
  });

  it('refuses a regex without named groups, or one that does not compile, or fields naming no group', () => {
    expect(problems({ ...base, parser: { type: 'regex', pattern: 'L=(\\d+)', fields: { level: { metric: 'level' } } } })).toEqual([
      'city.yaml: parser.pattern: has no named groups (write (?<name>...) around each value and name it under fields)',
    ]);
    expect(problems({ ...base, parser: { type: 'regex', pattern: 'L=(?<level>\\d+', fields: { level: { metric: 'level' } } } })).toEqual([
      expect.stringMatching(/^city\.yaml: parser\.pattern: does not compile: Invalid regular expression: .*Unterminated group/),
    ]);
    expect(problems({ ...base, parser: { type: 'regex', pattern: 'L=(?<lvl>\\d+)', fields: { level: { metric: 'level' } } } })).toEqual([
      'city.yaml: parser.fields.level: the pattern has no group "level" (its groups: lvl)',
    ]);
  });

  it('refuses an unknown or missing parser type, listing the known ones', () => {
    expect(problems({ ...base, parser: { type: 'xml', fields: {} } })).toEqual(['city.yaml: parser.type: "xml" is not known (allowed: csv, kv, regex, json)']);
    expect(problems({ ...base, parser: { fields: {} } })).toEqual(['city.yaml: parser.type: missing (allowed: csv, kv, regex, json)']);
    expect(problems(base)).toEqual(['city.yaml: parser: missing (required: a mapping)']);
  });

  it('names every other mistake by its key', () => {
    expect(
      problems({
        ...base,
        name: 'probe 1',
        domain: undefined,
        checksum: 'crc',
        stale_after: '1 min',
        framing: { delimiter: '\\q', max_line: 4 },
        parser: { type: 'csv', typo: 1, columns: { a: { metric: 'level' }, 1: { metric: 'level', type: 'boolean', scale: 2 } } },
      }),
    ).toEqual([
      'city.yaml: name: "probe 1" must be letters, digits, "_", "-" or "." (it becomes an MQTT topic level)',
      'city.yaml: domain: missing (required: text)',
      'city.yaml: framing.delimiter: "\\q" has an unknown escape (use \\n, \\r, \\t, \\0, \\\\ or \\xHH)',
      'city.yaml: framing.max_line: expected a whole number from 8 to 1048576, got 4',
      'city.yaml: checksum: "crc" is not allowed (allowed: none, nmea)',
      'city.yaml: parser.columns.1.scale: scale and offset apply to type number only (this field is boolean)',
      'city.yaml: parser.columns.a: "a" is not a column number (columns are 0-based indexes: 0, 1, 2...)',
      'city.yaml: parser.columns.a.metric: "level" is already the metric of column 1 (one reading per metric and line)',
      'city.yaml: parser.typo: unknown key (allowed here: type, separator, columns)',
      'city.yaml: stale_after: expected a duration like 500ms, 2s, 5m or 1h, got "1 min"',
    ]);
  });

  it('refuses a parser without fields and a json path with an empty part', () => {
    expect(problems({ ...base, parser: { type: 'json', fields: {} } })).toEqual(['city.yaml: parser.fields: needs at least one key']);
    expect(problems({ ...base, parser: { type: 'json', fields: { 'a..b': { metric: 'x' } } } })).toEqual([
      'city.yaml: parser.fields.a..b: "a..b" is not a key or a dot path like probe.level (a part is empty)',
    ]);
  });
});

interface LogEntry {
  level: string;
  msg: string;
  fields: LogFields | undefined;
}

function recordingLogger(entries: LogEntry[]): Logger {
  const at = (level: string) => (msg: string, fields?: LogFields) => void entries.push({ level, msg, fields });
  const logger: Logger = { debug: at('debug'), info: at('info'), warn: at('warn'), error: at('error'), child: () => logger };
  return logger;
}

describe('BadLineLog', () => {
  beforeEach(() => {
    vi.useFakeTimers();
  });
  afterEach(() => {
    vi.useRealTimers();
  });

  it('logs the first bad line at once, then one summary per 10 s window at most', () => {
    const entries: LogEntry[] = [];
    const log = new BadLineLog(recordingLogger(entries), 'probe-1');
    log.report('malformed', 'column 1 (level): missing', 'PRB,');
    expect(entries).toEqual([{ level: 'warn', msg: 'bad line', fields: { device: 'probe-1', kind: 'malformed', error: 'column 1 (level): missing', sample: 'PRB,' } }]);
    for (let i = 0; i < 500; i++) log.report(i % 2 ? 'checksum' : 'overlong', `e${i}`, 'x'.repeat(200));
    vi.advanceTimersByTime(9_999);
    expect(entries).toHaveLength(1);
    vi.advanceTimersByTime(1);
    expect(entries[1]).toEqual({
      level: 'warn',
      msg: 'more bad lines since the last warning',
      fields: { device: 'probe-1', count: 500, malformed: 0, checksum: 250, overlong: 250, last_kind: 'checksum', last_error: 'e499', last_sample: `${'x'.repeat(80)}...` },
    });
    // Still within the rate limit: the next one waits for the next summary.
    log.report('malformed', 'again', 'y');
    expect(entries).toHaveLength(2);
    vi.advanceTimersByTime(10_000);
    expect(entries[2]?.fields).toMatchObject({ count: 1, last_error: 'again' });
    // A quiet window lifts the limit.
    vi.advanceTimersByTime(10_000);
    log.report('checksum', 'later', 'z');
    expect(entries[3]).toMatchObject({ msg: 'bad line', fields: { error: 'later' } });
    log.close();
    expect(entries).toHaveLength(4);
    expect(vi.getTimerCount()).toBe(0);
  });

  it('close() logs what is still counted', () => {
    const entries: LogEntry[] = [];
    const log = new BadLineLog(recordingLogger(entries), 'probe-1');
    log.report('malformed', 'a', 'a');
    log.report('malformed', 'b', 'b');
    log.close();
    expect(entries.map((e) => e.msg)).toEqual(['bad line', 'more bad lines since the last warning']);
    expect(vi.getTimerCount()).toBe(0);
  });
});
