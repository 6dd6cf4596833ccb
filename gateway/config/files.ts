import { existsSync } from 'node:fs';
import { resolve } from 'node:path';
import type { ConfigContext } from './context.js';
import { displayName } from './yaml.js';

/** Certificate files are named relative to the config file; a missing one is a config problem, not a start-up crash. */
export function resolveFiles<T extends Partial<Record<'cert' | 'key' | 'ca', string>>>(section: T, at: string, ctx: ConfigContext): T {
  const resolved = { ...section };
  for (const key of ['cert', 'key', 'ca'] as const) {
    const path = section[key];
    if (path === undefined) continue;
    const absolute = resolve(ctx.dir, path);
    resolved[key] = absolute as T[typeof key];
    if (!existsSync(absolute)) ctx.problem(`${at}.${key}`, `no file ${displayName(absolute)} (paths are relative to the config file)`);
  }
  return resolved;
}
