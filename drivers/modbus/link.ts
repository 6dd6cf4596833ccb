import { Backoff } from '../../gateway/util/backoff.js';
import type { ErrorCode } from '../../gateway/util/error-code.js';
import type { Logger } from '../../gateway/util/log.js';
import { LogLimiter } from '../../gateway/util/log-limiter.js';
import { createModbusClient, releaseClient, type ModbusClient } from './client.js';
import type { ReadRequest } from './plan.js';

/** Why a transaction failed; the poller reacts differently to each. */
export type ModbusFailureKind =
  /** The device answered with a Modbus exception: it is alive, the request is wrong for it. */
  | 'exception'
  /** No answer within the timeout. */
  | 'timeout'
  /** An answer that is not a valid response to the request (bad CRC, wrong length, unit or function). */
  | 'malformed'
  /** The connection or port is down (refused, reset, closed). */
  | 'link';

/** The stable code a failure of each kind is logged and reported with. */
const failureCodes: Record<ModbusFailureKind, ErrorCode> = {
  exception: 'E_MODBUS_EXCEPTION',
  timeout: 'E_MODBUS_TIMEOUT',
  malformed: 'E_MODBUS_MALFORMED',
  link: 'E_LINK_DOWN',
};

export class ModbusFailure extends Error {
  readonly code: ErrorCode;

  constructor(
    readonly kind: ModbusFailureKind,
    message: string,
    readonly exceptionCode?: number,
  ) {
    super(message);
    this.name = 'ModbusFailure';
    this.code = failureCodes[kind];
  }
}

export type BlockData = { readonly registers: Buffer } | { readonly bits: readonly boolean[] };

/**
 * A write of consecutive coils or holding registers (the only writable tables): one value is sent with FC 5 (a
 * coil) or FC 6 (a register), several with FC 15 or FC 16, as devices that refuse a multi-register type written
 * register by register expect.
 */
export type WriteRequest = { readonly table: 'coil'; readonly start: number; readonly bits: readonly boolean[] } | { readonly table: 'holding'; readonly start: number; readonly registers: readonly number[] };

/** The transactions of one session: they run back to back, nothing else on the link between them. */
export interface LinkSession {
  read(request: ReadRequest): Promise<BlockData>;
  write(request: WriteRequest): Promise<void>;
}

/** Opens the underlying transport of a fresh client (TCP socket, serial port). */
export type LinkOpener = (client: ModbusClient, timeoutMs: number) => Promise<void>;

export interface LinkStats {
  transactions: number;
  timeouts: number;
  exceptions: number;
  /** Answers that were not valid responses (bad CRC, wrong length...). */
  malformed: number;
  linkErrors: number;
  /**
   * Errors the port or connection reported by itself, outside any answer: EIO on a write once an RS-485 adapter has
   * vanished, a port failing as it closes. The transaction under way fails as a link error and the port is reopened.
   */
  portErrors: number;
  /** Time spent in transactions and the silences between them: busy / elapsed is the bus utilisation. */
  busyMs: number;
}

export interface LinkOptions {
  /** Silence kept after each transaction before the next (RTU's 3.5 character times). */
  readonly turnaroundMs?: number;
  /** Cap of the growing pause between attempts to reopen a transport that failed to open. */
  readonly reopenMaxMs?: number;
  readonly createClient?: () => ModbusClient;
}

/** Shortest pause after a failed open; the backoff's ceiling doubles from twice this up to reopenMaxMs. */
const REOPEN_INITIAL_MS = 500;
/** A port failing again and again (an adapter flapping) is logged once per this interval, with the count left out. */
const PORT_ERROR_LOG_MS = 60_000;

/**
 * One Modbus connection (a TCP socket or a serial bus) shared by the devices behind it. Transactions are queued
 * and run strictly one at a time, as RTU requires and as many TCP gateways expect. A broken connection is dropped
 * and reopened by the next transaction.
 */
export class ModbusLink {
  private client: ModbusClient | undefined;
  private opening: Promise<ModbusClient> | undefined;
  private tail: Promise<unknown> = Promise.resolve();
  private closed = false;
  /** After a failed open: no new attempt before this time, the last failure answers instead. */
  private reopenAt = 0;
  private readonly reopenBackoff: Backoff;
  private lastOpenError: ModbusFailure | undefined;
  /** The unit id of the transaction under way, for the log of a port error. */
  private unitInFlight: number | undefined;
  /** The last transport let go of, until it is closed: a serial port can only be opened again after that. */
  private released: Promise<void> = Promise.resolve();
  private readonly portErrorLog: LogLimiter;
  readonly stats: LinkStats = { transactions: 0, timeouts: 0, exceptions: 0, malformed: 0, linkErrors: 0, portErrors: 0, busyMs: 0 };

  constructor(
    readonly label: string,
    private readonly opener: LinkOpener,
    private readonly log: Logger,
    private readonly opts: LinkOptions = {},
  ) {
    this.portErrorLog = new LogLimiter(log, PORT_ERROR_LOG_MS);
    this.reopenBackoff = new Backoff({ initialMs: REOPEN_INITIAL_MS, maxMs: opts.reopenMaxMs ?? 30_000 });
  }

  /** Queues one read; it starts when every earlier transaction on this link has finished. */
  read(unitId: number, request: ReadRequest, timeoutMs: number): Promise<BlockData> {
    return this.session(unitId, timeoutMs, (session) => session.read(request));
  }

  /**
   * Queues a run of transactions to one unit (a write between its read before and its read back): it starts when every
   * earlier transaction has finished, and no other transaction of the link runs until `work` settles.
   */
  session<T>(unitId: number, timeoutMs: number, work: (session: LinkSession) => Promise<T>): Promise<T> {
    const run = this.tail.then(() =>
      work({
        read: (request) => this.timed(unitId, timeoutMs, (client) => readTable(client, request)),
        write: (request) => this.timed(unitId, timeoutMs, (client) => writeTable(client, request)),
      }),
    );
    this.tail = run.catch(() => undefined);
    return run;
  }

  private async timed<T>(unitId: number, timeoutMs: number, exchange: (client: ModbusClient) => Promise<T>): Promise<T> {
    const started = performance.now();
    try {
      return await this.transact(unitId, timeoutMs, exchange);
    } finally {
      // A slave needs the line quiet for a while after its answer before it can take the next frame.
      // Rounded up: Node truncates a fractional delay, which would cut 1.75 ms of required silence to 1 ms.
      if (this.opts.turnaroundMs && this.client) await new Promise((resolve) => setTimeout(resolve, Math.ceil(this.opts.turnaroundMs!)));
      this.stats.busyMs += performance.now() - started;
    }
  }

  async close(): Promise<void> {
    this.closed = true;
    await this.tail;
    this.drop();
    await this.released;
  }

  private async transact<T>(unitId: number, timeoutMs: number, exchange: (client: ModbusClient) => Promise<T>): Promise<T> {
    if (this.closed) throw new ModbusFailure('link', `${this.label}: link closed`);
    const client = await this.connect(timeoutMs);
    this.unitInFlight = unitId;
    client.setID(unitId);
    client.setTimeout(timeoutMs);
    this.stats.transactions++;
    try {
      return await exchange(client);
    } catch (error) {
      throw await this.classify(error);
    } finally {
      this.unitInFlight = undefined;
    }
  }

  private async connect(timeoutMs: number): Promise<ModbusClient> {
    if (this.client?.isOpen) return this.client;
    if (this.client) this.drop();
    // While a port or host is gone, every device behind it would try to reopen it: one attempt per pause is enough.
    if (this.lastOpenError && performance.now() < this.reopenAt) throw this.lastOpenError;
    this.opening ??= (async () => {
      const client = (this.opts.createClient ?? createModbusClient)();
      // modbus-serial re-emits its port's errors on the client; unheard, an 'error' event ends the process.
      client.on('error', (error) => this.onPortError(error));
      client.setTimeout(timeoutMs);
      await this.released;
      try {
        await this.opener(client, timeoutMs);
      } catch (error) {
        this.stats.linkErrors++;
        this.release(client);
        this.lastOpenError = new ModbusFailure('link', `${this.label}: ${describe(error)}`);
        this.reopenAt = performance.now() + this.reopenBackoff.next();
        throw this.lastOpenError;
      }
      this.reopenBackoff.reset();
      this.lastOpenError = undefined;
      this.client = client;
      return client;
    })().finally(() => {
      this.opening = undefined;
    });
    return this.opening;
  }

  private async classify(error: unknown): Promise<ModbusFailure> {
    const code = (error as { modbusCode?: number }).modbusCode;
    if (code === 10 || code === 11) {
      // A TCP-to-RTU gateway answering for a silent device behind it: the device is as good as timed out.
      this.stats.timeouts++;
      return new ModbusFailure('timeout', `no answer (Modbus exception ${code}, ${exceptionNames[code]})`, code);
    }
    if (typeof code === 'number') {
      this.stats.exceptions++;
      return new ModbusFailure('exception', `Modbus exception ${code} (${exceptionNames[code] ?? 'unknown'})`, code);
    }
    const message = (error as { message?: string }).message ?? '';
    if (/^(CRC error|Data length error|Unexpected data error)/.test(message)) {
      this.stats.malformed++;
      // The byte stream may be out of step now; a fresh connection resynchronises the framing.
      this.drop();
      return new ModbusFailure('malformed', `malformed response: ${message}`);
    }
    if ((error as { name?: string }).name === 'TransactionTimedOutError') {
      this.stats.timeouts++;
      // A silent device on a live connection is a timeout; a connection that died under us is a link failure.
      if (this.client?.isOpen) {
        // Part of an answer may have arrived (a device hanging mid-frame), or all of it may still come: either would
        // be read as the start of the next answer. A fresh connection starts from a clean stream.
        this.drop();
        return new ModbusFailure('timeout', 'no answer (timed out)');
      }
    }
    this.stats.linkErrors++;
    this.drop();
    return new ModbusFailure('link', `${this.label}: ${describe(error)}`);
  }

  /**
   * The port failed by itself (EIO on write when the adapter vanished). The port closes under it, so the transaction
   * under way fails (its timeout) and the next one opens the port again: here it is only counted and logged.
   */
  private onPortError(error: unknown): void {
    this.stats.portErrors++;
    this.portErrorLog.warn('port', 'port error', { link: this.label, unit_id: this.unitInFlight, error: describe(error), port_errors: this.stats.portErrors });
  }

  private drop(): void {
    const client = this.client;
    this.client = undefined;
    if (client) this.release(client);
  }

  private release(client: ModbusClient): void {
    // What a released port still reports ("Port is not open" as it closes after a disconnection) changes nothing.
    const releasing = releaseClient(client, (error) => this.log.debug('released port reported an error', { link: this.label, error: describe(error) }));
    this.released = Promise.all([this.released, releasing]).then(() => undefined);
  }
}

async function readTable(client: ModbusClient, request: ReadRequest): Promise<BlockData> {
  switch (request.table) {
    case 'holding':
      return { registers: (await client.readHoldingRegisters(request.start, request.count)).buffer };
    case 'input':
      return { registers: (await client.readInputRegisters(request.start, request.count)).buffer };
    case 'coil':
      return { bits: (await client.readCoils(request.start, request.count)).data };
    case 'discrete':
      return { bits: (await client.readDiscreteInputs(request.start, request.count)).data };
    default:
      throw new Error(`unknown table ${String(request.table satisfies never)}`);
  }
}

async function writeTable(client: ModbusClient, request: WriteRequest): Promise<void> {
  if (request.table === 'coil') {
    const [only, ...more] = request.bits;
    if (only !== undefined && more.length === 0) await client.writeCoil(request.start, only);
    else await client.writeCoils(request.start, [...request.bits]);
    return;
  }
  const [only, ...more] = request.registers;
  if (only !== undefined && more.length === 0) await client.writeRegister(request.start, only);
  else await client.writeRegisters(request.start, [...request.registers]);
}

function describe(error: unknown): string {
  const { code, message } = error as { code?: string; message?: string };
  if (code === 'ECONNREFUSED') return 'connection refused';
  if (code === 'ECONNRESET') return 'connection reset';
  if (code === 'EHOSTUNREACH') return 'host unreachable';
  if (code === 'ENOENT') return 'no such port';
  return message || code || String(error);
}

/** Exception codes of the Modbus application protocol, section 7. */
const exceptionNames: Record<number, string> = {
  1: 'illegal function',
  2: 'illegal data address',
  3: 'illegal data value',
  4: 'server device failure',
  5: 'acknowledge',
  6: 'server device busy',
  8: 'memory parity error',
  10: 'gateway path unavailable',
  11: 'gateway target device failed to respond',
};
