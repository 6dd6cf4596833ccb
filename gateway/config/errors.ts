import type { z } from 'zod';
import { describeExpected } from './expected.js';
import { defOf, schemasAt, unwrap, valueAt } from './schema-walk.js';

export { valueAt } from './schema-walk.js';

/** A config that cannot be used. `problems` are complete lines: `file: path.to.key: what is wrong (what is allowed)`. */
export class ConfigError extends Error {
  constructor(readonly problems: readonly string[]) {
    super(`invalid configuration:\n${problems.map((p) => `  ${p}`).join('\n')}`);
    this.name = 'ConfigError';
  }
}

/** `devices[0].points[2].type` — the way an operator would point at the key in the YAML file. */
export function formatPath(path: readonly PropertyKey[]): string {
  let out = '';
  for (const key of path) {
    if (typeof key === 'number') out += `[${key}]`;
    else out += out ? `.${String(key)}` : String(key);
  }
  return out || '(top level)';
}

/**
 * Turns zod issues into one operator-readable line each, naming the file and the key. This is the one place where
 * zod's generic messages ("Invalid input", "expected int") become what the key expects, read from the schema; a value
 * that breaks several checks at once (a huge integer: past the safe range and past the maximum) gets one line.
 */
export function describeIssues(file: string, issues: readonly z.core.$ZodIssue[], input: unknown, schema: z.ZodType): string[] {
  const lines: string[] = [];
  for (const issue of issues) {
    if (issue.code === 'unrecognized_keys') {
      for (const key of issue.keys) {
        const allowed = keysAt(schema, issue.path, input);
        const hint = allowed ? ` (allowed here: ${allowed.join(', ')})` : ' (check the spelling)';
        lines.push(`${file}: ${formatPath([...issue.path, key])}: unknown key${hint}`);
      }
      continue;
    }
    const given = valueAt(input, issue.path);
    lines.push(`${file}: ${formatPath(issue.path)}: ${describeIssue(issue, given, () => expectedAt(schema, issue.path, input))}`);
  }
  return [...new Set(lines)];
}

function describeIssue(issue: z.core.$ZodIssue, given: unknown, expected: () => string | undefined): string {
  switch (issue.code) {
    case 'invalid_union':
      // A discriminated union (the device's `driver`) whose tag matched none of its options; the path ends at the tag.
      if ('options' in issue && Array.isArray(issue.options)) return `${given === undefined ? 'missing' : `${show(given)} is not known`} (allowed: ${issue.options.map(String).join(', ')})`;
      return mismatch(given, expected()) ?? issue.message;
    case 'invalid_type':
      return mismatch(given, expected()) ?? issue.message;
    case 'invalid_value':
      return `${show(given)} is not allowed (allowed: ${issue.values.map((v) => String(v)).join(', ')})`;
    case 'too_small':
      if (issue.origin === 'array' || issue.origin === 'set') return `needs at least ${count(issue.minimum, 'entry', 'entries')}`;
      if (issue.origin === 'string') return Number(issue.minimum) <= 1 ? 'must not be empty' : `${show(given)} is shorter than ${count(issue.minimum, 'character', 'characters')}`;
      return mismatch(given, expected()) ?? `${show(given)} is too small (minimum ${String(issue.minimum)})`;
    case 'too_big':
      if (issue.origin === 'array' || issue.origin === 'set') return `has more than ${count(issue.maximum, 'entry', 'entries')}`;
      if (issue.origin === 'string') return `is longer than ${count(issue.maximum, 'character', 'characters')}`;
      return mismatch(given, expected()) ?? `${show(given)} is too large (maximum ${String(issue.maximum)})`;
    case 'invalid_format':
      return `${show(given)} ${issue.message}`;
    case 'invalid_key':
      // The path ends at the key itself; the key's own schema says what is wrong with it.
      return issue.issues.map((inner) => inner.message).join('; ');
    default:
      return issue.message;
  }
}

/** "expected a whole number from 1 to 65535, got 1e+23", or "missing (required: ...)" when nothing was given. */
function mismatch(given: unknown, expected: string | undefined): string | undefined {
  if (expected === undefined) return undefined;
  return given === undefined ? `missing (required: ${expected})` : `expected ${expected}, got ${show(given)}`;
}

/** What the schema expects at `path`; when the input leaves open which option of a union applies, only if they agree. */
function expectedAt(schema: z.ZodType, path: readonly PropertyKey[], input: unknown): string | undefined {
  const phrases = new Set(schemasAt(schema, path, input).map(describeExpected));
  const [phrase] = phrases;
  return phrases.size === 1 ? phrase : undefined;
}

/** The keys an object schema accepts at `path` (zod does not say which keys it expected when it finds an unknown one). */
function keysAt(schema: z.ZodType, path: readonly PropertyKey[], input: unknown): string[] | undefined {
  const keys = new Set(schemasAt(schema, path, input).map((node) => Object.keys(defOf(unwrap(node)).shape ?? {}).join(', ')));
  const [list] = keys;
  return keys.size === 1 && list ? list.split(', ') : undefined;
}

function count(n: number | bigint, one: string, many: string): string {
  return `${String(n)} ${Number(n) === 1 ? one : many}`;
}

function show(value: unknown): string {
  if (typeof value === 'string') return JSON.stringify(value);
  if (value === null) return 'nothing (null)';
  if (typeof value === 'object') return Array.isArray(value) ? 'a list' : 'a mapping';
  // YAML's .inf and .nan, or a number too large for a double (1e400), which YAML reads as infinity.
  if (typeof value === 'number' && !Number.isFinite(value)) return Number.isNaN(value) ? '.nan (not a number)' : `${value} (.inf or a number too large to hold)`;
  return String(value);
}

/** Zod reports a bad record key as "Invalid key in record"; the key's own message says what is wrong with it. */
export function keyProblem(issue: z.core.$ZodRawIssue): string | undefined {
  return issue.code === 'invalid_key' ? issue.issues[0]?.message : undefined;
}
