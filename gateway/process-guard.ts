import type { Logger } from './util/log.js';

/** Exit code when the gateway stopped itself after an uncaught exception (sysexits' EX_SOFTWARE): the supervisor restarts it. */
export const EXIT_UNCAUGHT = 70;

export interface ProcessFaults {
  readonly uncaughtExceptions: number;
  readonly unhandledRejections: number;
}

export interface ProcessGuardOptions {
  log: Logger;
  /** Stops the gateway as cleanly as it still can (flush the buffer, announce devices offline). */
  stop: () => Promise<void>;
  /** How long that stop may take before the process exits anyway. */
  stopTimeoutMs?: number;
  exit?: (code: number) => void;
}

/**
 * What an unexpected exception does, decided once for the whole process:
 * - an unhandled promise rejection is a task that failed with nobody waiting for it: the task is over, the rest of the
 *   gateway is intact (every loop catches its own errors), so it is logged with its stack and counted, and the
 *   process carries on;
 * - an uncaught exception unwound a stack half-way through some operation: state is unknown, so the gateway stops as
 *   cleanly as it can within a bound and exits non-zero for the supervisor (systemd) to start it afresh. Readings
 *   accepted so far are in the durable buffer and survive that.
 */
export function installProcessGuard(opts: ProcessGuardOptions): { faults(): ProcessFaults; uninstall(): void } {
  const { log } = opts;
  const exit = opts.exit ?? ((code: number) => process.exit(code));
  let uncaughtExceptions = 0;
  let unhandledRejections = 0;
  let stopping = false;

  const onRejection = (reason: unknown): void => {
    unhandledRejections++;
    log.error('unhandled promise rejection; the task that failed is abandoned, the gateway carries on', {
      error: describe(reason),
      code: 'E_UNEXPECTED',
      stack: reason instanceof Error ? reason.stack : undefined,
      unhandled_rejections: unhandledRejections,
    });
  };

  const onException = (error: unknown): void => {
    uncaughtExceptions++;
    log.error('uncaught exception: state is unknown, stopping for the supervisor to restart the gateway', {
      error: describe(error),
      code: 'E_UNEXPECTED',
      stack: error instanceof Error ? error.stack : undefined,
      uncaught_exceptions: uncaughtExceptions,
    });
    // A second exception while stopping must not start a second stop; the bound below ends the process anyway.
    if (stopping) return;
    stopping = true;
    const bound = setTimeout(() => {
      log.error('stop after an uncaught exception timed out; exiting', { timeout_ms: opts.stopTimeoutMs ?? 10_000 });
      exit(EXIT_UNCAUGHT);
    }, opts.stopTimeoutMs ?? 10_000);
    bound.unref();
    opts.stop().then(
      () => exit(EXIT_UNCAUGHT),
      (stopError: unknown) => {
        log.error('stop after an uncaught exception failed', { error: describe(stopError) });
        exit(EXIT_UNCAUGHT);
      },
    );
  };

  process.on('unhandledRejection', onRejection);
  process.on('uncaughtException', onException);
  return {
    faults: () => ({ uncaughtExceptions, unhandledRejections }),
    uninstall() {
      process.off('unhandledRejection', onRejection);
      process.off('uncaughtException', onException);
    },
  };
}

function describe(value: unknown): string {
  if (value instanceof Error) return `${value.name}: ${value.message}`;
  return typeof value === 'string' ? value : JSON.stringify(value) ?? String(value);
}
