/** What a schema accepts, in the operator's words: "a whole number from 1 to 65535", "true or false", "a list". */
import { z } from 'zod';
import { defOf, unwrap, unwrapOnce } from './schema-walk.js';

/** A phrase for what `schema` accepts, or undefined when there is nothing better to say than zod's own message. */
export function describeExpected(schema: z.ZodType): string | undefined {
  const described = describedAs(schema);
  if (described) return described;
  const inner = unwrapOnce(schema);
  if (inner) return describeExpected(inner);
  const def = defOf(schema);
  switch (def.type) {
    case 'number':
      return describeNumber(def.checks ?? []);
    case 'string':
      return 'text';
    case 'boolean':
      return 'true or false';
    case 'literal':
      return oneOf((def.values ?? []).map(literal));
    case 'enum':
      return `one of ${Object.values(def.entries ?? {}).map(String).join(', ')}`;
    case 'array':
      return 'a list';
    case 'tuple':
      return `a list of ${def.items?.length ?? 0} entries`;
    case 'object':
    case 'record':
      return 'a mapping';
    case 'union': {
      if (def.discriminator) return `a mapping with ${def.discriminator}: ${tagsOf(def.options ?? [], def.discriminator).join(', ')}`;
      const phrases = (def.options ?? []).map(describeExpected);
      return phrases.every((p) => p !== undefined) ? oneOf([...new Set(phrases as string[])]) : undefined;
    }
    default:
      return undefined;
  }
}

/** Schemas built to parse text (durations, sizes) describe themselves with `.describe()`. */
function describedAs(schema: z.ZodType): string | undefined {
  return z.globalRegistry.get(schema)?.description;
}

function describeNumber(checks: NonNullable<ReturnType<typeof defOf>['checks']>): string {
  let whole = false;
  let min: number | undefined;
  let max: number | undefined;
  for (const check of checks.map((c) => c._zod.def)) {
    if (check.check === 'number_format' && (check.format === 'safeint' || check.format === 'int32' || check.format === 'uint32')) whole = true;
    else if (check.check === 'greater_than' && typeof check.value === 'number') min = Math.max(min ?? -Infinity, check.value);
    else if (check.check === 'less_than' && typeof check.value === 'number') max = Math.min(max ?? Infinity, check.value);
  }
  const kind = whole ? 'a whole number' : 'a number';
  if (min !== undefined && max !== undefined) return `${kind} from ${min} to ${max}`;
  if (min !== undefined) return `${kind} of at least ${min}`;
  if (max !== undefined) return `${kind} of at most ${max}`;
  return kind;
}

function tagsOf(options: readonly z.ZodType[], discriminator: string): string[] {
  return options.flatMap((option) => {
    const tag = defOf(unwrap(option)).shape?.[discriminator];
    return tag ? (defOf(unwrap(tag)).values ?? []).map(String) : [];
  });
}

function literal(value: unknown): string {
  return typeof value === 'string' ? JSON.stringify(value) : String(value);
}

function oneOf(phrases: readonly string[]): string {
  return phrases.length <= 1 ? (phrases[0] ?? 'nothing') : `${phrases.slice(0, -1).join(', ')} or ${phrases.at(-1)!}`;
}
