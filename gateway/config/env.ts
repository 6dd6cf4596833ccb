import { parse } from 'yaml';
import { formatPath } from './errors.js';

const reference = /\$\{([A-Za-z_][A-Za-z0-9_]*)(?::-([^}]*))?\}/g;
const wholeReference = /^\$\{[A-Za-z_][A-Za-z0-9_]*(?::-[^}]*)?\}$/;

/**
 * Replaces `${NAME}` and `${NAME:-default}` in every string of a parsed YAML tree, so secrets stay out of the file.
 * Returns the problems (unset variables without a default) instead of throwing, so they are listed with the others.
 */
export function substituteEnv(node: unknown, env: NodeJS.ProcessEnv, file: string, path: PropertyKey[] = [], problems: string[] = []): { value: unknown; problems: string[] } {
  if (typeof node === 'string') {
    const value = node.replace(reference, (whole, name: string, fallback: string | undefined) => {
      const found = env[name];
      if (found !== undefined) return found;
      if (fallback !== undefined) return fallback;
      problems.push(`${file}: ${formatPath(path)}: environment variable ${name} is not set (export it, or write \${${name}:-default})`);
      return whole;
    });
    // `port: ${MQTT_PORT:-1883}` should give a number, as if the value had been written in the file.
    if (wholeReference.test(node) && value !== node) return { value: scalar(value), problems };
    return { value, problems };
  }
  if (Array.isArray(node)) {
    return { value: node.map((item, i) => substituteEnv(item, env, file, [...path, i], problems).value), problems };
  }
  if (node !== null && typeof node === 'object') {
    const out: Record<string, unknown> = {};
    for (const [key, item] of Object.entries(node)) out[key] = substituteEnv(item, env, file, [...path, key], problems).value;
    return { value: out, problems };
  }
  return { value: node, problems };
}

function scalar(text: string): unknown {
  try {
    const parsed: unknown = parse(text);
    return typeof parsed === 'number' || typeof parsed === 'boolean' ? parsed : text;
  } catch {
    // Not a YAML scalar (e.g. a password with ": " in it): it stays the string it is.
    return text;
  }
}
