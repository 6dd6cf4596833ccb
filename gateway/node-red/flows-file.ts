import { createHash } from 'node:crypto';
import { copyFileSync, existsSync, mkdirSync, readdirSync, readFileSync, renameSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

/** Where the flows Node-RED is about to run came from. */
export type FlowsOrigin = 'kept' | 'shipped' | 'last-good';

export interface PreparedFlows {
  readonly origin: FlowsOrigin;
  /** Why the flows file was not used as it was (missing, corrupt), when it was not. */
  readonly problem?: string;
  /** Where a corrupt flows file was moved to, for the operator to look at. */
  readonly setAside?: string;
}

/** Node-RED's own naming: `flows.json` keeps its credentials in `flows_cred.json`. */
export function credentialsFile(flowFile: string): string {
  return flowFile.replace(/(\.json)?$/, '_cred$1');
}

const LAST_GOOD = '.last-good';

/**
 * Makes sure Node-RED finds flows it can run in `userDir` (never nothing): the operators' flows file as it is when it
 * parses as a flow list; the shipped flows on first start; the last copy that ran (see keepLastGood) when the file is
 * missing or corrupt, the corrupt one set aside beside it.
 */
export function prepareFlows(userDir: string, flowFile: string, shippedDir: string, now: Date = new Date()): PreparedFlows {
  mkdirSync(userDir, { recursive: true });
  const path = join(userDir, flowFile);
  const lastGood = path + LAST_GOOD;
  let problem: string | undefined;
  let setAside: string | undefined;
  if (existsSync(path)) {
    problem = flowsProblem(readFileSync(path, 'utf8'));
    if (problem === undefined) return { origin: 'kept' };
    setAside = `${path}.corrupt-${now.toISOString().replace(/[:.]/g, '-')}`;
    renameSync(path, setAside);
  } else if (existsSync(lastGood)) {
    problem = 'the flows file is missing';
  }
  if (existsSync(lastGood) && flowsProblem(readFileSync(lastGood, 'utf8')) === undefined) {
    // Credentials first, as Node-RED writes them (keepLastGood reads that order).
    const credentials = join(userDir, credentialsFile(flowFile));
    if (existsSync(credentials + LAST_GOOD)) restore(credentials + LAST_GOOD, credentials);
    restore(lastGood, path);
    return { origin: 'last-good', ...(problem === undefined ? {} : { problem }), ...(setAside === undefined ? {} : { setAside }) };
  }
  writeAtomically(path, JSON.stringify(shippedFlows(shippedDir), null, 2));
  return { origin: 'shipped', ...(problem === undefined ? {} : { problem }), ...(setAside === undefined ? {} : { setAside }) };
}

/** What became of a `flows:started`: the pair copied aside, or why not. */
export type KeepResult = 'kept' | 'no-flow-list' | 'changed';

/**
 * Copies the flows file and its credentials aside as the last good pair: called when Node-RED has started flows, at
 * start-up or after a deploy, with the started flows' revision (sha256 of their JSON, Node-RED's own `rev`).
 *
 * A deploy writes the credentials, then the flows file, then starts the new flows; a start already under way reports
 * in the meantime. So the pair is kept only when the file holds the flows that started and the credentials are not
 * newer than it; otherwise ('changed') the deploy's own start keeps its pair moments later.
 */
export function keepLastGood(userDir: string, flowFile: string, startedRev: string): KeepResult {
  const path = join(userDir, flowFile);
  if (!existsSync(path)) return 'no-flow-list';
  const text = readFileSync(path, 'utf8');
  if (flowsProblem(text) !== undefined) return 'no-flow-list';
  const credentials = join(userDir, credentialsFile(flowFile));
  const hasCredentials = existsSync(credentials);
  if (flowsRevision(text) !== startedRev || (hasCredentials && statSync(credentials).mtimeMs > statSync(path).mtimeMs)) return 'changed';
  restore(path, path + LAST_GOOD);
  if (hasCredentials) restore(credentials, credentials + LAST_GOOD);
  return 'kept';
}

/** Node-RED's revision of the flow list in a flows file's text, however the file is formatted. */
function flowsRevision(text: string): string {
  return createHash('sha256').update(JSON.stringify(JSON.parse(text))).digest('hex');
}

/** Why a flows file's text is not a flow list Node-RED could load, or undefined when it is one. */
export function flowsProblem(text: string): string | undefined {
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch (error) {
    return `the flows file is not JSON (${(error as Error).message})`;
  }
  if (!Array.isArray(parsed)) return 'the flows file is not a list of nodes';
  const bad = parsed.findIndex((node) => typeof node !== 'object' || node === null || typeof (node as { id?: unknown }).id !== 'string' || typeof (node as { type?: unknown }).type !== 'string');
  return bad < 0 ? undefined : `node ${bad} of the flows file has no id or type`;
}

/** Every shipped flow (one export per .json file, in name order) as one flow list; none when the folder is absent. */
export function shippedFlows(dir: string): unknown[] {
  if (!existsSync(dir)) return [];
  return readdirSync(dir)
    .filter((name) => name.endsWith('.json'))
    .sort()
    .flatMap((name) => {
      const text = readFileSync(join(dir, name), 'utf8');
      const problem = flowsProblem(text);
      // The project's own files: a broken one is a bug of the release, to be caught by its tests, not papered over.
      if (problem !== undefined) throw new Error(`shipped flow ${name}: ${problem}`);
      return JSON.parse(text) as unknown[];
    });
}

function restore(from: string, to: string): void {
  const tmp = `${to}.tmp`;
  copyFileSync(from, tmp);
  renameSync(tmp, to);
}

function writeAtomically(path: string, text: string): void {
  const tmp = `${path}.tmp`;
  writeFileSync(tmp, text);
  renameSync(tmp, path);
}
