import { isPair, isScalar, isSeq, parse, visit, type Document, type Scalar } from 'yaml';
import { formatPath } from './errors.js';

const reference = /\$\{([A-Za-z_][A-Za-z0-9_]*)(?::-([^}]*))?\}/g;
const wholeReference = /^\$\{[A-Za-z_][A-Za-z0-9_]*(?::-[^}]*)?\}$/;

/**
 * Replaces `${NAME}` and `${NAME:-default}` in the string values of a parsed YAML document, so secrets stay out of
 * the file. It works on the document, not the plain data, to honour quoting: `port: ${MQTT_PORT}` becomes the number
 * it would be if written out, while `password: "${PASS}"` stays a string even when PASS is all digits.
 * Returns the problems (unset variables without a default) instead of throwing, so they are listed with the others.
 */
export function substituteEnv(doc: Document, env: NodeJS.ProcessEnv, file: string): string[] {
  const problems: string[] = [];
  visit(doc, {
    Scalar(key, node, ancestors) {
      if (key === 'key' || typeof node.value !== 'string' || !node.value.includes('${')) return;
      const text = node.value;
      const value = text.replace(reference, (whole, name: string, fallback: string | undefined) => {
        const found = env[name];
        if (found !== undefined) return found;
        if (fallback !== undefined) return fallback;
        problems.push(`${file}: ${formatPath(pathOf(ancestors, node))}: environment variable ${name} is not set (export it, or write \${${name}:-default})`);
        return whole;
      });
      node.value = node.type === 'PLAIN' && wholeReference.test(text) ? plainScalar(value) : value;
    },
  });
  return problems;
}

/** The key path of a node from the document's ancestors of it, for messages. */
function pathOf(ancestors: readonly unknown[], node: Scalar): PropertyKey[] {
  const chain = [...ancestors, node];
  const path: PropertyKey[] = [];
  for (let i = 0; i < chain.length - 1; i++) {
    const parent = chain[i];
    const child = chain[i + 1];
    if (isSeq(parent)) path.push(parent.items.indexOf(child as never));
    else if (isPair(parent) && child === parent.value) path.push(String(isScalar(parent.key) ? parent.key.value : parent.key));
  }
  return path;
}

/** What an unquoted value would be had it been written in the file: a number or boolean when it reads as one. */
function plainScalar(text: string): unknown {
  try {
    const parsed: unknown = parse(text);
    return typeof parsed === 'number' || typeof parsed === 'boolean' ? parsed : text;
  } catch {
    // Not a YAML scalar (e.g. a password with ": " in it): it stays the string it is.
    return text;
  }
}
