/**
 * The probe's exit codes, one per kind of outcome, so a script (or an installer's checklist) can tell them apart.
 * Documented in README.md; tested in test/integration/probe-cli.test.ts.
 */
import type { ModbusFailureKind } from '../../drivers/modbus/link.js';

export const EXIT = {
  ok: 0,
  /** A bug or an unexpected error: the message says what. */
  internal: 1,
  /** Bad arguments, a bad target URL, an unknown or broken profile. */
  usage: 2,
  /** The device did not answer within the timeout (or a TCP gateway said it could not reach it); a scan found no unit. */
  timeout: 3,
  /** The connection or serial port could not be opened, or broke: refused, no such port, unreachable. */
  link: 4,
  /** The device answered with a Modbus exception (named in the message: illegal data address...). */
  exception: 5,
  /** An answer that is no valid response: bad CRC, wrong length. Often a wrong baud rate or parity. */
  malformed: 6,
} as const;

export type ExitCode = (typeof EXIT)[keyof typeof EXIT];

export function exitCodeOf(kind: ModbusFailureKind): ExitCode {
  return EXIT[kind];
}

/** A problem with what the user asked for: printed with the usage hint, exit code 2. */
export class UsageError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'UsageError';
  }
}
