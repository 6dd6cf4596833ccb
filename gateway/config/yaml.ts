import { existsSync, readFileSync } from 'node:fs';
import { relative } from 'node:path';
import { LineCounter, parseDocument, type Document } from 'yaml';
import type { z } from 'zod';
import { substituteEnv } from './env.js';
import { ConfigError, describeIssues, formatPath } from './errors.js';

/** Parses a YAML file and substitutes environment references; throws ConfigError when it cannot be used at all. */
export function readYaml(file: string, shown: string, env: NodeJS.ProcessEnv, needs: string): { value: unknown; problems: string[] } {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code === 'ENOENT') throw new ConfigError([`${shown}: file not found`]);
    throw new ConfigError([`${shown}: cannot read (${(error as Error).message})`]);
  }
  const lineCounter = new LineCounter();
  // logLevel error: a mapping used as a key is refused as an unknown key, not also warned about on stderr.
  const doc = parseDocument(text, { prettyErrors: false, uniqueKeys: true, lineCounter, logLevel: 'error' });
  const [error] = doc.errors;
  if (error) {
    // Only the first: after a syntax error the parser's further complaints are echoes of it.
    const { line, col } = lineCounter.linePos(error.pos[0]);
    throw new ConfigError([`${shown}: line ${line}, column ${col}: ${firstLine(error.message)} (YAML syntax)`]);
  }
  const problems = substituteEnv(doc, env, shown);
  const value = toData(doc, shown);
  if (value === null || value === undefined) throw new ConfigError([`${shown}: ${formatPath([])}: the file is empty (it needs at least ${needs})`]);
  if (typeof value !== 'object' || Array.isArray(value)) throw new ConfigError([`${shown}: ${formatPath([])}: must be a mapping (it needs at least ${needs})`]);
  return { value, problems };
}

/**
 * The YAML files a config names besides itself (profiles, rule files), each read and validated once however often it
 * is named, so a bad file is reported once. Problems go to the shared list, each naming its file and key.
 */
export class YamlFiles {
  private readonly cache = new Map<string, { value: unknown } | 'missing' | 'bad'>();

  constructor(
    private readonly env: NodeJS.ProcessEnv,
    readonly problems: string[],
  ) {}

  /** The file's data, 'missing' when there is no such file (the caller says where it was named), undefined when bad. */
  read<T>(path: string, schema: z.ZodType<T>, needs: string): T | 'missing' | undefined {
    let entry = this.cache.get(path);
    if (entry === undefined) {
      entry = this.load(path, schema, needs);
      this.cache.set(path, entry);
    }
    if (entry === 'missing') return 'missing';
    return entry === 'bad' ? undefined : (entry.value as T);
  }

  private load<T>(path: string, schema: z.ZodType<T>, needs: string): { value: T } | 'missing' | 'bad' {
    if (!existsSync(path)) return 'missing';
    const shown = displayName(path);
    let raw: unknown;
    try {
      const read = readYaml(path, shown, this.env, needs);
      raw = read.value;
      this.problems.push(...read.problems);
    } catch (error) {
      if (!(error instanceof ConfigError)) throw error;
      this.problems.push(...error.problems);
      return 'bad';
    }
    const parsed = schema.safeParse(raw);
    if (parsed.success) return { value: parsed.data };
    this.problems.push(...describeIssues(shown, parsed.error.issues, raw, schema));
    return 'bad';
  }
}

/** A path as an operator would like to read it in a message: relative to the working directory when inside it. */
export function displayName(file: string): string {
  const rel = relative(process.cwd(), file);
  return rel && !rel.startsWith('..') ? rel : file;
}

/** The document as plain data. The yaml library refuses an alias bomb ("billion laughs") here, by throwing. */
function toData(doc: Document, shown: string): unknown {
  try {
    return doc.toJS();
  } catch (error) {
    const message = (error as Error).message;
    if (/excessive alias count/i.test(message)) {
      throw new ConfigError([`${shown}: ${formatPath([])}: its YAML aliases (*name) expand to too much data (write the values out, or use fewer aliases)`]);
    }
    throw new ConfigError([`${shown}: ${formatPath([])}: cannot be read as data (${firstLine(message)})`]);
  }
}

function firstLine(message: string): string {
  return message.split('\n')[0] ?? message;
}
