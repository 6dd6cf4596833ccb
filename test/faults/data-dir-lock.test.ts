/**
 * Two gateways started at the same instant on one data_dir (a unit file and a hand-started copy, say): exactly one
 * may own the durable buffer, whatever the lock file held before — nothing yet, the record a clean stop left, or the
 * pid of a gateway killed with -9. Real processes, released at once by a line on their stdin.
 */
import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { afterEach, describe, expect, it } from 'vitest';
import { waitFor } from '../peers/net.js';
import { exitOf, stopChild } from '../peers/process.js';

const FIXTURE = 'test/fixtures/buffer-lock-fixture.ts';
/** Rounds per case: the two claims meet within microseconds only some of the time. */
const ROUNDS = 6;

interface Opener {
  readonly child: ChildProcessWithoutNullStreams;
  readonly lines: string[];
}

const openers: Opener[] = [];
const dirs: string[] = [];

function opener(dir: string): Opener {
  const child = spawn(process.execPath, ['--import', 'tsx', FIXTURE, dir], { stdio: ['pipe', 'pipe', 'pipe'] });
  const lines: string[] = [];
  createInterface({ input: child.stdout }).on('line', (line) => lines.push(line));
  child.stderr.resume();
  const started = { child, lines };
  openers.push(started);
  return started;
}

/** The opener's answer to the go line: `won` or `lost <reason>`. */
function outcome(o: Opener): Promise<string> {
  return waitFor(() => o.lines.find((line) => line === 'won' || line.startsWith('lost ')), { what: `the outcome of process ${o.child.pid}`, timeoutMs: 30_000 });
}

async function ready(...started: Opener[]): Promise<void> {
  await waitFor(() => (started.every((o) => o.lines.includes('ready')) ? true : undefined), { what: 'the openers loaded', timeoutMs: 30_000 });
}

async function holdAndLeave(dir: string, how: 'stop' | 'kill -9'): Promise<void> {
  const holder = opener(dir);
  await ready(holder);
  holder.child.stdin.write('go\n');
  expect(await outcome(holder)).toBe('won');
  if (how === 'stop') holder.child.stdin.end();
  else holder.child.kill('SIGKILL');
  await exitOf(holder.child);
}

afterEach(async () => {
  for (const o of openers.splice(0)) await stopChild(o.child, 'SIGKILL');
  for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true });
});

describe('two gateways starting at once on one data_dir', () => {
  for (const before of ['no lock yet', 'the lock a clean stop left', 'the lock of a gateway killed with -9'] as const) {
    it(`exactly one owns the buffer (${before})`, { timeout: 180_000 }, async () => {
      const results: string[][] = [];
      for (let round = 0; round < ROUNDS; round++) {
        const dir = mkdtempSync(join(tmpdir(), 'gw-lock-'));
        dirs.push(dir);
        if (before === 'the lock a clean stop left') await holdAndLeave(dir, 'stop');
        if (before === 'the lock of a gateway killed with -9') await holdAndLeave(dir, 'kill -9');
        const pair = [opener(dir), opener(dir)] as const;
        await ready(...pair);
        for (const o of pair) o.child.stdin.write('go\n');
        const answers = await Promise.all(pair.map(outcome));
        results.push(answers);
        const winner = pair[answers.indexOf('won')];
        expect(answers.filter((a) => a === 'won'), `round ${round}: ${answers.join(' / ')}`).toHaveLength(1);
        expect(answers.find((a) => a !== 'won')).toContain(`in use by process ${winner!.child.pid}`);
        for (const o of pair) o.child.stdin.end();
        await Promise.all(pair.map((o) => exitOf(o.child)));
      }
      console.info(`${before}: ${results.map((r) => r.map((a) => (a === 'won' ? 'won' : 'lost')).join('/')).join(', ')}`);
    });
  }
});
