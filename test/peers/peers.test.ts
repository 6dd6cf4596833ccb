import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import type { ModbusRTU } from 'modbus-serial/ModbusRTU.js';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { startModbusSlave, type ModbusSlave, type SlaveSpec } from './modbus-slave.js';
import { mosquittoSub, type MosquittoSub } from './mosquitto-sub.js';
import { startMosquitto, type Mosquitto } from './mosquitto.js';
import { freePort, waitFor } from './net.js';
import { startPtyPair } from './socat.js';

// modbus-serial is CommonJS with an ES-default typing; require() gives the constructor Node and TS agree on.
const require = createRequire(import.meta.url);
const ModbusClient = require('modbus-serial') as new () => ModbusRTU;
const run = promisify(execFile);

const T = 30_000;

const SPEC: SlaveSpec = {
  units: {
    1: {
      holding: { 0: 17, 1: 65535, 2: 3, 10: [100, 101, 102] },
      input: { 0: 42 },
      coil: { 0: true, 1: false, 2: true },
      discrete: { 5: true },
    },
    2: { holding: { 0: 99 } },
  },
};

async function tcpClient(port: number, unit = 1): Promise<ModbusRTU> {
  const client = new ModbusClient();
  await client.connectTCP('127.0.0.1', { port });
  client.setID(unit);
  client.setTimeout(2000);
  return client;
}

/** modbus-serial never calls close()'s callback when the peer already dropped the socket. */
function closeClient(client: ModbusRTU): Promise<void> {
  if (!client.isOpen) return Promise.resolve();
  return new Promise((resolve) => client.close(() => resolve()));
}

/** The error a modbus-serial call rejects with (fails the test if it resolves). */
async function failure(call: Promise<unknown>): Promise<Error & { modbusCode?: number; errno?: string }> {
  try {
    await call;
  } catch (error) {
    return error as Error & { modbusCode?: number; errno?: string };
  }
  throw new Error('expected the request to fail');
}

describe('net helpers', () => {
  it('freePort gives a bindable port and waitFor names what it waited for', async () => {
    const port = await freePort();
    expect(port).toBeGreaterThan(0);
    let calls = 0;
    await expect(waitFor(() => (++calls >= 3 ? calls : undefined), { intervalMs: 1 })).resolves.toBe(3);
    await expect(waitFor(() => undefined, { timeoutMs: 50, intervalMs: 5, what: 'the moon' })).rejects.toThrow(
      /the moon not met within 50 ms/,
    );
  });
});

describe('pymodbus TCP slave', () => {
  let slave: ModbusSlave;
  let client: ModbusRTU;

  beforeAll(async () => {
    slave = await startModbusSlave({ spec: SPEC, tcp: {} });
    client = await tcpClient(slave.port);
  }, T);
  afterAll(async () => {
    await closeClient(client);
    await slave.stop();
  }, T);
  afterEach(async () => {
    client.setID(1);
    client.setTimeout(2000);
    await slave.delay(0);
    await slave.reset();
  });

  it('serves the spec values with plain 0-based addresses and logs exactly one request per read', { timeout: T }, async () => {
    expect((await client.readHoldingRegisters(0, 2)).data).toEqual([17, 65535]);
    expect((await client.readHoldingRegisters(10, 3)).data).toEqual([100, 101, 102]);
    expect((await client.readInputRegisters(0, 1)).data).toEqual([42]);
    expect((await client.readCoils(0, 3)).data.slice(0, 3)).toEqual([true, false, true]);
    expect((await client.readDiscreteInputs(5, 1)).data[0]).toBe(true);
    const log = await slave.requests();
    expect(log.map(({ t: _t, ...rest }) => rest)).toEqual([
      { unit: 1, fc: 3, address: 0, count: 2 },
      { unit: 1, fc: 3, address: 10, count: 3 },
      { unit: 1, fc: 4, address: 0, count: 1 },
      { unit: 1, fc: 1, address: 0, count: 3 },
      { unit: 1, fc: 2, address: 5, count: 1 },
    ]);
    const times = log.map((entry) => entry.t);
    expect([...times].sort((a, b) => a - b)).toEqual(times);
  });

  it('serves several unit ids from one context', { timeout: T }, async () => {
    client.setID(2);
    expect((await client.readHoldingRegisters(0, 1)).data).toEqual([99]);
    // Unit 2 has no register 1, although unit 1 has.
    expect((await failure(client.readHoldingRegisters(1, 1))).modbusCode).toBe(2);
    expect((await slave.requests()).map((r) => r.unit)).toEqual([2, 2]);
  });

  it('answers exception 2 (illegal data address) for a read touching an unmapped register', { timeout: T }, async () => {
    expect((await failure(client.readHoldingRegisters(0, 4))).modbusCode).toBe(2); // 3 is unmapped
    expect((await failure(client.readHoldingRegisters(500, 1))).modbusCode).toBe(2);
    expect((await failure(client.readCoils(3, 1))).modbusCode).toBe(2);
    expect((await failure(client.writeRegister(7, 1))).modbusCode).toBe(2); // writes cannot map new addresses
    // Exceptions are served requests too: each counted once.
    expect((await slave.requests()).map((r) => [r.fc, r.address, r.count])).toEqual([
      [3, 0, 4],
      [3, 500, 1],
      [1, 3, 1],
      [6, 7, 1],
    ]);
  });

  it('does not answer a unit id that is not in the spec', { timeout: T }, async () => {
    client.setID(7);
    client.setTimeout(500);
    const error = await failure(client.readHoldingRegisters(0, 1));
    expect(error.message).toMatch(/timed out/i);
    expect(await slave.requests()).toEqual([]);
    expect((await slave.ignored()).map((r) => [r.unit, r.fc, r.address, r.count])).toEqual([[7, 3, 0, 1]]);
    // The connection survives the silence: the next request to a real unit is answered.
    client.setID(1);
    client.setTimeout(2000);
    expect((await client.readHoldingRegisters(0, 1)).data).toEqual([17]);
  });

  it('set changes values (and maps new addresses); master writes land too', { timeout: T }, async () => {
    await slave.set(1, 'holding', 2, [1234]);
    await slave.set(1, 'holding', 3, [5]); // now 0..3 is contiguous
    expect((await client.readHoldingRegisters(0, 4)).data).toEqual([17, 65535, 1234, 5]);
    await slave.set(1, 'coil', 1, [true]);
    expect((await client.readCoils(0, 2)).data.slice(0, 2)).toEqual([true, true]);
    await client.writeRegisters(10, [7, 8]);
    expect((await client.readHoldingRegisters(10, 3)).data).toEqual([7, 8, 102]);
    await client.writeCoils(1, [false, false]);
    await client.writeCoil(0, false);
    expect((await client.readCoils(0, 3)).data.slice(0, 3)).toEqual([false, false, false]);
    expect((await slave.requests()).map((r) => [r.fc, r.address, r.count]).slice(-5)).toEqual([
      [16, 10, 2],
      [3, 10, 3],
      [15, 1, 2],
      [5, 0, 1],
      [1, 0, 3],
    ]);
    // A unit that appears on the bus later.
    await slave.set(9, 'input', 0, [5]);
    client.setID(9);
    expect((await client.readInputRegisters(0, 1)).data).toEqual([5]);
    await expect(slave.set(1, 'holding', 0, [70_000])).rejects.toThrow(/0\.\.65535/);
    await expect(slave.set(1, 'input', 0, [true])).rejects.toThrow(/0\.\.65535/);
    await slave.set(1, 'holding', 2, [3]); // back to the spec for the tests after this one
  });

  it('delay makes every response wait', { timeout: T }, async () => {
    await slave.delay(300);
    const started = performance.now();
    expect((await client.readHoldingRegisters(0, 1)).data).toEqual([17]);
    expect(performance.now() - started).toBeGreaterThanOrEqual(290);
    client.setTimeout(100);
    expect((await failure(client.readHoldingRegisters(0, 1))).message).toMatch(/timed out/i);
  });
});

describe('pymodbus slave lifecycle', () => {
  it('stop() ends the process and removes nothing it does not own; kill() works too', { timeout: T }, async () => {
    const a = await startModbusSlave({ spec: SPEC }); // TCP is the default
    const b = await startModbusSlave({ spec: SPEC, tcp: {} });
    expect(a.port).not.toBe(b.port);
    await a.stop();
    await a.stop(); // idempotent
    expect(() => process.kill(a.pid, 0)).toThrow();
    await expect(a.requests()).rejects.toThrow(/exited/);
    const client = await tcpClient(b.port);
    expect((await client.readHoldingRegisters(0, 1)).data).toEqual([17]);
    await b.kill();
    client.setTimeout(1000);
    // Rejects with a plain object (PortNotOpenError) or a timeout, depending on when the socket close is seen.
    expect(await failure(client.readHoldingRegisters(0, 1))).toBeTruthy();
    await closeClient(client);
  });

  it('restarts on the same port', { timeout: T }, async () => {
    const first = await startModbusSlave({ spec: SPEC, tcp: {} });
    const { port } = first;
    await first.kill();
    const second = await startModbusSlave({ spec: SPEC, tcp: { port } });
    expect(second.port).toBe(port);
    const client = await tcpClient(port);
    expect((await client.readHoldingRegisters(1, 1)).data).toEqual([65535]);
    await closeClient(client);
    await second.stop();
  });

  it('rejects with the python stderr when the slave cannot start', { timeout: T }, async () => {
    const bad: SlaveSpec = { units: { 1: { holding: { 0: 70_000 } } } };
    await expect(startModbusSlave({ spec: bad, tcp: {} })).rejects.toThrow(/0\.\.65535/);
    const taken = await startModbusSlave({ spec: SPEC, tcp: {} });
    await expect(startModbusSlave({ spec: SPEC, tcp: { port: taken.port } })).rejects.toThrow(/address already in use/i);
    await taken.stop();
  });

  it('mbpoll, an independent master, sees the same addressing', { timeout: T }, async () => {
    const slave = await startModbusSlave({ spec: SPEC, tcp: {} });
    const { stdout } = await run('mbpoll', ['-m', 'tcp', '-p', String(slave.port), '-a', '1', '-0', '-r', '0', '-c', '3', '-1', '127.0.0.1']);
    expect(stdout).toMatch(/\[0\]:\s+17\b/);
    expect(stdout).toMatch(/\[2\]:\s+3\b/);
    const spanning = await failure(
      run('mbpoll', ['-m', 'tcp', '-p', String(slave.port), '-a', '1', '-0', '-r', '0', '-c', '4', '-1', '127.0.0.1']),
    );
    expect(String((spanning as Error & { stderr?: string }).stderr)).toMatch(/illegal data address/i);
    expect((await slave.requests()).map((r) => [r.fc, r.address, r.count])).toEqual([
      [3, 0, 3],
      [3, 0, 4],
    ]);
    await slave.stop();
  });
});

describe('pymodbus RTU slave on a socat pty pair', () => {
  it('answers modbus-serial over RTU and ignores absent units', { timeout: T }, async () => {
    const dir = await mkdtemp(join(tmpdir(), 'pty-test-'));
    const pair = await startPtyPair(dir);
    const slave = await startModbusSlave({ spec: SPEC, rtu: { path: pair.devicePath, baud: 9600 } });
    const client = new ModbusClient();
    try {
      await client.connectRTUBuffered(pair.gatewayPath, { baudRate: 9600 });
      client.setID(1);
      client.setTimeout(2000);
      expect((await client.readHoldingRegisters(0, 3)).data).toEqual([17, 65535, 3]);
      expect((await failure(client.readHoldingRegisters(2, 2))).modbusCode).toBe(2);
      client.setID(2);
      expect((await client.readHoldingRegisters(0, 1)).data).toEqual([99]);
      client.setID(5);
      client.setTimeout(500);
      expect((await failure(client.readHoldingRegisters(0, 1))).message).toMatch(/timed out/i);
      client.setID(1);
      client.setTimeout(2000);
      expect((await client.readCoils(0, 3)).data.slice(0, 3)).toEqual([true, false, true]);
      expect((await slave.requests()).map((r) => [r.unit, r.fc, r.address, r.count])).toEqual([
        [1, 3, 0, 3],
        [1, 3, 2, 2],
        [2, 3, 0, 1],
        [1, 1, 0, 3],
      ]);
      expect((await slave.ignored()).map((r) => r.unit)).toEqual([5]);
    } finally {
      await closeClient(client);
      await slave.stop();
      await pair.kill();
      await rm(dir, { recursive: true, force: true });
    }
  });

  it('the RTU slave survives an unplug/replug of the pty pair', { timeout: T }, async () => {
    const dir = await mkdtemp(join(tmpdir(), 'pty-test-'));
    let pair = await startPtyPair(dir);
    const slave = await startModbusSlave({ spec: SPEC, rtu: { path: pair.devicePath } });
    const readOnce = async (): Promise<number[] | undefined> => {
      const client = new ModbusClient();
      try {
        await client.connectRTUBuffered(pair.gatewayPath, { baudRate: 9600 });
        client.setID(1);
        client.setTimeout(500);
        return (await client.readHoldingRegisters(0, 1)).data;
      } catch {
        return undefined;
      } finally {
        await closeClient(client);
      }
    };
    try {
      expect(await readOnce()).toEqual([17]);
      await pair.kill();
      pair = await startPtyPair(dir);
      // pymodbus reopens the tty path on its own (auto_reconnect): poll until it answers again.
      expect(await waitFor(readOnce, { what: 'the slave answering after the replug' })).toEqual([17]);
    } finally {
      await slave.stop();
      await pair.stop();
      await rm(dir, { recursive: true, force: true });
    }
  });

  it('socat pair: stop removes the links, a restart in the same dir replugs', { timeout: T }, async () => {
    const dir = await mkdtemp(join(tmpdir(), 'pty-test-'));
    const first = await startPtyPair(dir);
    expect(existsSync(first.gatewayPath) && existsSync(first.devicePath)).toBe(true);
    await first.kill();
    expect(existsSync(first.gatewayPath) || existsSync(first.devicePath)).toBe(false);
    const second = await startPtyPair(dir);
    expect(existsSync(second.gatewayPath)).toBe(true);
    await second.stop();
    expect(existsSync(second.gatewayPath) || existsSync(second.devicePath)).toBe(false);
    await rm(dir, { recursive: true, force: true });
  });
});

describe('mosquitto broker and mosquitto_sub', () => {
  let broker: Mosquitto;
  const subs: MosquittoSub[] = [];
  beforeAll(async () => {
    broker = await startMosquitto();
  }, T);
  afterEach(async () => {
    await Promise.all(subs.splice(0).map((sub) => sub.stop()));
  });
  afterAll(async () => {
    await broker.stop();
  }, T);

  const pub = (topic: string, message: string, ...extra: string[]): Promise<unknown> =>
    run('mosquitto_pub', ['-h', '127.0.0.1', '-p', String(broker.port), '-t', topic, '-m', message, ...extra]);

  it('receives what mosquitto_pub publishes, in order, with odd payloads intact', { timeout: T }, async () => {
    const sub = mosquittoSub({ port: broker.port, topic: ['city/#', 'other'] });
    subs.push(sub);
    await sub.ready();
    await pub('city/water/level', '{"v":1}');
    await pub('city/with space', 'line one\nline two', '-q', '1');
    await pub('other', '');
    const first = await sub.next((m) => m.topic === 'city/water/level');
    expect(first).toMatchObject({ payload: '{"v":1}', retained: false, qos: 0 });
    expect((await sub.next((m) => m.topic === 'city/with space')).payload).toBe('line one\nline two');
    expect((await sub.next((m) => m.topic === 'other')).payload).toBe('');
    expect(sub.messages.map((m) => m.topic)).toEqual(['city/water/level', 'city/with space', 'other']);
  });

  it('flags retained messages and times out with a clear error', { timeout: T }, async () => {
    await pub('ret/state', 'on', '-r');
    const sub = mosquittoSub({ port: broker.port, topic: 'ret/#' });
    subs.push(sub);
    await sub.ready();
    expect(await sub.next()).toMatchObject({ topic: 'ret/state', payload: 'on', retained: true });
    await expect(sub.next((m) => m.topic === 'never', 200)).rejects.toThrow(/no matching message within 200 ms/);
    await pub('ret/state', '', '-r'); // clear it for other tests
  });

  it('a pending next() resolves on a later message', { timeout: T }, async () => {
    const sub = mosquittoSub({ port: broker.port, topic: 'later/x' });
    subs.push(sub);
    await sub.ready();
    const waiting = sub.next((m) => m.payload === 'go');
    await pub('later/x', 'wait');
    await pub('later/x', 'go');
    expect((await waiting).payload).toBe('go');
    await sub.stop();
    await expect(sub.next((m) => m.payload === 'never')).rejects.toThrow(/stopped/);
  });

  it('authenticates against a password file and reports a refused connection', { timeout: T }, async () => {
    const secured = await startMosquitto({ users: { alice: 's3cret' } });
    try {
      const good = mosquittoSub({ port: secured.port, topic: 'a', username: 'alice', password: 's3cret' });
      subs.push(good);
      await good.ready();
      await run('mosquitto_pub', ['-p', String(secured.port), '-u', 'alice', '-P', 's3cret', '-t', 'a', '-m', 'x']);
      expect((await good.next()).payload).toBe('x');
      const bad = mosquittoSub({ port: secured.port, topic: 'a', username: 'alice', password: 'wrong' });
      subs.push(bad);
      await expect(bad.ready()).rejects.toThrow(/not authori[sz]ed|refused/i);
    } finally {
      await secured.stop();
    }
  });
});
