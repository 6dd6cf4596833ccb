/**
 * Modbus RTU on a shared serial bus: a pymodbus RTU slave serving unit ids 1 and 2 on one end of a socat pty pair,
 * the gateway as bus master on the other. A third device on a unit id nobody answers is backed off without holding
 * up the others; pulling the "adapter" (killing socat) takes the bus's devices offline and they come back by themselves.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startModbusSlave, type ModbusSlave } from '../peers/modbus-slave.js';
import { waitFor } from '../peers/net.js';
import { startPtyPair, type PtyPair } from '../peers/socat.js';
import { startGateway, type RunningGateway } from '../support/gateway.js';
import type { Reading } from '../../gateway/model.js';

const INTERVAL = 300;

describe('Modbus RTU on a shared bus', () => {
  let dir: string;
  let pair: PtyPair;
  let slave: ModbusSlave;
  let gw: RunningGateway;
  const readings: Reading[] = [];

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'gw-rtu-'));
    pair = await startPtyPair(dir);
    slave = await startModbusSlave({
      spec: { units: { 1: { holding: { 0: 0x4148, 1: 0xf5c3, 2: 0xfff6 } }, 2: { input: { 10: 2301, 11: 0, 12: 1 }, coil: { 3: true } } } },
      rtu: { path: pair.devicePath },
    });
    const device = (name: string, unit: number, points: string) => `
  - { name: ${name}, driver: modbus-rtu, bus: rs485-a, unit_id: ${unit}, domain: energy, poll_interval: ${INTERVAL}ms, timeout: 250ms, backoff_max: 2s, points: [${points}] }`;
    gw = await startGateway(`site: lab
buses:
  - { name: rs485-a, port: ${pair.gatewayPath}, baud: 9600, reopen_max: 1s }
devices:${device('meter-1', 1, '{ name: voltage, address: 0, type: float32, unit: V }, { name: offset, address: 2, type: int16 }')}${device('meter-2', 2, '{ name: current, table: input, address: 10, scale: 0.01, unit: A }, { name: import, table: input, address: 11, type: uint32, order: CDAB }, { name: breaker, table: coil, address: 3 }')}${device('ghost', 9, '{ name: level, address: 0 }')}
`);
    gw.gateway.pipeline.attach({ name: 'test', write: (batch) => void readings.push(...batch) });
  });
  afterAll(async () => {
    await gw?.stop();
    await slave?.stop();
    await pair?.stop();
    await rm(dir, { recursive: true, force: true });
  });

  const latest = (device: string, metric: string) => readings.findLast((r) => r.device === device && r.metric === metric);

  it('decodes every unit id on the bus exactly, one transaction at a time', async () => {
    await waitFor(() => (latest('meter-2', 'breaker') && latest('meter-1', 'voltage') ? true : undefined), { what: 'readings of both meters' });
    expect(latest('meter-1', 'voltage')).toMatchObject({ value: 12.56, unit: 'V', quality: 'good' });
    expect(latest('meter-1', 'offset')!.value).toBe(-10);
    expect(latest('meter-2', 'current')).toMatchObject({ value: 23.01, unit: 'A' });
    expect(latest('meter-2', 'import')!.value).toBe(65536);
    expect(latest('meter-2', 'breaker')!.value).toBe(true);
    // Interleaved frames on one line would break each other's CRC: none did.
    expect(gw.gateway.health().drivers['modbus-rtu']?.['rs485-a']).toMatchObject({ malformed: 0 });
  });

  it('marks the silent unit offline and backs it off, without delaying the others beyond its timeout', async () => {
    await waitFor(() => (gw.gateway.statuses.get('ghost')?.state === 'offline' ? true : undefined), { what: 'ghost offline' });
    const from = readings.length;
    await waitFor(() => (readings.slice(from).filter((r) => r.device === 'meter-1' && r.metric === 'voltage').length >= 8 ? true : undefined), { what: 'eight polls of meter-1', timeoutMs: 30_000 });
    const stamps = readings.slice(from).filter((r) => r.device === 'meter-1' && r.metric === 'voltage').map((r) => r.ts);
    // Each gap: the interval, plus at most one timeout of the ghost's when their turns collide, plus generous slack.
    for (let i = 1; i < stamps.length; i++) expect(stamps[i]! - stamps[i - 1]!).toBeLessThan(2 * INTERVAL + 250 + 300);
    const asked = (await slave.ignored()).filter((r) => r.unit === 9).length;
    const polls = (await slave.requests()).filter((r) => r.unit === 1).length;
    // Backed off: asked far less often than the meters that answer.
    expect(asked).toBeLessThan(polls / 2);
  });

  it('takes the bus offline when the adapter is pulled and brings it back by itself', async () => {
    await pair.kill();
    await waitFor(() => (gw.gateway.statuses.get('meter-1')?.state === 'offline' && gw.gateway.statuses.get('meter-2')?.state === 'offline' ? true : undefined), { what: 'both meters offline' });
    pair = await startPtyPair(dir);
    await waitFor(() => (gw.gateway.statuses.get('meter-1')?.state === 'online' && gw.gateway.statuses.get('meter-2')?.state === 'online' ? true : undefined), { what: 'both meters online again', timeoutMs: 30_000 });
    const from = readings.length;
    await waitFor(() => (readings.slice(from).some((r) => r.device === 'meter-2' && r.metric === 'current') ? true : undefined), { what: 'readings after the replug' });
  });
});
