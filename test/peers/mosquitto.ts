import { execFile, spawn } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { freePort } from './net.js';
import { exitOf, stopChild } from './process.js';

const MOSQUITTO = '/usr/sbin/mosquitto';
const READY_TIMEOUT_MS = 15_000;
const PORT_ATTEMPTS = 5;

export interface MosquittoOptions {
  /** Fixed port (e.g. to restart a broker where a bridge expects it); otherwise a free one. */
  port?: number;
  /** user -> password; written with mosquitto_passwd. */
  users?: Record<string, string>;
  /** Defaults to true without users, false with them. */
  allowAnonymous?: boolean;
  /** More mosquitto.conf lines (e.g. `max_queued_messages 10`). */
  extraConfig?: string[];
}

/** A real Mosquitto 2.0 broker (Debian), the central broker for bridge tests. */
export interface Mosquitto {
  readonly host: '127.0.0.1';
  readonly port: number;
  /** mqtt://127.0.0.1:PORT */
  readonly url: string;
  readonly pid: number;
  /** Its log so far (log_type all, to stderr). */
  readonly log: string;
  /** SIGTERM, wait, SIGKILL after a bound; removes the temp dir. Idempotent. */
  stop(): Promise<void>;
  /** SIGKILL: the broker dies (network outage). Idempotent. */
  kill(): Promise<void>;
}

export async function startMosquitto(opts: MosquittoOptions = {}): Promise<Mosquitto> {
  const dir = await mkdtemp(join(tmpdir(), 'mosquitto-'));
  try {
    // Probing for a free port can race with another process: retry on "address in use" unless the port was given.
    for (let attempt = 1; ; attempt++) {
      const port = opts.port ?? (await freePort());
      try {
        return await launch(dir, port, opts);
      } catch (error) {
        const inUse = error instanceof Error && /Address already in use/i.test(error.message);
        if (!inUse || opts.port !== undefined || attempt >= PORT_ATTEMPTS) throw error;
      }
    }
  } catch (error) {
    await rm(dir, { recursive: true, force: true });
    throw error;
  }
}

async function launch(dir: string, port: number, opts: MosquittoOptions): Promise<Mosquitto> {
  const users = Object.entries(opts.users ?? {});
  const lines = [
    `listener ${port} 127.0.0.1`,
    `allow_anonymous ${String(opts.allowAnonymous ?? users.length === 0)}`,
    'persistence false',
    'log_dest stderr',
    'log_type all',
    'log_timestamp_format %H:%M:%S',
  ];
  // As root, mosquitto 2 drops to user "mosquitto", which cannot read files in our 0700 temp dir.
  if (process.getuid?.() === 0) lines.push('user root');
  if (users.length > 0) {
    const passwordFile = join(dir, 'passwords');
    await writeFile(passwordFile, '', { mode: 0o600 });
    for (const [user, password] of users) {
      await promisify(execFile)('mosquitto_passwd', ['-b', passwordFile, user, password]);
    }
    lines.push(`password_file ${passwordFile}`);
  }
  lines.push(...(opts.extraConfig ?? []));
  const configFile = join(dir, 'mosquitto.conf');
  await writeFile(configFile, `${lines.join('\n')}\n`);

  const child = spawn(MOSQUITTO, ['-c', configFile], { stdio: ['ignore', 'pipe', 'pipe'] });
  let log = '';
  const append = (chunk: string): void => {
    log = (log + chunk).slice(-256 * 1024);
  };
  child.stdout.setEncoding('utf8').on('data', append);
  child.stderr.setEncoding('utf8');
  const exited = exitOf(child);

  // Logged after every listener is bound: an event to wait on instead of polling the port.
  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`mosquitto not ready within ${READY_TIMEOUT_MS} ms; log:\n${log}`));
    }, READY_TIMEOUT_MS);
    child.stderr.on('data', (chunk: string) => {
      append(chunk);
      if (/mosquitto version \S+ running/.test(log)) {
        clearTimeout(timer);
        resolve();
      }
    });
    child.once('error', (error) => {
      clearTimeout(timer);
      reject(new Error(`cannot start ${MOSQUITTO} (is the Debian package installed?): ${error.message}`));
    });
    void exited.then(() => {
      if (child.pid === undefined) return; // never started: the 'error' handler explains why
      clearTimeout(timer);
      // The last log chunk may still be in the pipe when 'exit' fires.
      const fail = (): void => reject(new Error(`mosquitto exited before it was ready; log:\n${log}`));
      if (child.stderr.closed) fail();
      else child.stderr.once('close', fail);
    });
  });

  let cleaned: Promise<void> | undefined;
  const terminate = async (signal: NodeJS.Signals): Promise<void> => {
    await stopChild(child, signal);
    await (cleaned ??= rm(dir, { recursive: true, force: true }));
  };
  return {
    host: '127.0.0.1',
    port,
    url: `mqtt://127.0.0.1:${port}`,
    pid: child.pid ?? 0,
    get log() {
      return log;
    },
    stop: () => terminate('SIGTERM'),
    kill: () => terminate('SIGKILL'),
  };
}
