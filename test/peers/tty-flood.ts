import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { DEBIAN_PYTHON } from './modbus-slave.js';
import { collectText, stopChild } from './process.js';

const SCRIPT = fileURLToPath(new URL('./tty_flood.py', import.meta.url));

export interface TtyFlood {
  /** Resolves once the writer has ended (the tty vanished, or stop()), with the number of lines it wrote. */
  readonly ended: Promise<number>;
  /** SIGTERM and wait. Idempotent. */
  stop(): Promise<number>;
}

export interface TtyFloodOptions {
  /** Each line; `{seq}` counts up from 0. Default `S,{seq}\n`. */
  format?: string;
  /** Lines per write burst; default 20. */
  batch?: number;
  /** Pause after each burst; default 1 ms. */
  pauseMs?: number;
}

/** A process flooding `path` (the device end of a pty pair) with numbered lines until the tty vanishes. */
export function startTtyFlood(path: string, opts: TtyFloodOptions = {}): TtyFlood {
  const args = [SCRIPT, path, '--format', opts.format ?? 'S,{seq}\\n', '--batch', String(opts.batch ?? 20), '--pause-ms', String(opts.pauseMs ?? 1)];
  const child = spawn(DEBIAN_PYTHON, args, { stdio: ['ignore', 'pipe', 'pipe'] });
  const stdout = collectText(child.stdout);
  collectText(child.stderr);
  // 'close', not 'exit': the count it prints last must have been read.
  const ended = new Promise<number>((resolve) => child.once('close', () => resolve(Number(stdout.text.trim()) || 0)));
  return {
    ended,
    async stop() {
      await stopChild(child, 'SIGTERM');
      return ended;
    },
  };
}
