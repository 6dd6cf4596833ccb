/**
 * The doc comments written above the keys of the config schemas (`/** Cap of the reconnect backoff. *\/ backoff_max:
 * duration(...)`), read from the sources with the TypeScript parser, for the generated config reference. A runtime
 * schema does not know where its shape was written, so an object schema is matched to the object literals whose keys
 * it contains (a shape spread into another contributes its own keys).
 */
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import ts from 'typescript';

interface DocumentedLiteral {
  readonly keys: ReadonlySet<string>;
  readonly docs: ReadonlyMap<string, string>;
}

export class SchemaComments {
  private constructor(private readonly literals: readonly DocumentedLiteral[]) {}

  /** Reads every TypeScript file under `dirs` that builds zod schemas. */
  static read(dirs: readonly string[]): SchemaComments {
    const literals: DocumentedLiteral[] = [];
    for (const file of dirs.flatMap(sourceFiles)) {
      const text = readFileSync(file, 'utf8');
      if (!text.includes("from 'zod'")) continue;
      collect(ts.createSourceFile(file, text, ts.ScriptTarget.ES2022, true), literals);
    }
    return new SchemaComments(literals);
  }

  /** The comment of `key` in an object schema with these keys; the literal sharing most keys with it wins. */
  docOf(keys: readonly string[], key: string): string | undefined {
    const own = new Set(keys);
    let best: { overlap: number; doc: string } | undefined;
    for (const literal of this.literals) {
      const doc = literal.docs.get(key);
      if (doc === undefined || ![...literal.keys].every((k) => own.has(k))) continue;
      if (!best || literal.keys.size > best.overlap) best = { overlap: literal.keys.size, doc };
    }
    return best?.doc;
  }
}

function sourceFiles(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true, recursive: true })
    .filter((entry) => entry.isFile() && entry.name.endsWith('.ts'))
    .map((entry) => join(entry.parentPath, entry.name));
}

function collect(node: ts.Node, into: DocumentedLiteral[]): void {
  if (ts.isObjectLiteralExpression(node)) {
    const keys = new Set<string>();
    const docs = new Map<string, string>();
    for (const property of node.properties) {
      if (!ts.isPropertyAssignment(property) && !ts.isShorthandPropertyAssignment(property)) continue;
      const name = ts.isIdentifier(property.name) || ts.isStringLiteral(property.name) ? property.name.text : undefined;
      if (name === undefined) continue;
      keys.add(name);
      const doc = docComment(property);
      if (doc) docs.set(name, doc);
    }
    if (docs.size > 0) into.push({ keys, docs });
  }
  ts.forEachChild(node, (child) => collect(child, into));
}

/** The text of a `/** ... *\/` comment on one line, without its tags. */
function docComment(node: ts.Node): string | undefined {
  const text = ts
    .getJSDocCommentsAndTags(node)
    .filter(ts.isJSDoc)
    .map((doc) => ts.getTextOfJSDocComment(doc.comment) ?? '')
    .join(' ')
    .replace(/\s+/g, ' ')
    .trim();
  return text || undefined;
}
