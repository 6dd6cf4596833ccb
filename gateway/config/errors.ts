import type { z } from 'zod';

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

/** Turns zod issues into one operator-readable line each, naming the file and the key. */
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
    if (issue.code === 'invalid_union' && 'options' in issue && Array.isArray(issue.options)) {
      // A discriminated union (the device's `driver`) whose tag matched none of its options; the path ends at the tag.
      const given = valueAt(input, issue.path);
      const allowed = issue.options.map((option) => String(option)).join(', ');
      lines.push(`${file}: ${formatPath(issue.path)}: ${given === undefined ? 'missing' : `${show(given)} is not known`} (allowed: ${allowed})`);
      continue;
    }
    lines.push(`${file}: ${formatPath(issue.path)}: ${describeIssue(issue, valueAt(input, issue.path))}`);
  }
  return lines;
}

function describeIssue(issue: z.core.$ZodIssue, given: unknown): string {
  switch (issue.code) {
    case 'invalid_type':
      return given === undefined ? `missing (required, ${issue.expected})` : `${show(given)} is not a ${issue.expected}`;
    case 'invalid_value':
      return `${show(given)} is not allowed (allowed: ${issue.values.map((v) => String(v)).join(', ')})`;
    case 'too_small':
      return issue.origin === 'array' ? `needs at least ${String(issue.minimum)} entries` : `${show(given)} is too small (minimum ${String(issue.minimum)})`;
    case 'too_big':
      return `${show(given)} is too large (maximum ${String(issue.maximum)})`;
    case 'invalid_format':
      return `${show(given)} ${issue.message}`;
    default:
      return issue.message;
  }
}

interface SchemaDef {
  type: string;
  shape?: Record<string, z.ZodType>;
  element?: z.ZodType;
  valueType?: z.ZodType;
  innerType?: z.ZodType;
  in?: z.ZodType;
  options?: z.ZodType[];
  discriminator?: string;
}

const defOf = (schema: z.ZodType): SchemaDef => (schema as unknown as { _zod: { def: SchemaDef } })._zod.def;

/** The keys an object schema accepts at `path` (zod does not say which keys it expected when it finds an unknown one). */
function keysAt(schema: z.ZodType, path: readonly PropertyKey[], input: unknown): string[] | undefined {
  let node: z.ZodType | undefined = schema;
  let value = input;
  let depth = 0;
  while (node) {
    const def = defOf(node);
    if (def.type === 'optional' || def.type === 'default' || def.type === 'nullable') node = def.innerType;
    else if (def.type === 'pipe') node = def.in;
    else if (def.type === 'union' && def.discriminator) {
      const tag = valueAt(value, [def.discriminator]);
      node = def.options?.find((option) => literalOf(defOf(option).shape?.[def.discriminator!]) === tag);
    } else if (depth === path.length) return def.type === 'object' && def.shape ? Object.keys(def.shape) : undefined;
    else {
      const key = path[depth++]!;
      value = valueAt(value, [key]);
      node = def.type === 'object' ? def.shape?.[String(key)] : def.type === 'array' ? def.element : def.type === 'record' ? def.valueType : undefined;
    }
  }
  return undefined;
}

function literalOf(schema: z.ZodType | undefined): unknown {
  const values = schema ? (defOf(schema) as { values?: unknown[] }).values : undefined;
  return values?.[0];
}

function show(value: unknown): string {
  return typeof value === 'string' ? JSON.stringify(value) : typeof value === 'object' && value !== null ? (Array.isArray(value) ? 'a list' : 'a mapping') : String(value);
}

export function valueAt(root: unknown, path: readonly PropertyKey[]): unknown {
  let node = root;
  for (const key of path) {
    if (node === null || typeof node !== 'object') return undefined;
    node = (node as Record<PropertyKey, unknown>)[key];
  }
  return node;
}
