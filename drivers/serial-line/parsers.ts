/**
 * Line parsers: csv, kv, regex, json. Pure. Each turns one line into one value per configured field, or says why it
 * cannot: a line missing a field, or holding a value that is not what the field says, yields no value at all, so a
 * reading set is never half from one line.
 */
import type { ReadingValue } from '../../gateway/model.js';
import type { LineField, LineParserConfig } from './config.js';

export interface LineValue {
  readonly metric: string;
  readonly value: ReadingValue;
  readonly unit: string | undefined;
}

export type ParseResult = { readonly ok: true; readonly values: LineValue[] } | { readonly ok: false; readonly error: string };

export type LineParser = (line: string) => ParseResult;

export function createParser(config: LineParserConfig): LineParser {
  switch (config.type) {
    case 'csv':
      return csvParser(config.separator, config.columns);
    case 'kv':
      return kvParser(config.pair_separator, config.kv_separator, config.fields);
    case 'regex':
      return regexParser(config.pattern, config.fields);
    case 'json':
      return jsonParser(config.fields);
    default:
      throw new Error(`unknown parser ${String(config satisfies never)}`);
  }
}

/** Where a field's raw value comes from, named the way the operator configured it. */
interface FieldSource {
  readonly label: string;
  readonly key: string;
  readonly field: LineField;
}

function sourcesOf(fields: Readonly<Record<string, LineField>>, label: (key: string, field: LineField) => string): FieldSource[] {
  return Object.entries(fields).map(([key, field]) => ({ key, field, label: label(key, field) }));
}

/** Converts every field's raw value (undefined when absent); one error per bad field, all listed. */
function collect(sources: readonly FieldSource[], rawOf: (source: FieldSource) => unknown): ParseResult {
  const values: LineValue[] = [];
  const errors: string[] = [];
  for (const source of sources) {
    const converted = convert(source.field, rawOf(source));
    if (typeof converted === 'object') errors.push(`${source.label}: ${converted.error}`);
    else values.push({ metric: source.field.metric, value: converted, unit: source.field.unit });
  }
  return errors.length ? { ok: false, error: errors.join('; ') } : { ok: true, values };
}

/** A separator of only whitespace stands for any run of spaces and tabs (columns aligned for a terminal). */
function splitterFor(separator: string): (text: string) => string[] {
  if (/^\s+$/.test(separator)) return (text) => text.trim().split(/[ \t]+/);
  return (text) => text.split(separator);
}

function csvParser(separator: string, columns: Readonly<Record<string, LineField>>): LineParser {
  const split = splitterFor(separator);
  const sources = sourcesOf(columns, (key, field) => `column ${key} (${field.metric})`);
  return (line) => {
    const cells = split(line);
    return collect(sources, (source) => cells[Number(source.key)]);
  };
}

function kvParser(pairSeparator: string, kvSeparator: string, fields: Readonly<Record<string, LineField>>): LineParser {
  const split = splitterFor(pairSeparator);
  const sources = sourcesOf(fields, (key) => `key "${key}"`);
  return (line) => {
    const pairs = new Map<string, string>();
    for (const pair of split(line)) {
      const at = pair.indexOf(kvSeparator);
      // Tokens that are not pairs (a device's banner word, a status flag) cannot be any field: they are passed over.
      if (at === -1) continue;
      const key = pair.slice(0, at).trim();
      // The first occurrence wins, as a human reading the line would take it.
      if (!pairs.has(key)) pairs.set(key, pair.slice(at + kvSeparator.length));
    }
    return collect(sources, (source) => pairs.get(source.key));
  };
}

function regexParser(pattern: string, fields: Readonly<Record<string, LineField>>): LineParser {
  const regex = new RegExp(pattern);
  const sources = sourcesOf(fields, (key) => `group "${key}"`);
  return (line) => {
    const match = regex.exec(line);
    if (!match) return { ok: false, error: 'does not match the pattern' };
    return collect(sources, (source) => match.groups?.[source.key]);
  };
}

function jsonParser(fields: Readonly<Record<string, LineField>>): LineParser {
  const sources = sourcesOf(fields, (key) => `key "${key}"`);
  return (line) => {
    let document: unknown;
    try {
      document = JSON.parse(line);
    } catch (error) {
      return { ok: false, error: `not JSON (${(error as Error).message})` };
    }
    if (typeof document !== 'object' || document === null) return { ok: false, error: 'not a JSON object' };
    return collect(sources, (source) => valueAtPath(document, source.key));
  };
}

/** `probe.level` in `{"probe":{"level":1}}`; a key that itself holds dots (`{"probe.level":1}`) is found first. */
export function valueAtPath(document: object, path: string): unknown {
  if (Object.hasOwn(document, path)) return (document as Record<string, unknown>)[path];
  let node: unknown = document;
  for (const key of path.split('.')) {
    // Own properties only: "constructor" or "__proto__" in a path must not reach into the prototype.
    if (typeof node !== 'object' || node === null || !Object.hasOwn(node, key)) return undefined;
    node = (node as Record<string, unknown>)[key];
  }
  return node;
}

/** A plain decimal as devices print it: 12, -3.5, .5, 1e3. Not hex, not "Infinity", not an empty cell. */
const decimal = /^[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?$/;
const booleans: Record<string, boolean> = { true: true, false: false, on: true, off: false, yes: true, no: false, '1': true, '0': false };

type Converted = ReadingValue | { readonly error: string };

/** A raw value (text from the line, or a JSON value) as the field's type; scale and offset applied to numbers. */
export function convert(field: LineField, raw: unknown): Converted {
  if (raw === undefined) return { error: 'missing' };
  if (raw === null) return { error: 'is null' };
  const text = typeof raw === 'string' ? raw.trim() : undefined;
  if (text === '') return { error: 'is empty' };
  switch (field.type) {
    case 'number': {
      const number = typeof raw === 'number' ? raw : text !== undefined && decimal.test(text) ? Number(text) : undefined;
      if (number === undefined || !Number.isFinite(number)) return { error: `${show(raw)} is not a finite number` };
      return scaled(field, number);
    }
    case 'boolean': {
      const flag = typeof raw === 'boolean' ? raw : booleans[(text ?? (typeof raw === 'number' ? String(raw) : '')).toLowerCase()];
      return flag ?? { error: `${show(raw)} is not a boolean (true/false, 1/0, on/off, yes/no)` };
    }
    case 'string':
      if (text !== undefined) return text;
      if (typeof raw === 'number' || typeof raw === 'boolean') return String(raw);
      return { error: `${show(raw)} is not a string` };
    default:
      throw new Error(`unknown field type ${String(field.type satisfies never)}`);
  }
}

/**
 * raw * scale + offset, the raw value untouched for the identity. Rounded to 15 significant digits, all a double
 * holds reliably, so 58 * 0.1 reads 5.8 (the same rule as the Modbus codec).
 */
function scaled(field: LineField, raw: number): Converted {
  if (field.scale === 1 && field.offset === 0) return raw;
  const value = raw * field.scale + field.offset;
  if (!Number.isFinite(value)) return { error: `${raw} * ${field.scale} + ${field.offset} is not a finite number` };
  return value === 0 ? value : Number(value.toPrecision(15));
}

function show(raw: unknown): string {
  const text = typeof raw === 'string' ? JSON.stringify(raw) : Array.isArray(raw) ? 'a list' : typeof raw === 'object' ? 'an object' : String(raw);
  return text.length > 40 ? `${text.slice(0, 40)}...` : text;
}
