/** One probe run: arguments in, a table (or JSON) on stdout, progress and errors on stderr, an exit code out. */
import { tableNouns } from '../../drivers/modbus/addressing.js';
import { ModbusFailure, type ModbusLink } from '../../drivers/modbus/link.js';
import { parseProbeArgs, USAGE, type ProbeOptions } from './args.js';
import { openTarget } from './connect.js';
import { EXIT, exitCodeOf, UsageError, type ExitCode } from './exit-codes.js';
import { interpretBits, interpretRegisters } from './interpret.js';
import { loadProfile } from './load-profile.js';
import { readProfile } from './profile-read.js';
import { renderBits, renderJson, renderProfile, renderRegisters, renderScan } from './render.js';
import { scanUnits } from './scan.js';

export interface ProbeIo {
  readonly stdout: { write(text: string): unknown };
  readonly stderr: { write(text: string): unknown; readonly isTTY?: boolean };
}

export async function runProbe(argv: readonly string[], io: ProbeIo): Promise<ExitCode> {
  let options: ProbeOptions | 'help';
  try {
    options = parseProbeArgs(argv);
  } catch (error) {
    if (!(error instanceof UsageError)) throw error;
    io.stderr.write(`probe: ${error.message}\n\n${USAGE}`);
    return EXIT.usage;
  }
  if (options === 'help') {
    io.stdout.write(USAGE);
    return EXIT.ok;
  }
  let link: ModbusLink | undefined;
  try {
    // A broken profile is reported before anything is opened.
    const points = options.mode.kind === 'profile' ? loadProfile(options.mode.profile, options.mode.profilesDir) : [];
    link = openTarget(options.target);
    return await probe(link, options, points, io);
  } catch (error) {
    io.stderr.write(`probe: ${describeFailure(error, options)}\n`);
    if (error instanceof UsageError) return EXIT.usage;
    return error instanceof ModbusFailure ? exitCodeOf(error.kind) : EXIT.internal;
  } finally {
    await link?.close();
  }
}

async function probe(link: ModbusLink, options: ProbeOptions, points: ReturnType<typeof loadProfile>, io: ProbeIo): Promise<ExitCode> {
  const { target, unit, table, address, timeoutMs, mode } = options;
  const header = `${target.label} unit ${unit}`;
  const print = (text: string, json: unknown): void => {
    io.stdout.write(options.json ? renderJson(json) : text);
  };
  switch (mode.kind) {
    case 'read': {
      const data = await link.read(unit, { table, start: address, count: mode.count, points: [] }, timeoutMs);
      const json = { target: target.label, unit, table, start: address, count: mode.count };
      if ('bits' in data) {
        const rows = interpretBits(table, address, data.bits.slice(0, mode.count));
        print(renderBits(header, table, rows), { ...json, bits: rows });
      } else {
        const rows = interpretRegisters(table, address, data.registers);
        print(renderRegisters(header, table, rows), { ...json, registers: rows });
      }
      return EXIT.ok;
    }
    case 'profile': {
      const rows = await readProfile(link, unit, points, timeoutMs);
      print(renderProfile(header, mode.profile, rows), { target: target.label, unit, profile: mode.profile, points: rows });
      return rows.some((row) => row.error !== undefined) ? EXIT.exception : EXIT.ok;
    }
    case 'scan': {
      const scan = await scanUnits(link, {
        units: mode.units,
        range: mode.range,
        table,
        address,
        timeoutMs,
        // On a terminal one line counts up in place; in a log only the units found get a line each.
        progress: (tried, current, found) => {
          if (io.stderr.isTTY) io.stderr.write(`\rscanning unit ${current} (${tried} of ${mode.units.length} tried, ${found} found)  ${tried === mode.units.length ? '\n' : ''}`);
        },
        onFound: (found) => {
          if (!io.stderr.isTTY) io.stderr.write(`unit ${found.unit}: ${found.detail}\n`);
        },
      });
      print(renderScan(target.label, scan), { target: target.label, ...scan });
      return scan.units.some((found) => found.answer !== 'malformed') ? EXIT.ok : EXIT.timeout;
    }
  }
}

/** The failure in an installer's words, with the likely fix where there is one. */
function describeFailure(error: unknown, options: ProbeOptions): string {
  if (!(error instanceof ModbusFailure)) return error instanceof Error ? error.message : String(error);
  const where = `${options.target.label} unit ${options.unit}`;
  switch (error.kind) {
    case 'exception': {
      const hint = error.exceptionCode === 2 ? ` (the device has no such ${tableNouns[options.table]}: try another --address or --table, fewer --count, or a 4x0001-style reference if the manual counts from 1)` : '';
      return `${where}: ${error.message}${hint}`;
    }
    case 'timeout':
      return `${where}: ${error.message} within ${options.timeoutMs} ms (check the unit id, the wiring, and the baud rate and parity)`;
    case 'malformed':
      return `${where}: ${error.message} (on a serial bus: check the baud rate and parity)`;
    case 'link':
      return `cannot reach ${error.message}`;
  }
}
