import { existsSync } from 'node:fs';
import { dirname, extname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { projectRoot } from '../util/project-root.js';

const here = fileURLToPath(import.meta.url);
const root = projectRoot(here);

/** The gateway's Node-RED node package (gateway reading in/out, alert in, command), loaded by the child. */
export const NODE_PACKAGE_DIR = join(root, 'flows', 'node-red-contrib-city-gateway');

/** Flows the project ships (one Node-RED export per file), installed when a user dir has no flows yet. */
export const SHIPPED_FLOWS_DIR = join(root, 'flows', 'shipped');

/** The package's folder when it is there (Node-RED's `nodesDir`); a checkout without it runs Node-RED's own nodes. */
export function nodePackageDirs(): string[] {
  return existsSync(join(NODE_PACKAGE_DIR, 'package.json')) ? [NODE_PACKAGE_DIR] : [];
}

/** The child's entry: runner.ts through tsx when the gateway itself runs from source, runner.js when built. */
export function runnerEntry(): { readonly file: string; readonly execArgv: readonly string[] } {
  const ext = extname(here);
  return { file: join(dirname(here), `runner${ext}`), execArgv: ext === '.ts' ? ['--import', 'tsx'] : [] };
}
