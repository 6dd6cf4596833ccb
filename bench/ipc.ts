/**
 * Request and reply between a bench and the helper processes it forks (load generators, counting subscribers), over
 * Node's IPC channel: the helpers run in processes of their own so their CPU is not the measured system's.
 */
import { fork, type ChildProcess } from 'node:child_process';

type Reply<T> = { ok: T } | { failed: string };

/** Forks a bench helper written in TypeScript (its own entry file), with tsx and none of the bench's node flags. */
export function forkHelper(entry: string): ChildProcess {
  const child = fork(entry, { execArgv: ['--import', 'tsx'], stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
  // A failed spawn or kill; a failed send is reported to the ask that made it.
  child.on('error', (error) => console.error(`bench helper ${entry}: ${error.message}`));
  return child;
}

/** Sends one command and resolves with the helper's answer; rejects if it failed or exited first. */
export function ask<T>(child: ChildProcess, command: unknown): Promise<T> {
  return new Promise((resolve, reject) => {
    // Gone already (e.g. it got the terminal's Ctrl-C before the bench's cleanup asked it to stop).
    if (!child.connected) return reject(new Error(`bench helper is gone: cannot send ${JSON.stringify(command).slice(0, 80)}`));
    const onReply = (reply: Reply<T>): void => {
      done();
      if ('failed' in reply) reject(new Error(reply.failed));
      else resolve(reply.ok);
    };
    const onExit = (code: number | null): void => {
      done();
      reject(new Error(`bench helper exited (code ${code}) while handling ${JSON.stringify(command).slice(0, 80)}`));
    };
    const done = (): void => {
      child.off('message', onReply);
      child.off('exit', onExit);
    };
    child.on('message', onReply);
    child.on('exit', onExit);
    child.send(command as object, (error) => {
      if (!error) return;
      done();
      reject(error);
    });
  });
}

/** The helper's side: answers each command with what `handle` returns, or why it failed; one command at a time. */
export function serve<C>(handle: (command: C) => Promise<unknown>): void {
  let queue = Promise.resolve();
  process.on('message', (command: C) => {
    queue = queue.then(() =>
      handle(command).then(
        (ok) => void process.send?.({ ok }),
        (error: unknown) => void process.send?.({ failed: error instanceof Error ? error.message : String(error) }),
      ),
    );
  });
  // The bench went away: do not linger with open connections.
  process.on('disconnect', () => process.exit(0));
}
