/**
 * Finds the part of a zod schema that checks a given path of the input, so error messages can say what was expected
 * there (zod's own issues name only the path). Reads zod's definitions (`_zod.def`), which zod 4 keeps public.
 */
import type { z } from 'zod';

export interface SchemaDef {
  type: string;
  shape?: Record<string, z.ZodType>;
  element?: z.ZodType;
  items?: z.ZodType[];
  valueType?: z.ZodType;
  innerType?: z.ZodType;
  in?: z.ZodType;
  out?: z.ZodType;
  options?: z.ZodType[];
  discriminator?: string;
  values?: unknown[];
  entries?: Record<string, unknown>;
  checks?: { _zod: { def: Record<string, unknown> } }[];
}

export const defOf = (schema: z.ZodType): SchemaDef => (schema as unknown as { _zod: { def: SchemaDef } })._zod.def;

/** Wrappers that check their input with an inner schema (defaults, optional, preprocessing) are looked through. */
export function unwrap(schema: z.ZodType): z.ZodType {
  let node = schema;
  for (let inner = unwrapOnce(node); inner; inner = unwrapOnce(node)) node = inner;
  return node;
}

/** The schema one wrapper checks its input with, or undefined when `schema` is no wrapper. */
export function unwrapOnce(schema: z.ZodType): z.ZodType | undefined {
  const def = defOf(schema);
  if (['optional', 'default', 'prefault', 'nullable', 'readonly', 'catch'].includes(def.type)) return def.innerType;
  // z.preprocess(fn, schema) is a pipe from a transform: the schema after it is what the input must satisfy.
  if (def.type === 'pipe' && def.in && def.out) return defOf(def.in).type === 'transform' ? def.out : def.in;
  return undefined;
}

/**
 * The schemas that check `path` of `input`. A discriminated union follows the option its tag names; when the input
 * has no such tag (or an unknown one), every option is followed and the caller decides whether they agree.
 */
export function schemasAt(schema: z.ZodType, path: readonly PropertyKey[], input: unknown): z.ZodType[] {
  let nodes = [{ node: schema, value: input }];
  for (const key of path) {
    nodes = nodes.flatMap(({ node, value }) => choose(unwrap(node), value).flatMap((option) => {
      const child = childOf(defOf(option), key);
      return child ? [{ node: child, value: valueAt(value, [key]) }] : [];
    }));
  }
  // The nodes themselves, not unwrapped: a wrapper may describe itself (see expected.ts).
  return nodes.flatMap(({ node, value }) => {
    const options = choose(unwrap(node), value);
    return options.length === 1 && options[0] === unwrap(node) ? [node] : options;
  });
}

/** The option of a discriminated union that the value's tag selects (all of them when none does). */
function choose(node: z.ZodType, value: unknown): z.ZodType[] {
  const def = defOf(node);
  if (def.type !== 'union' || !def.discriminator || !def.options) return [node];
  const tag = valueAt(value, [def.discriminator]);
  const options = def.options.map(unwrap);
  const chosen = options.find((option) => (defOf(unwrap(defOf(option).shape?.[def.discriminator!] ?? option)).values ?? []).includes(tag));
  return chosen ? [chosen] : options;
}

function childOf(def: SchemaDef, key: PropertyKey): z.ZodType | undefined {
  if (def.type === 'object') return def.shape?.[String(key)];
  if (def.type === 'array') return def.element;
  if (def.type === 'tuple') return typeof key === 'number' ? def.items?.[key] : undefined;
  if (def.type === 'record') return def.valueType;
  return undefined;
}

export function valueAt(root: unknown, path: readonly PropertyKey[]): unknown {
  let node = root;
  for (const key of path) {
    // Own keys only: a key named "constructor" or "__proto__" in the file is not the object's prototype.
    if (node === null || typeof node !== 'object' || !Object.hasOwn(node, key)) return undefined;
    node = (node as Record<PropertyKey, unknown>)[key];
  }
  return node;
}
