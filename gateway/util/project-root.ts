import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';

/** The folder with package.json above `file`: the checkout under tsx, the install when built into dist/. */
export function projectRoot(file: string): string {
  for (let dir = dirname(file); dir !== dirname(dir); dir = dirname(dir)) {
    if (existsSync(join(dir, 'package.json'))) return dir;
  }
  return dirname(dirname(file));
}
