/**
 * The config of a line-based serial device (level probes, loop counters, meters printing ASCII lines). Same style as
 * gateway/config/schema.ts: strict objects, snake_case keys, names that become MQTT topic levels.
 */
import { z } from 'zod';
import { seriesName, tags } from '../../gateway/config/names.js';
import { duration } from '../../gateway/config/duration.js';
import { serialPortFields } from '../../gateway/config/serial.js';
import { deadbandProblem, reportByExceptionFields } from '../report-by-exception.js';

const escapes: Record<string, string> = { n: '\n', r: '\r', t: '\t', '0': '\0', '\\': '\\' };

/**
 * Turns the escapes an operator writes in a plain or single-quoted YAML string ('\r\n', '\t', '\x03') into the
 * characters they name. A double-quoted YAML string arrives already decoded and passes through unchanged.
 */
export function decodeEscapes(text: string): string | undefined {
  let bad = false;
  const decoded = text.replace(/\\(x[0-9A-Fa-f]{2}|.?)/g, (_, escape: string) => {
    if (escape.startsWith('x') && escape.length === 3) return String.fromCharCode(parseInt(escape.slice(1), 16));
    const char = escapes[escape];
    if (char === undefined) bad = true;
    return char ?? '';
  });
  return bad ? undefined : decoded;
}

/** A non-empty separator or delimiter, with escapes decoded. */
function escapedText(what: string, maxLength: number) {
  return z
    .string()
    .min(1)
    .transform((input, ctx) => {
      const text = decodeEscapes(input);
      if (text === undefined) {
        ctx.addIssue({ code: 'custom', message: `"${input}" has an unknown escape (use \\n, \\r, \\t, \\0, \\\\ or \\xHH)` });
        return z.NEVER;
      }
      if (text.length === 0 || text.length > maxLength) {
        ctx.addIssue({ code: 'custom', message: `${what} must be 1 to ${maxLength} characters` });
        return z.NEVER;
      }
      return text;
    });
}

export const fieldTypes = ['number', 'boolean', 'string'] as const;

/** How one value of a line becomes a reading. */
export const lineFieldSchema = z
  .strictObject({
    metric: seriesName,
    unit: z.string().optional(),
    /** value = raw * scale + offset, for type number. */
    scale: z.number().finite().default(1),
    offset: z.number().finite().default(0),
    type: z.enum(fieldTypes).default('number'),
    ...reportByExceptionFields,
  })
  .superRefine((field, ctx) => {
    const deadband = deadbandProblem(field, field.type, field.type === 'number');
    if (deadband) ctx.addIssue({ code: 'custom', path: ['deadband'], message: deadband });
    if (field.type !== 'number' && (field.scale !== 1 || field.offset !== 0)) {
      ctx.addIssue({ code: 'custom', path: [field.scale !== 1 ? 'scale' : 'offset'], message: `scale and offset apply to type number only (this field is ${field.type})` });
    }
  });
export type LineField = z.output<typeof lineFieldSchema>;

/**
 * A parser's fields by key: at least one, each key of the form `key` allows, and no two fields feeding the same
 * metric. Keys are checked here rather than by a key schema, whose issue zod reports only as "Invalid key in record".
 */
function fieldMap(what: string, key?: { pattern: RegExp; message: string }) {
  return z.record(z.string(), lineFieldSchema).superRefine((fields, ctx) => {
    const entries = Object.entries(fields);
    if (entries.length === 0) ctx.addIssue({ code: 'custom', message: `needs at least one ${what}` });
    const seen = new Map<string, string>();
    for (const [name, field] of entries) {
      if (key && !key.pattern.test(name)) ctx.addIssue({ code: 'custom', path: [name], message: `"${name}" ${key.message}` });
      const first = seen.get(field.metric);
      if (first !== undefined) ctx.addIssue({ code: 'custom', path: [name, 'metric'], message: `"${field.metric}" is already the metric of ${what} ${first} (one reading per metric and line)` });
      else seen.set(field.metric, name);
    }
  });
}

const csvParserSchema = z.strictObject({
  type: z.literal('csv'),
  separator: escapedText('separator', 8).default(','),
  /** 0-based column index → field. */
  columns: fieldMap('column', { pattern: /^(0|[1-9]\d{0,3})$/, message: 'is not a column number (columns are 0-based indexes: 0, 1, 2...)' }),
});

const kvParserSchema = z.strictObject({
  type: z.literal('kv'),
  /** Between pairs; whitespace (" ") means any run of spaces and tabs. */
  pair_separator: escapedText('pair_separator', 8).default(','),
  kv_separator: escapedText('kv_separator', 8).default('='),
  fields: fieldMap('key'),
});

const regexParserSchema = z
  .strictObject({
    type: z.literal('regex'),
    /** A JavaScript regular expression with a named group, (?<name>...), per field. */
    pattern: z.string().min(1),
    fields: fieldMap('group'),
  })
  .superRefine((parser, ctx) => {
    const groups = regexGroups(parser.pattern);
    if (typeof groups === 'string') {
      ctx.addIssue({ code: 'custom', path: ['pattern'], message: `does not compile: ${groups}` });
      return;
    }
    if (groups.length === 0) {
      ctx.addIssue({ code: 'custom', path: ['pattern'], message: 'has no named groups (write (?<name>...) around each value and name it under fields)' });
      return;
    }
    for (const name of Object.keys(parser.fields)) {
      if (!groups.includes(name)) ctx.addIssue({ code: 'custom', path: ['fields', name], message: `the pattern has no group "${name}" (its groups: ${groups.join(', ')})` });
    }
  });

const jsonParserSchema = z.strictObject({
  type: z.literal('json'),
  /** Key or dot path (probe.level, values.0) → field. */
  fields: fieldMap('key', { pattern: /^[^.]+(\.[^.]+)*$/, message: 'is not a key or a dot path like probe.level (a part is empty)' }),
});

export const lineParserSchema = z.discriminatedUnion('type', [csvParserSchema, kvParserSchema, regexParserSchema, jsonParserSchema]);
export type LineParserConfig = z.output<typeof lineParserSchema>;

/** The fields of a parser, whichever way it keys them. */
export function parserFields(parser: LineParserConfig): LineField[] {
  return Object.values(parser.type === 'csv' ? parser.columns : parser.fields);
}

export const framingSchema = z.strictObject({
  /** Ends each line; "\n" also accepts "\r\n" (the stray CR is trimmed). */
  delimiter: escapedText('delimiter', 8).default('\n'),
  /** Bytes a line may hold without its delimiter; a longer line is dropped and counted. */
  max_line: z.number().int().min(8).max(1_048_576).default(1024),
});
export type FramingConfig = z.output<typeof framingSchema>;

export const checksumModes = ['none', 'nmea'] as const;
export type ChecksumMode = (typeof checksumModes)[number];

export const serialLineDeviceSchema = z.strictObject({
  driver: z.literal('serial-line'),
  name: seriesName,
  domain: seriesName,
  tags: tags.default({}),
  ...serialPortFields,
  framing: framingSchema.prefault({}),
  checksum: z.enum(checksumModes).default('none'),
  parser: lineParserSchema,
  /** No valid line for this long: the device is reported offline until the next one. */
  stale_after: duration({ min: 100 }).default(30_000),
  /**
   * No byte at all for this long: the port is closed and opened again, with the reopen backoff. A vanished adapter
   * is not always reported by the system. Default: twice stale_after (see silenceBeforeReopen).
   */
  reopen_silent_after: duration({ min: 100 }).optional(),
});
export type SerialLineDeviceConfig = z.output<typeof serialLineDeviceSchema>;

/** reopen_silent_after, or twice stale_after: the device is reported offline first, its port reopened after. */
export function silenceBeforeReopen(device: Pick<SerialLineDeviceConfig, 'stale_after' | 'reopen_silent_after'>): number {
  return device.reopen_silent_after ?? 2 * device.stale_after;
}

/** A duration in ms as an operator would write it: "30 s", "250 ms". */
export function formatDuration(ms: number): string {
  return ms % 1000 === 0 ? `${ms / 1000} s` : `${ms} ms`;
}

/** The names of a pattern's named groups, or why it does not compile. */
export function regexGroups(pattern: string): string[] | string {
  let compiled: RegExp;
  try {
    // The empty alternative always matches "", and a match lists every named group of the pattern as a key.
    new RegExp(pattern);
    compiled = new RegExp(`(?:${pattern})|`);
  } catch (error) {
    return (error as Error).message;
  }
  return Object.keys(compiled.exec('')?.groups ?? {});
}
