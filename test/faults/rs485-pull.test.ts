/**
 * The RS-485 adapter pulled again and again: socat (the adapter) killed at random moments, often in the middle of a
 * transaction, and plugged back. The gateway runs as its own process, so an unhandled error from the serial port or
 * the Modbus client shows as its death. A pymodbus RTU slave sits behind the adapter; a Modbus TCP device is the
 * "other device" that must stay on schedule throughout.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startModbusSlave, type ModbusSlave } from '../peers/modbus-slave.js';
import { startPtyPair, type PtyPair } from '../peers/socat.js';
import { startTtyFlood, type TtyFlood } from '../peers/tty-flood.js';
import { cpuShareOver, largestGap, seededRandom, startFaultGateway, until, type FaultGateway } from './driver-rig.js';

const PULLS = 25;
const RTU_INTERVAL = 100;
const TCP_INTERVAL = 200;

describe('RS-485 adapter pulled 25 times at random moments', () => {
  let dir: string;
  let pair: PtyPair;
  let rtuSlave: ModbusSlave;
  let tcpSlave: ModbusSlave;
  let gw: FaultGateway;
  let chatter: TtyFlood | undefined;

  /**
   * The adapter plugged in, on a busy line: besides the slave's answers, a stream of bytes no unit id matches
   * (another master's traffic, line noise) is on the wire, so a pull often catches data in flight.
   */
  async function plugIn(): Promise<void> {
    pair = await startPtyPair(dir);
    chatter = startTtyFlood(pair.devicePath, { format: 'S,{seq}\\n', batch: 4, pauseMs: 2 });
  }

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'gw-rs485-pull-'));
    await plugIn();
    rtuSlave = await startModbusSlave({ spec: { units: { 1: { holding: { 0: [230, 231, 232, 233] } } } }, rtu: { path: pair.devicePath } });
    tcpSlave = await startModbusSlave({ spec: { units: { 1: { holding: { 0: 7 } } } } });
    gw = await startFaultGateway(`buses:
  - { name: rs485-a, port: ${pair.gatewayPath}, baud: 19200, reopen_max: 500ms }
devices:
  - { name: meter, driver: modbus-rtu, bus: rs485-a, unit_id: 1, domain: energy, poll_interval: ${RTU_INTERVAL}ms, timeout: 200ms, backoff_max: 500ms, points: [{ name: voltage, address: 0 }, { name: current, address: 1 }] }
  - { name: pump, driver: modbus-tcp, host: 127.0.0.1, port: ${tcpSlave.port}, domain: water, poll_interval: ${TCP_INTERVAL}ms, timeout: 500ms, points: [{ name: level, address: 0 }] }
`);
  });
  afterAll(async () => {
    await chatter?.stop();
    await gw?.stop();
    await rtuSlave?.stop();
    await tcpSlave?.stop();
    await pair?.stop();
    await rm(dir, { recursive: true, force: true });
  });

  it('survives every pull, keeps the other device on schedule and recovers the bus by itself each time', async () => {
    await until(() => (gw.samples('meter', 'voltage').length > 0 && gw.samples('pump', 'level').length > 0 ? true : undefined), 'first readings of both devices');
    const seed = Date.now() % 100_000;
    const random = seededRandom(seed);
    const started = Date.now();
    const recoveries: number[] = [];
    for (let pull = 1; pull <= PULLS; pull++) {
      // A random moment within a few poll cycles: sometimes mid-transaction, sometimes between frames.
      await new Promise((resolve) => setTimeout(resolve, random() * 3 * RTU_INTERVAL));
      await pair.kill();
      await new Promise((resolve) => setTimeout(resolve, random() * 400));
      gw.expectAlive();
      const seen = gw.samples('meter', 'voltage').length;
      const replugged = Date.now();
      await plugIn();
      const back = await until(() => gw.samples('meter', 'voltage')[seen], `meter readings again after pull ${pull} (seed ${seed})`, 30_000);
      recoveries.push(back.seenAt - replugged);
      gw.expectAlive();
    }
    const ended = Date.now();
    recoveries.sort((a, b) => a - b);
    const pumpGap = largestGap(gw.samples('pump', 'level'), started, ended);
    const pumpReadings = gw.samples('pump', 'level').filter((s) => s.ts >= started && s.ts <= ended).length;
    console.info(
      `rs485 pulls: ${PULLS} survived (seed ${seed}) in ${ended - started} ms; recovery after replug: median ${recoveries[PULLS >> 1]} ms, max ${recoveries.at(-1)} ms; ` +
        `other device: ${pumpReadings} readings, largest gap ${pumpGap} ms (interval ${TCP_INTERVAL} ms)`,
    );
    gw.expectAlive();
    expect(gw.process.output()).not.toMatch(/Unhandled|uncaught/i);
    // On schedule: no gap beyond a few intervals on a loaded 2-core machine, and (nearly) every poll delivered.
    expect(pumpGap).toBeLessThan(TCP_INTERVAL * 5);
    expect(pumpReadings).toBeGreaterThan(((ended - started) / TCP_INTERVAL) * 0.7);
    await until(() => (gw.state('meter') === 'online' ? true : undefined), 'meter online');
  });

  it('does not spin on the vanished port while the adapter is out, and comes back', async () => {
    const idle = await cpuShareOver(gw, 3000);
    await pair.kill();
    // Past the moment of the pull: what is measured is the steady state while the adapter is out.
    await until(() => (gw.state('meter') === 'offline' ? true : undefined), 'meter offline');
    const gone = await cpuShareOver(gw, 3000);
    console.info(`rs485 adapter out: gateway CPU ${gone.toFixed(1)}% of a core over 3 s (${idle.toFixed(1)}% with the bus up)`);
    gw.expectAlive();
    expect(gone).toBeLessThan(25);
    await plugIn();
    await until(() => (gw.state('meter') === 'online' ? true : undefined), 'meter online after the replug', 30_000);
  });
});
