import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { rm } from 'node:fs/promises';
import { join } from 'node:path';
import { exitOf, stopChild } from './process.js';

export interface PtyPair {
  /** Link to the end the gateway opens. */
  gatewayPath: string;
  /** Link to the end the simulated device opens. */
  devicePath: string;
  /** SIGTERM; socat removes both links itself. Idempotent. */
  stop(): Promise<void>;
  /** SIGKILL (the adapter is yanked): the ptys vanish and we remove the links socat leaves dangling. Idempotent. */
  kill(): Promise<void>;
}

const READY_TIMEOUT_MS = 15_000;
const STOP_GRACE_MS = 5_000;

/**
 * A connected pair of pseudo-terminals (`socat pty pty`), linked as DIR/ttyGW and DIR/ttyDEV. Calling it again
 * with the same dir after stop()/kill() "replugs" the device (the links then point at new ptys).
 */
export async function startPtyPair(dir: string): Promise<PtyPair> {
  const gatewayPath = join(dir, 'ttyGW');
  const devicePath = join(dir, 'ttyDEV');
  const child = spawn('socat', [
    '-d',
    '-d',
    `pty,raw,echo=0,link=${gatewayPath}`,
    `pty,raw,echo=0,link=${devicePath}`,
  ]);
  child.stdout.resume();

  let stderr = '';
  const exited = exitOf(child);

  // socat -d -d logs this after both ptys and their links exist: an event to wait on instead of polling.
  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`socat not ready within ${READY_TIMEOUT_MS} ms; stderr:\n${stderr}`));
    }, READY_TIMEOUT_MS);
    child.stderr.setEncoding('utf8');
    child.stderr.on('data', (chunk: string) => {
      stderr = (stderr + chunk).slice(-16_384);
      if (stderr.includes('starting data transfer loop')) {
        clearTimeout(timer);
        resolve();
      }
    });
    child.once('error', (error) => {
      clearTimeout(timer);
      reject(new Error(`cannot start socat (is the Debian package installed?): ${error.message}`));
    });
    void exited.then(() => {
      if (child.pid === undefined) return; // never started: the 'error' handler explains why
      clearTimeout(timer);
      reject(new Error(`socat exited before it was ready; stderr:\n${stderr}`));
    });
  });
  if (!existsSync(gatewayPath) || !existsSync(devicePath)) {
    child.kill('SIGKILL');
    throw new Error(`socat is running but ${gatewayPath} / ${devicePath} are missing; stderr:\n${stderr}`);
  }

  const terminate = async (signal: NodeJS.Signals): Promise<void> => {
    await stopChild(child, signal, STOP_GRACE_MS);
    // pts numbers are reused: a dangling link could later point at somebody else's pty.
    await Promise.all([rm(gatewayPath, { force: true }), rm(devicePath, { force: true })]);
  };

  return {
    gatewayPath,
    devicePath,
    stop: () => terminate('SIGTERM'),
    kill: () => terminate('SIGKILL'),
  };
}
