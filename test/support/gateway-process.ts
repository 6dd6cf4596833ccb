import { spawn, type ChildProcess } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { waitFor } from '../peers/net.js';
import { exitOf, stopChild } from '../peers/process.js';

/** The gateway as its own process (`node --import tsx gateway/main.ts --config FILE`), as an operator runs it. */
export interface GatewayProcess {
  readonly child: ChildProcess;
  /** stdout and stderr so far. */
  output(): string;
  /** The exit code (null when killed by a signal). */
  readonly exited: Promise<number | null>;
  /** SIGKILL: the process dies mid-flight, as in a power cut; resolves once it is gone. */
  kill9(): Promise<void>;
  /** SIGKILL if still running; for test teardown. */
  cleanup(): Promise<void>;
}

/**
 * Starts the gateway on `configFile` and resolves once it logs "gateway running"; `env` adds to the test's environment.
 * A file without an `http:` section gets one on a free port, so gateways of tests running side by side never race
 * for the default 8080.
 */
export async function spawnGateway(configFile: string, opts: { env?: NodeJS.ProcessEnv } = {}): Promise<GatewayProcess> {
  const yaml = readFileSync(configFile, 'utf8');
  if (!/^http:/m.test(yaml)) writeFileSync(configFile, `${yaml}\nhttp:\n  listen: { port: 0 }\n`);
  const child = spawn(process.execPath, ['--import', 'tsx', 'gateway/main.ts', '--config', configFile], {
    stdio: ['ignore', 'pipe', 'pipe'],
    env: { ...process.env, ...opts.env },
  });
  let output = '';
  child.stdout!.on('data', (d: Buffer) => (output += d.toString()));
  child.stderr!.on('data', (d: Buffer) => (output += d.toString()));
  const exited = exitOf(child).then((info) => info.code);
  const gateway: GatewayProcess = {
    child,
    output: () => output,
    exited,
    async kill9() {
      child.kill('SIGKILL');
      await exited;
    },
    cleanup: () => stopChild(child, 'SIGKILL'),
  };
  try {
    await waitFor(() => (output.includes('gateway running') ? true : child.exitCode !== null ? Promise.reject(new Error(`the gateway exited:\n${output}`)) : undefined), {
      what: '"gateway running" in the log',
      timeoutMs: 30_000,
    });
  } catch (error) {
    await gateway.cleanup();
    throw new Error(`${(error as Error).message}\n${output}`, { cause: error });
  }
  return gateway;
}
