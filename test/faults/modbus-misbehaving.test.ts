/**
 * Modbus slaves that answer wrongly: hanging mid-frame (half a response, then nothing), answering as another unit id,
 * answering with a bad CRC (RTU). Dead slaves and garbage are covered in test/integration (modbus-tcp-health,
 * modbus-tcp-malformed); here each fault is held for a while, then ends, and the device must come back by itself.
 * The gateway runs as its own process; a well-behaved Modbus TCP device must stay on schedule throughout.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startModbusSlave, type Misbehaviour, type ModbusSlave } from '../peers/modbus-slave.js';
import { startPtyPair, type PtyPair } from '../peers/socat.js';
import { largestGap, startFaultGateway, until, type FaultGateway } from './driver-rig.js';

const INTERVAL = 100;
const PUMP_INTERVAL = 200;
/** How long each fault is held once the device is offline: several failed attempts, with backoff. */
const HOLD_MS = 1500;

describe('Modbus slaves misbehaving', () => {
  let dir: string;
  let pair: PtyPair;
  let rtuSlave: ModbusSlave;
  let tcpSlave: ModbusSlave;
  let pumpSlave: ModbusSlave;
  let gw: FaultGateway;
  let started: number;
  const recoveries: string[] = [];

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'gw-misbehave-'));
    pair = await startPtyPair(dir);
    const spec = { units: { 1: { holding: { 0: [230, 231] } } } };
    rtuSlave = await startModbusSlave({ spec, rtu: { path: pair.devicePath } });
    tcpSlave = await startModbusSlave({ spec });
    pumpSlave = await startModbusSlave({ spec: { units: { 1: { holding: { 0: 7 } } } } });
    const meter = (name: string, where: string) =>
      `  - { name: ${name}, ${where}, unit_id: 1, domain: energy, poll_interval: ${INTERVAL}ms, timeout: 200ms, backoff_max: 500ms, points: [{ name: voltage, address: 0 }, { name: current, address: 1 }] }\n`;
    gw = await startFaultGateway(`buses:
  - { name: rs485-a, port: ${pair.gatewayPath}, baud: 19200, reopen_max: 500ms }
devices:
${meter('rtu-meter', 'driver: modbus-rtu, bus: rs485-a')}${meter('tcp-meter', `driver: modbus-tcp, host: 127.0.0.1, port: ${tcpSlave.port}`)}  - { name: pump, driver: modbus-tcp, host: 127.0.0.1, port: ${pumpSlave.port}, domain: water, poll_interval: ${PUMP_INTERVAL}ms, timeout: 500ms, points: [{ name: level, address: 0 }] }
`);
    await until(() => (['rtu-meter', 'tcp-meter'].every((d) => gw.samples(d, 'voltage').length > 0) && gw.samples('pump', 'level').length > 0 ? true : undefined), 'first readings of every device');
    started = Date.now();
  });
  afterAll(async () => {
    console.info(`misbehaving slaves, time from the fault's end to the device's next reading: ${recoveries.join('; ')}`);
    await gw?.stop();
    await rtuSlave?.stop();
    await tcpSlave?.stop();
    await pumpSlave?.stop();
    await pair?.stop();
    await rm(dir, { recursive: true, force: true });
  });

  const cases: Array<{ device: string; slave: () => ModbusSlave; mode: Misbehaviour }> = [
    { device: 'rtu-meter', slave: () => rtuSlave, mode: 'partial' },
    { device: 'rtu-meter', slave: () => rtuSlave, mode: 'wrong_unit' },
    { device: 'rtu-meter', slave: () => rtuSlave, mode: 'bad_crc' },
    { device: 'tcp-meter', slave: () => tcpSlave, mode: 'partial' },
    { device: 'tcp-meter', slave: () => tcpSlave, mode: 'wrong_unit' },
  ];

  for (const { device, slave, mode } of cases) {
    it(`${device}, answering ${mode}: offline while it lasts, back by itself once it ends`, async () => {
      await until(() => (gw.state(device) === 'online' ? true : undefined), `${device} online before the fault`);
      await slave().misbehave(mode);
      await until(() => (gw.state(device) === 'offline' ? true : undefined), `${device} offline while answering ${mode}`);
      await new Promise((resolve) => setTimeout(resolve, HOLD_MS));
      gw.expectAlive();
      const seen = gw.samples(device, 'voltage').length;
      const ended = Date.now();
      await slave().misbehave(null);
      const back = await until(() => gw.samples(device, 'voltage')[seen], `${device} readings again after ${mode} ended`, 30_000);
      recoveries.push(`${device} ${mode} ${back.seenAt - ended} ms`);
      expect(back.value).toBe(230);
      await until(() => (gw.state(device) === 'online' ? true : undefined), `${device} online after ${mode}`);
      gw.expectAlive();
    });
  }

  it('kept the well-behaved device on schedule throughout', () => {
    const ended = Date.now();
    const pump = gw.samples('pump', 'level');
    const gap = largestGap(pump, started, ended);
    const count = pump.filter((s) => s.ts >= started && s.ts <= ended).length;
    console.info(`misbehaving slaves: other device ${count} readings in ${ended - started} ms, largest gap ${gap} ms (interval ${PUMP_INTERVAL} ms)`);
    expect(gap).toBeLessThan(PUMP_INTERVAL * 5);
    expect(count).toBeGreaterThan(((ended - started) / PUMP_INTERVAL) * 0.7);
    gw.expectAlive();
  });
});
