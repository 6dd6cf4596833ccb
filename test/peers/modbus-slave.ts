import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { stopChild } from './process.js';

/** Debian's interpreter: the python3 first on PATH is a separate build without python3-pymodbus. */
export const DEBIAN_PYTHON = '/usr/bin/python3';
const SCRIPT = fileURLToPath(new URL('./modbus_slave.py', import.meta.url));

export type RegisterTable = 'holding' | 'input';
export type BitTable = 'coil' | 'discrete';
export type SlaveTable = RegisterTable | BitTable;

/** Address (0-based, plain PDU addressing) -> value, or a run of consecutive values starting there. */
export type RegisterMap = Record<number, number | number[]>;
export type BitMap = Record<number, boolean | boolean[]>;

/** One unit id. Only the addresses listed exist; anything else answers exception 2 (illegal data address). */
export interface UnitSpec {
  holding?: RegisterMap;
  input?: RegisterMap;
  coil?: BitMap;
  discrete?: BitMap;
}

/** Unit ids not listed here never answer (the master times out). */
export interface SlaveSpec {
  units: Record<number, UnitSpec>;
}

/** One Modbus request the slave received, in arrival order. */
export interface SlaveRequest {
  unit: number;
  fc: number;
  /** 0 for function codes without an address (diagnostics, report slave id, ...). */
  address: number;
  /** Registers/bits read or written; 0 for function codes without an address. */
  count: number;
  /** Python's time.monotonic() in ms: only differences between entries mean anything. */
  t: number;
}

export interface ModbusSlave {
  /** The TCP port (0 for an RTU slave). */
  readonly port: number;
  readonly pid: number;
  /** Everything the python process wrote to stderr so far (pymodbus' own noise is muted). */
  readonly stderr: string;
  /** Requests answered (data or exception), one entry per Modbus request. */
  requests(): Promise<SlaveRequest[]>;
  /** Requests addressed to unit ids that are not in the spec (left unanswered). */
  ignored(): Promise<SlaveRequest[]>;
  /** Clears both request logs. */
  reset(): Promise<void>;
  /** Writes registers/bits; an unmapped address becomes mapped, an unknown unit id starts answering. */
  set(unit: number, table: SlaveTable, address: number, values: ReadonlyArray<number | boolean>): Promise<void>;
  /** The values the slave holds (a mapped range). */
  get(unit: number, table: SlaveTable, address: number, count: number): Promise<Array<number | boolean>>;
  /** Writes to these addresses are acknowledged and ignored from now on (a device keeping its own limit); [] thaws. */
  freeze(unit: number, table: SlaveTable, addresses: readonly number[]): Promise<void>;
  /** Every response waits this long from now on (a slow device); 0 turns it off. */
  delay(ms: number): Promise<void>;
  /** Every response misbehaves this way from now on; null makes the slave behave again. */
  misbehave(mode: Misbehaviour | null): Promise<void>;
  /** SIGTERM (and stdin EOF), wait for exit, SIGKILL if it takes too long. Idempotent. */
  stop(): Promise<void>;
  /** SIGKILL: the device dies without closing anything gracefully. Idempotent. */
  kill(): Promise<void>;
}

/**
 * partial: the first half of the frame, then nothing (a device hanging mid-frame). wrong_unit: a valid frame from the
 * next unit id. bad_crc: the last byte flipped (the CRC on RTU, the last data byte on TCP).
 */
export type Misbehaviour = 'partial' | 'wrong_unit' | 'bad_crc';

export interface StartModbusSlaveOptions {
  spec: SlaveSpec;
  /**
   * Listen on 127.0.0.1 (the default when rtu is not given); without a port the OS picks one (race-free,
   * unlike probing for a free port first).
   */
  tcp?: { port?: number };
  rtu?: { path: string; baud?: number };
  readyTimeoutMs?: number;
  /** Lets pymodbus log at DEBUG to stderr. */
  debug?: boolean;
}

interface ReplyLine {
  event?: string;
  port?: number;
  ok?: boolean;
  error?: string;
  requests?: SlaveRequest[];
  ignored?: SlaveRequest[];
  values?: Array<number | boolean>;
}

const STOP_GRACE_MS = 5_000;
const STDERR_LIMIT = 64 * 1024;

export async function startModbusSlave(opts: StartModbusSlaveOptions): Promise<ModbusSlave> {
  if (opts.tcp !== undefined && opts.rtu !== undefined) {
    throw new Error('startModbusSlave: give tcp or rtu, not both');
  }
  const tcp = opts.rtu === undefined ? (opts.tcp ?? {}) : undefined;
  const dir = await mkdtemp(join(tmpdir(), 'modbus-slave-'));
  const specFile = join(dir, 'spec.json');
  await writeFile(specFile, JSON.stringify(opts.spec));

  const args = [SCRIPT, '--spec', specFile];
  if (tcp !== undefined) args.push('--tcp', String(tcp.port ?? 0));
  if (opts.rtu !== undefined) args.push('--rtu', opts.rtu.path, '--baud', String(opts.rtu.baud ?? 9600));
  if (opts.debug === true) args.push('--debug');

  let child: ChildProcessWithoutNullStreams;
  try {
    child = spawn(DEBIAN_PYTHON, args, { stdio: ['pipe', 'pipe', 'pipe'] });
  } catch (error) {
    await rm(dir, { recursive: true, force: true });
    throw error;
  }

  let stderr = '';
  child.stderr.setEncoding('utf8');
  child.stderr.on('data', (chunk: string) => {
    stderr = (stderr + chunk).slice(-STDERR_LIMIT);
  });
  // A write after the child died must surface as a rejected command, not an unhandled 'error' event.
  child.stdin.on('error', () => undefined);

  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) => {
    child.once('exit', (code, signal) => resolve({ code, signal }));
  });
  let exitInfo: { code: number | null; signal: NodeJS.Signals | null } | undefined;
  const spawnError = new Promise<Error>((resolve) => child.once('error', resolve));

  // Replies come back in command order, so a FIFO of waiters is enough.
  const waiters: Array<{ resolve: (line: ReplyLine) => void; reject: (error: Error) => void }> = [];
  let onReady: ((line: ReplyLine) => void) | undefined;
  const lines = createInterface({ input: child.stdout });
  lines.on('line', (text) => {
    let line: ReplyLine;
    try {
      line = JSON.parse(text) as ReplyLine;
    } catch {
      stderr += `[modbus-slave: unparsable stdout line] ${text}\n`;
      return;
    }
    if (line.event === 'ready') {
      onReady?.(line);
      return;
    }
    waiters.shift()?.resolve(line);
  });

  const deathError = (): Error =>
    new Error(
      `modbus slave (pid ${child.pid ?? '?'}) exited (code ${exitInfo?.code ?? 'null'}, signal ${exitInfo?.signal ?? 'null'})` +
        (stderr ? `; stderr:\n${stderr}` : ' with no stderr output'),
    );
  void exited.then((info) => {
    exitInfo = info;
    for (const waiter of waiters.splice(0)) waiter.reject(deathError());
  });

  let cleaned: Promise<void> | undefined;
  const cleanup = (): Promise<void> => (cleaned ??= rm(dir, { recursive: true, force: true }));

  const terminate = async (signal: NodeJS.Signals): Promise<void> => {
    // stdin EOF is the script's second way out, in case the signal is lost.
    child.stdin.end();
    await stopChild(child, signal, STOP_GRACE_MS);
    await cleanup();
  };

  const readyTimeoutMs = opts.readyTimeoutMs ?? 20_000;
  let ready: ReplyLine;
  try {
    ready = await new Promise<ReplyLine>((resolve, reject) => {
      const timer = setTimeout(
        () => reject(new Error(`modbus slave not ready within ${readyTimeoutMs} ms; stderr:\n${stderr}`)),
        readyTimeoutMs,
      );
      onReady = (line) => {
        clearTimeout(timer);
        resolve(line);
      };
      void exited.then(() => {
        clearTimeout(timer);
        // Let the last stderr chunk arrive: 'exit' can fire before the pipe drains.
        child.stderr.once('close', () => reject(deathError()));
        if (child.stderr.closed) reject(deathError());
      });
      void spawnError.then((error) => {
        clearTimeout(timer);
        reject(new Error(`cannot start ${DEBIAN_PYTHON} (is python3-pymodbus installed?): ${error.message}`));
      });
    });
  } catch (error) {
    await terminate('SIGKILL');
    throw error;
  }

  const command = async (cmd: Record<string, unknown>): Promise<ReplyLine> => {
    if (exitInfo !== undefined) throw deathError();
    const reply = new Promise<ReplyLine>((resolve, reject) => waiters.push({ resolve, reject }));
    child.stdin.write(`${JSON.stringify(cmd)}\n`);
    const line = await reply;
    if (line.ok === false) throw new Error(`modbus slave rejected ${JSON.stringify(cmd)}: ${line.error ?? '?'}`);
    return line;
  };

  return {
    port: tcp !== undefined ? (ready.port ?? 0) : 0,
    pid: child.pid ?? 0,
    get stderr() {
      return stderr;
    },
    async requests() {
      return (await command({ cmd: 'requests' })).requests ?? [];
    },
    async ignored() {
      return (await command({ cmd: 'requests' })).ignored ?? [];
    },
    async reset() {
      await command({ cmd: 'reset' });
    },
    async set(unit, table, address, values) {
      await command({ cmd: 'set', unit, table, address, values: [...values] });
    },
    async get(unit, table, address, count) {
      return (await command({ cmd: 'get', unit, table, address, count })).values ?? [];
    },
    async freeze(unit, table, addresses) {
      await command({ cmd: 'freeze', unit, table, addresses: [...addresses] });
    },
    async delay(ms) {
      await command({ cmd: 'delay', ms });
    },
    async misbehave(mode) {
      await command({ cmd: 'misbehave', mode });
    },
    stop: () => terminate('SIGTERM'),
    kill: () => terminate('SIGKILL'),
  };
}
