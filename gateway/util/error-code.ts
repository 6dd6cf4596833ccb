/**
 * Stable error codes for the faults the gateway expects (a device down, a disk full, a bad config): the `code` field
 * of a log line, for alerting rules in Loki or journald that must not break when a message is reworded. A code is
 * derived from the error itself (its errno, a Modbus failure, a config error), so call sites need not name one.
 * An Error the gateway does not expect gets E_UNEXPECTED and is logged with its stack: that one is a bug.
 */

/** Every code, with what it means to the operator (docs/config-reference.md lists them). */
export const errorCodes = {
  E_CONFIG: 'the configuration was refused (at start or on reload)',
  E_LINK_DOWN: 'a connection or port is down: refused, reset, unreachable, or a serial adapter gone',
  E_TIMEOUT: 'a peer did not answer in time (InfluxDB, a mail relay, a webhook)',
  E_MODBUS_TIMEOUT: 'a Modbus device did not answer within its timeout',
  E_MODBUS_EXCEPTION: 'a Modbus device answered with an exception (the request is wrong for it)',
  E_MODBUS_MALFORMED: 'a Modbus answer was not a valid response (bad CRC, wrong length, unit or function)',
  E_DEVICE_SILENT: 'a device sent no valid reading for longer than it may',
  E_DISK_FULL: 'the disk (data_dir) is full',
  E_ACCESS: 'permission denied or a read-only file system (check the user, its groups, and ReadWritePaths)',
  E_NOT_FOUND: 'a file or serial port does not exist',
  E_LISTEN: 'cannot listen on an address: the port is taken or the address is not on this host',
  E_AUTH: 'a peer refused the credentials',
  E_SYSTEM: 'another operating-system error (its errno is in the line)',
  E_UNEXPECTED: 'an error the gateway does not expect (a bug): logged with its stack',
} as const;

export type ErrorCode = keyof typeof errorCodes;

/** Operating-system and library error codes (`err.code`) by the stable code they mean. */
const byErrno: Readonly<Record<string, ErrorCode>> = {
  ECONNREFUSED: 'E_LINK_DOWN',
  ECONNRESET: 'E_LINK_DOWN',
  ECONNABORTED: 'E_LINK_DOWN',
  EHOSTUNREACH: 'E_LINK_DOWN',
  EHOSTDOWN: 'E_LINK_DOWN',
  ENETUNREACH: 'E_LINK_DOWN',
  ENETDOWN: 'E_LINK_DOWN',
  ENOTCONN: 'E_LINK_DOWN',
  EPIPE: 'E_LINK_DOWN',
  EIO: 'E_LINK_DOWN',
  ENXIO: 'E_LINK_DOWN',
  ENOTFOUND: 'E_LINK_DOWN',
  EAI_AGAIN: 'E_LINK_DOWN',
  // nodemailer's own codes for a relay it cannot reach or talk to.
  ECONNECTION: 'E_LINK_DOWN',
  ESOCKET: 'E_LINK_DOWN',
  EDNS: 'E_LINK_DOWN',
  EAUTH: 'E_AUTH',
  ETIMEDOUT: 'E_TIMEOUT',
  ESOCKETTIMEDOUT: 'E_TIMEOUT',
  ENOSPC: 'E_DISK_FULL',
  EDQUOT: 'E_DISK_FULL',
  EACCES: 'E_ACCESS',
  EPERM: 'E_ACCESS',
  EROFS: 'E_ACCESS',
  ENOENT: 'E_NOT_FOUND',
  EADDRINUSE: 'E_LISTEN',
  EADDRNOTAVAIL: 'E_LISTEN',
};

function isErrorCode(code: unknown): code is ErrorCode {
  return typeof code === 'string' && Object.hasOwn(errorCodes, code);
}

/**
 * The stable code of an error value as it is logged: an Error or error-like object (its own code, errno, Modbus
 * exception, ConfigError), or a message (Node writes the errno into it: "connect ECONNREFUSED 127.0.0.1:502").
 * Undefined when a message names no known errno: a plain reason is not a fault of its own.
 */
export function errorCode(error: unknown): ErrorCode | undefined {
  if (typeof error === 'string') return codeInMessage(error);
  if (typeof error !== 'object' || error === null) return undefined;
  const { code, errno, name, modbusCode, message } = error as { code?: unknown; errno?: unknown; name?: unknown; modbusCode?: unknown; message?: unknown };
  if (isErrorCode(code)) return code;
  for (const raw of [code, errno]) {
    if (typeof raw === 'string' && byErrno[raw]) return byErrno[raw];
  }
  if (name === 'ConfigError') return 'E_CONFIG';
  // modbus-serial's own errors, when they reach a log unwrapped.
  if (name === 'TransactionTimedOutError') return 'E_MODBUS_TIMEOUT';
  if (name === 'PortNotOpenError') return 'E_LINK_DOWN';
  if (typeof modbusCode === 'number') return 'E_MODBUS_EXCEPTION';
  if (typeof code === 'string' && /^E[A-Z0-9_]+$/.test(code)) return 'E_SYSTEM';
  const fromMessage = typeof message === 'string' ? codeInMessage(message) : undefined;
  if (fromMessage) return fromMessage;
  return error instanceof Error ? 'E_UNEXPECTED' : undefined;
}

/** The C library's texts of the errnos above, as native bindings (serialport) write them without the errno. */
const byStrerror: readonly (readonly [RegExp, ErrorCode])[] = [
  [/no such file or directory/i, 'E_NOT_FOUND'],
  [/permission denied|operation not permitted|read-only file system/i, 'E_ACCESS'],
  [/no space left on device|disk quota exceeded/i, 'E_DISK_FULL'],
  [/input\/output error|no such device/i, 'E_LINK_DOWN'],
];

/** Only known errnos count in free text: a word like EOF in a device's message is not an error code. */
function codeInMessage(message: string): ErrorCode | undefined {
  for (const [token] of message.matchAll(/\bE[A-Z_]{2,}\b/g)) {
    if (isErrorCode(token)) return token;
    const code = byErrno[token];
    if (code) return code;
  }
  return byStrerror.find(([text]) => text.test(message))?.[1];
}
