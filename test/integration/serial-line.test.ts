/**
 * The serial-line driver against real serial ports: socat pty pairs, the driver on one end, the test writing lines
 * on the other end as a device would. One device per parser; bad lines between good ones; lines split across writes
 * and lines far too long; a device that falls silent; the "adapter" pulled (socat killed) and plugged back.
 */
import { open, mkdtemp, rm, type FileHandle } from 'node:fs/promises';
import { constants } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { SerialPort } from 'serialport';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { serialLineDeviceSchema, type SerialLineDeviceConfig } from '../../drivers/serial-line/config.js';
import { SerialLineDriver } from '../../drivers/serial-line/serial-line-driver.js';
import type { DriverContext } from '../../drivers/driver.js';
import type { DeviceStatus, Reading } from '../../gateway/model.js';
import type { LogFields, Logger } from '../../gateway/util/log.js';
import { waitFor } from '../peers/net.js';
import { startPtyPair, type PtyPair } from '../peers/socat.js';

interface LogEntry {
  level: string;
  msg: string;
  fields: LogFields | undefined;
}

/** What the driver hands the gateway, kept in arrays for the test to look at. */
function collector() {
  const batches: Reading[][] = [];
  const statuses: DeviceStatus[] = [];
  const logs: LogEntry[] = [];
  const at = (level: string) => (msg: string, fields?: LogFields) => void logs.push({ level, msg, fields });
  const log: Logger = { debug: at('debug'), info: at('info'), warn: at('warn'), error: at('error'), child: () => log };
  const ctx: DriverContext = {
    log,
    emit: (readings) => void batches.push([...readings]),
    status: (status) => void statuses.push(status),
  };
  return { ctx, batches, statuses, logs };
}

/** The device's side of a pty pair: writes what a probe or meter would print. */
class DeviceEnd {
  private closed = false;

  private constructor(private readonly handle: FileHandle) {}

  static async open(path: string): Promise<DeviceEnd> {
    return new DeviceEnd(await open(path, constants.O_WRONLY | constants.O_NOCTTY));
  }

  /** One byte per character (latin1), so a test can send any byte, invalid UTF-8 included. */
  async write(text: string): Promise<void> {
    await this.handle.write(Buffer.from(text, 'latin1'));
  }

  /** Idempotent: a test that pulled the adapter has closed its end already. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await this.handle.close();
  }
}

/**
 * Resolves once no timer holds the process open: the driver's stale checks, retries and log windows must all be gone
 * after stop(). The bound is far shorter than any of them (a retry waits at least 450 ms), and allows for a timer of
 * the test runner's that comes and goes (seen here: one, before a test's first await).
 */
async function noTimersLeft(): Promise<void> {
  const timers = () => process.getActiveResourcesInfo().filter((resource) => resource === 'Timeout').length;
  await waitFor(() => (timers() === 0 ? true : undefined), { timeoutMs: 250, intervalMs: 10, what: `no timers left (${timers()} when the wait began)` });
}

function nmea(payload: string): string {
  let sum = 0;
  for (const char of payload) sum ^= char.charCodeAt(0);
  return `$${payload}*${sum.toString(16).toUpperCase().padStart(2, '0')}`;
}

interface Rig {
  dir: string;
  pair: PtyPair;
  end: DeviceEnd;
}

async function rig(): Promise<Rig> {
  const dir = await mkdtemp(join(tmpdir(), 'serial-line-'));
  const pair = await startPtyPair(dir);
  return { dir, pair, end: await DeviceEnd.open(pair.devicePath) };
}

describe('serial-line driver over socat pty pairs', () => {
  const rigs = new Map<string, Rig>();
  const { ctx, batches, statuses, logs } = collector();
  let driver: SerialLineDriver;
  let configs: SerialLineDeviceConfig[];

  beforeAll(async () => {
    for (const name of ['probe', 'counter', 'meter', 'sensor']) rigs.set(name, await rig());
    const port = (name: string) => rigs.get(name)!.pair.gatewayPath;
    configs = [
      {
        driver: 'serial-line', name: 'probe', domain: 'water', tags: { site: 'reservoir-2' }, port: port('probe'), baud: 19200, reopen_max: '1s',
        framing: { delimiter: '\\r\\n', max_line: 128 }, checksum: 'nmea', stale_after: '5m',
        parser: { type: 'csv', columns: { 1: { metric: 'seq' }, 2: { metric: 'level', unit: 'm', scale: 0.01 }, 3: { metric: 'temp', unit: '°C' } } },
      },
      {
        driver: 'serial-line', name: 'counter', domain: 'traffic', port: port('counter'), reopen_max: '1s',
        parser: { type: 'kv', pair_separator: ' ', kv_separator: ':', fields: { N: { metric: 'vehicles' }, OCC: { metric: 'occupancy', unit: '%' }, FAULT: { metric: 'loop_fault', type: 'boolean' } } },
      },
      {
        driver: 'serial-line', name: 'meter', domain: 'energy', port: port('meter'), reopen_max: '1s',
        parser: { type: 'regex', pattern: '^P=(?<power>[-\\d.]+)kW U=(?<voltage>[\\d.]+)V (?<state>\\w+)$', fields: { power: { metric: 'power', unit: 'kW' }, voltage: { metric: 'voltage', unit: 'V', deadband: 0.5 }, state: { metric: 'state', type: 'string' } } },
      },
      {
        driver: 'serial-line', name: 'sensor', domain: 'air', port: port('sensor'), reopen_max: '1s', stale_after: '1s',
        parser: { type: 'json', fields: { 'pm.p25': { metric: 'pm25', unit: 'µg/m³' }, 'pm.p10': { metric: 'pm10', unit: 'µg/m³' }, ok: { metric: 'ok', type: 'boolean' } } },
      },
    ].map((raw) => serialLineDeviceSchema.parse(raw));
    driver = new SerialLineDriver(configs);
    await driver.start(ctx);
  });

  afterAll(async () => {
    await driver?.stop();
    for (const { dir, pair, end } of rigs.values()) {
      await end.close();
      await pair.stop();
      await rm(dir, { recursive: true, force: true });
    }
  });

  const batchesOf = (device: string, from = 0) => batches.slice(from).filter((batch) => batch[0]?.device === device);
  const statusOf = (device: string) => statuses.findLast((s) => s.device === device);
  const stats = (device: string) => driver.stats()[device]!;
  const write = (device: string, text: string) => rigs.get(device)!.end.write(text);
  const probeLine = (seq: number, level = 250, temp = 21.5) => `${nmea(`PRB,${seq},${level},${temp}`)}\r\n`;

  it('opens every port at start', () => {
    for (const { name } of configs) expect(stats(name)).toMatchObject({ port_open: true, lines: 0, reopen_attempts: 0 });
    expect(statuses).toEqual([]);
  });

  it('turns one line of each parser into one batch of readings, one per field', async () => {
    const before = Date.now();
    await write('probe', probeLine(1));
    await write('counter', 'LOOP3 N:17 OCC:12.5 FAULT:0\n');
    await write('meter', 'P=-1.25kW U=230.1V import\n');
    await write('sensor', '{"pm":{"p25":8.5,"p10":14},"ok":true}\n');
    await waitFor(() => (['probe', 'counter', 'meter', 'sensor'].every((d) => batchesOf(d).length === 1) ? true : undefined), { what: 'one batch per device' });
    const after = Date.now();

    const [probe] = batchesOf('probe');
    expect(probe!.map(({ metric, value, unit }) => ({ metric, value, unit }))).toEqual([
      { metric: 'seq', value: 1, unit: undefined },
      { metric: 'level', value: 2.5, unit: 'm' },
      { metric: 'temp', value: 21.5, unit: '°C' },
    ]);
    for (const reading of probe!) {
      expect(reading).toMatchObject({ device: 'probe', domain: 'water', quality: 'good', tags: { site: 'reservoir-2' } });
      expect(reading.ts).toBeGreaterThanOrEqual(before);
      expect(reading.ts).toBeLessThanOrEqual(after);
      // One frozen tags object per device, shared by its readings.
      expect(reading.tags).toBe(probe![0]!.tags);
      expect(Object.isFrozen(reading.tags)).toBe(true);
    }
    const simple = (device: string) => batchesOf(device)[0]!.map(({ metric, value, unit, domain, tags }) => ({ metric, value, unit, domain, tags }));
    expect(simple('counter')).toEqual([
      { metric: 'vehicles', value: 17, unit: undefined, domain: 'traffic', tags: undefined },
      { metric: 'occupancy', value: 12.5, unit: '%', domain: 'traffic', tags: undefined },
      { metric: 'loop_fault', value: false, unit: undefined, domain: 'traffic', tags: undefined },
    ]);
    expect(simple('meter')).toEqual([
      { metric: 'power', value: -1.25, unit: 'kW', domain: 'energy', tags: undefined },
      { metric: 'voltage', value: 230.1, unit: 'V', domain: 'energy', tags: undefined },
      { metric: 'state', value: 'import', unit: undefined, domain: 'energy', tags: undefined },
    ]);
    expect(simple('sensor')).toEqual([
      { metric: 'pm25', value: 8.5, unit: 'µg/m³', domain: 'air', tags: undefined },
      { metric: 'pm10', value: 14, unit: 'µg/m³', domain: 'air', tags: undefined },
      { metric: 'ok', value: true, unit: undefined, domain: 'air', tags: undefined },
    ]);
    for (const device of ['probe', 'counter', 'meter']) expect(statuses.filter((s) => s.device === device).map((s) => s.state)).toEqual(['online']);
    expect(stats('probe')).toMatchObject({ lines: 1, readings: 3, malformed: 0, checksum_errors: 0, overlong: 0 });
  });

  it('marks a field within its deadband not to be reported (the rules still get it), and counts it', async () => {
    const from = batches.length;
    const suppressed = stats('meter').suppressed;
    await write('meter', 'P=-1.25kW U=230.4V import\n');
    await write('meter', 'P=-1.25kW U=231.2V import\n');
    await waitFor(() => (batchesOf('meter', from).length === 2 ? true : undefined), { what: 'two meter lines' });
    const voltage = batchesOf('meter', from).map((batch) => batch.find((r) => r.metric === 'voltage')!);
    expect(voltage.map(({ value, report }) => ({ value, report }))).toEqual([
      { value: 230.4, report: false },
      { value: 231.2, report: true },
    ]);
    // Fields without deadband or max_silence report every line.
    expect(batchesOf('meter', from).flat().filter((r) => r.metric !== 'voltage').every((r) => r.report)).toBe(true);
    expect(stats('meter').suppressed - suppressed).toBe(1);
  });

  it('delivers every good line between garbage and checksum failures, and counts the bad ones', async () => {
    const from = batches.length;
    const warningsBefore = logs.filter((l) => l.level === 'warn' && l.fields?.device === 'probe').length;
    const good = Array.from({ length: 20 }, (_, i) => probeLine(100 + i, 300 + i));
    const bad = [
      '#%&!garbage\x00\xff\r\n', // checksum: garbage has none
      `${nmea('PRB,9,300,21.5').slice(0, -2)}00\r\n`, // checksum mismatch
      '$PRB,9,300,21.5\r\n', // checksum missing
      `${nmea('PRB,9,abc,21.5')}\r\n`, // malformed: not a number
      `${nmea('PRB,9')}\r\n`, // malformed: columns missing
    ];
    // Interleaved, several lines per write, and bad lines glued to good ones in the same write.
    let stream = '';
    good.forEach((line, i) => (stream += line + (bad[i % bad.length] ?? '')));
    const half = stream.length >> 1;
    await write('probe', stream.slice(0, half));
    await write('probe', stream.slice(half));
    await waitFor(() => (batchesOf('probe', from).length >= 20 && stats('probe').lines >= 41 ? true : undefined), { what: 'twenty good lines' });
    expect(batchesOf('probe', from).map((batch) => batch[0]!.value)).toEqual(Array.from({ length: 20 }, (_, i) => 100 + i));
    expect(batchesOf('probe', from).map((batch) => batch[1]!.value)).toEqual(Array.from({ length: 20 }, (_, i) => 3 + i / 100));
    expect(stats('probe')).toMatchObject({ lines: 41, malformed: 8, checksum_errors: 12, overlong: 0 });
    // Rate-limited: the first bad line is logged with the device and a sample; the rest wait for the 10 s summary.
    const warnings = logs.filter((l) => l.level === 'warn' && l.fields?.device === 'probe').slice(warningsBefore);
    expect(warnings).toEqual([{ level: 'warn', msg: 'bad line', fields: { device: 'probe', kind: 'checksum', error: expect.stringContaining('no "$"'), sample: '#%&!garbage\x00\ufffd' } }]);
    expect(statusOf('probe')?.state).toBe('online');
  });

  it('joins a line split across two writes', async () => {
    const from = batches.length;
    const line = probeLine(200, 410);
    // The good line's readings prove its write was read, and with it the first half of the next line (one pty write
    // of a few bytes arrives in one read): the second write then lands in a later read.
    await write('probe', probeLine(199) + line.slice(0, 9));
    await waitFor(() => (batchesOf('probe', from).length === 1 ? true : undefined), { what: 'the line before the split one' });
    await write('probe', line.slice(9));
    await waitFor(() => (batchesOf('probe', from).length === 2 ? true : undefined), { what: 'the split line' });
    expect(batchesOf('probe', from)[1]!.map((r) => r.value)).toEqual([200, 4.1, 21.5]);
  });

  it('drops a very long line, counts it, and keeps the lines around it', async () => {
    const from = batches.length;
    const overlongBefore = stats('probe').overlong;
    const long = `$PRB,${'9'.repeat(20_000)}*00\r\n`;
    await write('probe', probeLine(300) + long.slice(0, 7_000));
    await write('probe', long.slice(7_000) + probeLine(301));
    await write('probe', 'x'.repeat(500) + '\r\n' + probeLine(302));
    await waitFor(() => (batchesOf('probe', from).length === 3 ? true : undefined), { what: 'the three good lines' });
    expect(batchesOf('probe', from).map((batch) => batch[0]!.value)).toEqual([300, 301, 302]);
    expect(stats('probe').overlong - overlongBefore).toBe(2);
  });

  it('takes a silent device offline after stale_after and back online with its next line', async () => {
    await waitFor(() => (statusOf('sensor')?.state === 'offline' ? true : undefined), { what: 'sensor stale' });
    expect(statusOf('sensor')).toMatchObject({ state: 'offline', error: 'no valid line for 1 s' });
    // Bad lines do not keep it alive.
    await write('sensor', 'not json\n');
    await waitFor(() => (stats('sensor').malformed === 1 ? true : undefined), { what: 'the bad line counted' });
    expect(statusOf('sensor')?.state).toBe('offline');
    await write('sensor', '{"pm":{"p25":9,"p10":15},"ok":true}\n');
    await waitFor(() => (statusOf('sensor')?.state === 'online' ? true : undefined), { what: 'sensor online again' });
    expect(statuses.filter((s) => s.device === 'sensor').map((s) => s.state)).toEqual(['online', 'offline', 'online']);
  });

  it('goes offline when the adapter is pulled, reopens by itself when it is back, and readings resume', async () => {
    const probe = rigs.get('probe')!;
    const from = statuses.length;
    await probe.end.close();
    await probe.pair.kill();
    await waitFor(() => (statuses.slice(from).some((s) => s.device === 'probe' && s.state === 'offline') ? true : undefined), { what: 'probe offline' });
    expect(statuses.slice(from).find((s) => s.device === 'probe')).toMatchObject({ state: 'offline', error: `${probe.pair.gatewayPath} disconnected (bad file descriptor)` });
    expect(stats('probe').port_open).toBe(false);
    await waitFor(() => (stats('probe').reopen_attempts >= 2 ? true : undefined), { what: 'two attempts to reopen' });
    expect(statusOf('probe')).toMatchObject({ state: 'offline', error: `cannot open ${probe.pair.gatewayPath}: No such file or directory` });

    probe.pair = await startPtyPair(probe.dir);
    // From the port's being there (socat's start on a loaded box is not the gateway's to answer for).
    const replugged = Date.now();
    await waitFor(() => (stats('probe').port_open ? true : undefined), { what: 'the port reopened' });
    const reopenedAfter = Date.now() - replugged;
    console.info(`probe: port reopened ${reopenedAfter} ms after the replug (reopen_max 1 s)`);
    // reopen_max is 1 s (no wait is longer): the next attempt after the replug comes within that.
    expect(reopenedAfter).toBeLessThan(1000 + 1000);
    probe.end = await DeviceEnd.open(probe.pair.devicePath);
    const batchesFrom = batches.length;
    await probe.end.write(probeLine(400));
    await waitFor(() => (statusOf('probe')?.state === 'online' ? true : undefined), { what: 'probe online again' });
    expect(batchesOf('probe', batchesFrom).map((batch) => batch[0]!.value)).toEqual([400]);
    // The other devices never noticed.
    expect(statuses.slice(from).every((s) => s.device === 'probe' || s.device === 'sensor')).toBe(true);
  });

  it('stop() releases every port and leaves no timer behind', async () => {
    await driver.stop();
    await noTimersLeft();
    for (const { name } of configs) expect(stats(name).port_open).toBe(false);
    // serialport locks the ports it opens (flock): opening one again shows the driver let go of it.
    for (const { pair } of rigs.values()) {
      const port = new SerialPort({ path: pair.gatewayPath, baudRate: 9600, autoOpen: false });
      await new Promise<void>((resolve, reject) => port.open((error) => (error ? reject(error) : resolve())));
      await new Promise<void>((resolve, reject) => port.close((error) => (error ? reject(error) : resolve())));
    }
  });
});

describe('serial-line driver with a port that is not there', () => {
  it('reports the device offline once, retries with capped exponential backoff, and stop() ends the retries', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'serial-line-'));
    const { ctx, statuses } = collector();
    const driver = new SerialLineDriver([
      serialLineDeviceSchema.parse({ driver: 'serial-line', name: 'ghost', domain: 'water', port: join(dir, 'ttyNONE'), reopen_max: '1s', parser: { type: 'csv', columns: { 0: { metric: 'level' } } } }),
    ]);
    const started = Date.now();
    const attemptAt: number[] = [];
    let stopTook: number;
    try {
      await driver.start(ctx);
      expect(statuses).toEqual([{ device: 'ghost', state: 'offline', ts: expect.any(Number), error: `cannot open ${join(dir, 'ttyNONE')}: No such file or directory`, code: 'E_NOT_FOUND' }]);
      await waitFor(
        () => {
          const attempts = driver.stats().ghost!.reopen_attempts;
          while (attemptAt.length < attempts) attemptAt.push(Date.now() - started);
          return attempts >= 4 ? true : undefined;
        },
        { what: 'four reopen attempts', timeoutMs: 20_000, intervalMs: 10 },
      );
    } finally {
      const stopping = Date.now();
      await driver.stop();
      stopTook = Date.now() - stopping;
      await rm(dir, { recursive: true, force: true });
    }
    console.info(`ghost port: reopen attempts at ${attemptAt.join(', ')} ms after start; stop() took ${stopTook} ms`);
    const gaps = attemptAt.slice(1).map((at, i) => at - attemptAt[i]!);
    // Each wait is drawn between 500 ms and a ceiling doubling from 1 s, here capped at reopen_max (1 s). Timers only
    // fire late, so the first lower bound is firm; the gaps allow for the polling noticing one attempt later than the next.
    expect(attemptAt[0]).toBeGreaterThanOrEqual(450);
    for (const gap of gaps) expect(gap).toBeGreaterThanOrEqual(450);
    // Uncapped, the ceilings would go 1, 2, 4 s; capped, a gap past 1 s is the box's stall (the driver shares this process).
    expect(Math.max(...gaps)).toBeLessThan(2500);
    expect(statuses).toHaveLength(1);
    expect(stopTook).toBeLessThan(1000);
    // The pending retry is cancelled.
    await noTimersLeft();
  });
});
