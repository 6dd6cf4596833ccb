import type { ChildProcess } from 'node:child_process';
import type { Readable } from 'node:stream';
import { waitFor } from './net.js';

export interface ExitInfo {
  code: number | null;
  signal: NodeJS.Signals | null;
}

/** Resolves once the child has exited (at once if it already has, or never started). */
export function exitOf(child: ChildProcess): Promise<ExitInfo> {
  if (child.pid === undefined || child.exitCode !== null || child.signalCode !== null) {
    return Promise.resolve({ code: child.exitCode, signal: child.signalCode });
  }
  return new Promise((resolve) => child.once('exit', (code, signal) => resolve({ code, signal })));
}

/** True while the child runs (spawned and not yet exited). */
export function isRunning(child: ChildProcess): boolean {
  return child.pid !== undefined && child.exitCode === null && child.signalCode === null;
}

/**
 * Sends `signal` and waits for the exit; escalates to SIGKILL after `graceMs` so a stuck peer cannot hang a test's
 * teardown. Only ever signals this one child, by its pid.
 */
export async function stopChild(child: ChildProcess, signal: NodeJS.Signals = 'SIGTERM', graceMs = 5_000): Promise<void> {
  if (!isRunning(child)) return;
  const exited = exitOf(child);
  child.kill(signal);
  let timer: NodeJS.Timeout | undefined;
  const bound = new Promise<'timeout'>((resolve) => {
    timer = setTimeout(() => resolve('timeout'), graceMs);
  });
  const outcome = await Promise.race([exited, bound]);
  clearTimeout(timer);
  if (outcome === 'timeout') {
    child.kill('SIGKILL');
    await exited;
  }
}

/** Keeps the tail of a stream's text, for error messages. */
export function collectText(stream: NodeJS.ReadableStream, limit = 64 * 1024): { readonly text: string } {
  let text = '';
  stream.setEncoding('utf8');
  stream.on('data', (chunk: string) => {
    text = (text + chunk).slice(-limit);
  });
  return {
    get text() {
      return text;
    },
  };
}

/** How a test server is started: afresh, or again where a stopped one left off (outage tests). */
export interface RestartableServerOptions {
  /** Fixed HTTP port (restart a stopped server where a client expects it); otherwise a free one. */
  port?: number;
  /** Reuse the data dir of a stopped server (what it stored survives); otherwise a new temp dir. */
  dataDir?: string;
}

export interface ServerStart {
  /** For messages: "influxd", "victoria-metrics". */
  readonly name: string;
  readonly child: ChildProcess;
  readonly stderr: Readable;
  readonly log: { readonly text: string };
  /** Resolves with the spawn error, if the binary could not be started at all. */
  readonly spawnFailed: Promise<Error>;
  /** What readiness looks like, for messages ("/ping answering 204"). */
  readonly what: string;
  readonly probe: () => Promise<boolean>;
  /** Default 30 s: a server's first start on a loaded machine can be slow. */
  readonly timeoutMs?: number;
  /** Characters of the log to quote in an error; default 4000. */
  readonly logTail?: number;
}

/**
 * Polls `probe` until it answers true, the child exits, or `timeoutMs` passes; on failure kills the child and rejects
 * with the tail of its log.
 */
export async function waitServerReady(start: ServerStart): Promise<void> {
  const { name, child, stderr, log } = start;
  const timeoutMs = start.timeoutMs ?? 30_000;
  const logTail = start.logTail ?? 4_000;
  // A probe can hang on whoever holds the port when the server failed to bind it: stop waiting once the child exits.
  const exited = exitOf(child).then(() => false);
  let outcome: 'ready' | 'exited';
  try {
    outcome = await waitFor(async () => {
      if (!isRunning(child)) return 'exited';
      return (await Promise.race([start.probe(), exited])) ? 'ready' : undefined;
    }, { timeoutMs, what: start.what });
  } catch (error) {
    await stopChild(child, 'SIGKILL');
    throw new Error(`${name} not ready: ${(error as Error).message}; log:\n${log.text.slice(-logTail)}`, { cause: error });
  }
  if (outcome === 'ready') return;
  if (child.pid === undefined) {
    throw new Error(`cannot start ${name} (is the Debian package installed?): ${(await start.spawnFailed).message}`);
  }
  await exited;
  // The last log chunk may still be in the pipe when 'exit' fires.
  if (!stderr.closed) await new Promise((resolve) => stderr.once('close', resolve));
  throw new Error(`${name} exited (code ${child.exitCode}) before it was ready; log:\n${log.text.slice(-logTail)}`);
}
