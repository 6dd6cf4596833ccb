/**
 * The register probe (tools/probe) as an installer runs it, against real pymodbus slaves over TCP and over RTU on a
 * socat pty pair: its output for a known register map is compared with golden files (no timestamps; the port and
 * the pty path are put back as PORT and TTY), `--scan` must find exactly the unit ids configured, and every failure
 * has its exit code and a message that names it. `UPDATE_GOLDEN=1` rewrites test/fixtures/probe.
 */
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startModbusSlave, type ModbusSlave, type SlaveSpec } from '../peers/modbus-slave.js';
import { freePort } from '../peers/net.js';
import { startPtyPair, type PtyPair } from '../peers/socat.js';
import { runCli, type CliResult } from '../support/cli.js';

const PROBE = 'tools/probe/main.ts';
const GOLDEN = join('test', 'fixtures', 'probe');

/**
 * Holding 0..1: float32 12.5 (ABCD); 2..3: float32 1000 word-swapped (CDAB); 4: -16384 as int16; 8: 0xffff;
 * 9: "09" as text. Input 0..1: 230.1 V (ABCD). Coils 0..2: on, off, on. Unit 3 exists but has only holding 5, so a
 * read of 0 answers exception 2: it still counts as present in a scan. Unit 7 answers nothing.
 */
const spec: SlaveSpec = {
  units: {
    1: {
      holding: { 0: [0x4148, 0x0000, 0x0000, 0x447a, 0xc000, 0, 0, 0, 0xffff, 0x3039] },
      input: { 0: [0x4366, 0x199a] },
      coil: { 0: [true, false, true] },
    },
    3: { holding: { 5: 7 } },
  },
};

/** A profile as a manual writes it: 1-based numbers and references, one point the device lacks. */
const PROFILE = `description: lab meter, written from a manual that counts from 1
domain: energy
address_base: 1
points:
  - { name: voltage, address: "30001", type: float32, unit: V }
  - { name: missing, table: input, address: 20 }
  - { name: setpoint, address: 3, type: float32, order: CDAB, unit: bar }
  - { name: level, address: 9, type: int16, scale: 0.1, unit: "%" }
  - { name: pump_on, address: "00001" }
`;

function expectGolden(name: string, actual: string): void {
  const file = join(GOLDEN, name);
  if (process.env.UPDATE_GOLDEN || !existsSync(file)) writeFileSync(file, actual);
  expect(actual).toBe(readFileSync(file, 'utf8'));
}

describe('probe over Modbus TCP against pymodbus', () => {
  let slave: ModbusSlave;
  let dir: string;
  const probe = (...args: string[]): Promise<CliResult> => runCli(PROBE, [`tcp://127.0.0.1:${slave.port}`, ...args]);
  const stable = (text: string): string => text.replaceAll(`127.0.0.1:${slave.port}`, '127.0.0.1:PORT').replaceAll(dir, 'DIR');

  beforeAll(async () => {
    slave = await startModbusSlave({ spec });
    dir = mkdtempSync(join(tmpdir(), 'probe-test-'));
    writeFileSync(join(dir, 'lab-meter.yaml'), PROFILE);
  });

  afterAll(async () => {
    await slave?.stop();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it('prints each register as every type in every byte order, with its 1-based number and reference', async () => {
    const result = await probe('--unit', '1', '--table', 'holding', '--address', '0', '--count', '10');
    expect(result.stderr).toBe('');
    expect(result.code).toBe(0);
    expectGolden('tcp-holding.txt', stable(result.stdout));
  });

  it('prints the same as JSON for machines, NaN spelled out', async () => {
    const result = await probe('--count', '6', '--json');
    expect(result.code).toBe(0);
    const json = JSON.parse(result.stdout) as { registers: { reference: string; float32?: Record<string, unknown> }[] };
    expect(json.registers[0]).toMatchObject({ reference: '40001', float32: { ABCD: 12.5 } });
    expect(json.registers[2]).toMatchObject({ reference: '40003', float32: { CDAB: 1000 } });
    expectGolden('tcp-holding.json', stable(result.stdout));
  });

  it('reads a range given as a reference with an x, and coils with 0xxxx hints', async () => {
    const input = await probe('--address', '3x0001', '--count', '2');
    expect(input.code).toBe(0);
    expect(input.stdout).toMatch(/^ {6}0 {8}1 {2}30001 {6}4366/m);
    expect(input.stdout).toMatch(/^ +float32 +230\.1 /m);
    const coils = await probe('--table', 'coil', '--count', '3');
    expect(coils.code).toBe(0);
    expectGolden('tcp-coils.txt', stable(coils.stdout));
  });

  it('reads a profile written 1-based, with units, each value beside its other byte orders, and names the point it cannot read', async () => {
    const result = await probe('--profile', join(dir, 'lab-meter.yaml'));
    // One point the device lacks: the others are shown, and the exit code says an exception happened.
    expect(result.code).toBe(5);
    expectGolden('tcp-profile.txt', stable(result.stdout));
  });

  it('finds exactly the unit ids that answer, exception or not', async () => {
    const result = await probe('--scan', '--units', '1-10', '--timeout', '150ms');
    expect(result.code).toBe(0);
    expectGolden('tcp-scan.txt', stable(result.stdout));
    const json = JSON.parse((await probe('--scan', '--units', '1-10', '--timeout', '150ms', '--json')).stdout) as { units: { unit: number }[] };
    expect(json.units.map((u) => u.unit)).toEqual([1, 3]);
  });

  it('names a Modbus exception and exits 5', async () => {
    const result = await probe('--address', '50', '--count', '2');
    expect(result.code).toBe(5);
    expect(result.stdout).toBe('');
    expect(result.stderr).toContain(`tcp://127.0.0.1:${slave.port} unit 1: Modbus exception 2 (illegal data address)`);
  });

  it('reports a silent unit as a timeout and exits 3; a scan that finds nobody too', async () => {
    const result = await probe('--unit', '7', '--timeout', '300ms');
    expect(result.code).toBe(3);
    expect(result.stderr).toContain('unit 7: no answer (timed out) within 300 ms');
    const scan = await probe('--scan', '--units', '7-9', '--timeout', '100ms');
    expect(scan.code).toBe(3);
    expect(scan.stdout).toContain('0 of 3 unit ids answer');
  });

  it('reports a refused connection and exits 4', async () => {
    const port = await freePort();
    const result = await runCli(PROBE, [`tcp://127.0.0.1:${port}`]);
    expect(result.code).toBe(4);
    expect(result.stderr).toContain(`cannot reach 127.0.0.1:${port}: connection refused`);
  });

  it('refuses a bad target or bad arguments before opening anything, exit 2', async () => {
    const cases: [string[], string][] = [
      [['http://10.0.0.1'], 'unknown scheme http://'],
      [['10.0.0.1:502'], 'has no scheme: write tcp://10.0.0.1:502'],
      [['/dev/ttyUSB0'], 'has no scheme: write tcp://HOST:PORT or rtu:///dev/ttyUSB0'],
      [['not a url://'], 'is not a URL'],
      [['tcp://'], 'names no host'],
      [['tcp://10.0.0.1:502/x'], 'a tcp:// target is only host and port'],
      [['rtu://'], 'names no serial port'],
      [['rtu://dev/ttyUSB0'], 'three slashes'],
      [['rtu:///dev/ttyUSB0?baud=fast'], 'baud: expected a whole number from 300 to 4000000, got "fast"'],
      [['rtu:///dev/ttyUSB0?parity=mark'], 'parity: "mark" is not allowed (allowed: none, even, odd)'],
      [['rtu:///dev/ttyUSB0?stop=3'], 'stop: expected 1 or 2, got 3'],
      [['rtu:///dev/ttyUSB0?speed=9600'], 'unknown setting "speed"'],
      [['tcp://10.0.0.1', '--table', 'register'], '--table register is not known'],
      [['tcp://10.0.0.1', '--address', '4x0001', '--table', 'input'], '--address 4x0001 is a 4xxxx reference (holding), but --table is input'],
      [['tcp://10.0.0.1', '--address', '40000x'], 'is not a register reference'],
      [['tcp://10.0.0.1', '--count', '126'], '--count 126: expected a whole number from 1 to 125'],
      [['tcp://10.0.0.1', '--address', '65535', '--count', '2'], 'runs past the last address'],
      [['rtu:///dev/ttyUSB0', '--unit', '0'], '--unit 0: expected a whole number from 1 to 247'],
      [[], 'no target given'],
    ];
    for (const [args, message] of cases) {
      const result = await runCli(PROBE, args);
      expect({ args, code: result.code }).toEqual({ args, code: 2 });
      expect(result.stderr, args.join(' ')).toContain(message);
      expect(result.stderr).toContain('Usage: npm run --silent probe');
    }
  });

  it('refuses a missing or broken profile with the profile loader\'s own message, exit 2', async () => {
    const missing = await runCli(PROBE, ['tcp://10.0.0.1', '--profile', 'no-such-profile']);
    expect(missing.code).toBe(2);
    expect(missing.stderr).toContain('--profile: no profile "no-such-profile" (looked for config/profiles/no-such-profile.yaml)');
    writeFileSync(join(dir, 'broken.yaml'), 'points:\n  - { name: v, table: input, address: "40001" }\n');
    const broken = await runCli(PROBE, ['tcp://10.0.0.1', '--profile', join(dir, 'broken.yaml')]);
    expect(broken.code).toBe(2);
    expect(broken.stderr).toContain('broken.yaml: points[0].address: "40001" is a holding register (4xxxx) but the point\'s table is input');
  });
});

describe('probe over Modbus RTU on a pty pair against pymodbus', () => {
  let dir: string;
  let pty: PtyPair;
  let slave: ModbusSlave;
  const target = (query = '?baud=9600&parity=none'): string => `rtu://${pty.gatewayPath}${query}`;

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'probe-rtu-'));
    pty = await startPtyPair(dir);
    slave = await startModbusSlave({ spec: { units: { 1: spec.units[1]!, 2: { input: { 0: [0x4366, 0x199a] } }, 5: { holding: { 5: 7 } } } }, rtu: { path: pty.devicePath } });
  });

  afterAll(async () => {
    await slave?.stop();
    await pty?.stop();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it('prints the same table as over TCP', async () => {
    const result = await runCli(PROBE, [target(), '--table', 'input', '--count', '2']);
    expect(result.stderr).toBe('');
    expect(result.code).toBe(0);
    expectGolden('rtu-input.txt', result.stdout.replaceAll(pty.gatewayPath, 'TTY'));
  });

  it('finds exactly the unit ids on the bus', async () => {
    const result = await runCli(PROBE, [target(), '--scan', '--units', '1-8', '--timeout', '150ms', '--json']);
    expect(result.code).toBe(0);
    expect((JSON.parse(result.stdout) as { units: { unit: number }[] }).units.map((u) => u.unit)).toEqual([1, 2, 5]);
    expect(result.stderr).toContain('unit 5: Modbus exception 2 (illegal data address)');
  });

  it('reports garbled answers (a wrong baud rate looks like this) as malformed, exit 6', async () => {
    await slave.misbehave('bad_crc');
    try {
      const result = await runCli(PROBE, [target(), '--timeout', '500ms']);
      expect(result.code).toBe(6);
      expect(result.stderr).toContain('unit 1: malformed response: CRC error');
      expect(result.stderr).toContain('check the baud rate and parity');
    } finally {
      await slave.misbehave(null);
    }
  });

  it('reports a port that does not exist, exit 4', async () => {
    const result = await runCli(PROBE, [`rtu://${join(dir, 'no-such-tty')}`]);
    expect(result.code).toBe(4);
    expect(result.stderr).toContain(`cannot reach rtu://${join(dir, 'no-such-tty')} 9600 8N1: `);
  });
});
