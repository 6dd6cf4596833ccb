/**
 * Writes on a shared RS-485 line: a pymodbus RTU slave with two unit ids on a socat pty pair, polled every 100 ms,
 * while operators send commands to both at once. A write and its reads run between polls, never interleaved with
 * another frame: no CRC error, no timeout, no link error, and every value lands and reads back.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { hashPassword } from '../../gateway/broker/password.js';
import type { LinkStats } from '../../drivers/modbus/link.js';
import { startModbusSlave, type ModbusSlave } from '../peers/modbus-slave.js';
import { mosquittoPub } from '../peers/mosquitto-pub.js';
import { mosquittoSub, type MosquittoSub } from '../peers/mosquitto-sub.js';
import { waitFor } from '../peers/net.js';
import { startPtyPair, type PtyPair } from '../peers/socat.js';
import { startGateway, type RunningGateway } from '../support/gateway.js';

const T = 90_000;
const ROUNDS = 12;

describe('Modbus RTU writes between polls on one bus', () => {
  let dir: string;
  let pair: PtyPair;
  let slave: ModbusSlave;
  let gw: RunningGateway;
  let results: MosquittoSub;

  const link = () => gw.gateway.health().drivers['modbus-rtu']?.['rs485-a'] as LinkStats;

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'gw-rtu-writes-'));
    pair = await startPtyPair(dir);
    const unit = { holding: { 0: [0, 0, 0, 0, 0, 0, 0, 0] }, coil: { 0: [false, false] } };
    slave = await startModbusSlave({ spec: { units: { 1: unit, 2: unit } }, rtu: { path: pair.devicePath } });
    const device = (name: string, id: number) => `
  - name: ${name}
    driver: modbus-rtu
    bus: rs485-a
    unit_id: ${id}
    domain: water
    poll_interval: 100ms
    timeout: 500ms
    points:
      - { name: setpoint, address: 0, type: float32, order: CDAB, writable: true }
      - { name: speed, address: 2, type: int16, scale: 0.1, writable: true }
      - { name: level, address: 3, type: uint32 }
      - { name: pump, table: coil, address: 0, writable: true }`;
    gw = await startGateway(`site: lab
mqtt:
  listeners: [{ type: tcp, host: 127.0.0.1, port: 0 }]
  users:
    - { username: ops, role: operator, password_hash: "${await hashPassword('ops-pass', { ln: 10 })}" }
buses:
  - { name: rs485-a, port: ${pair.gatewayPath}, baud: 9600 }
devices:${device('pump-a', 1)}${device('pump-b', 2)}
`);
    results = mosquittoSub({ port: gw.mqttPort, username: 'ops', password: 'ops-pass', topic: 'city/lab/command/+/+/result', qos: 1 });
    await results.ready();
    await waitFor(() => (['pump-a', 'pump-b'].every((name) => gw.gateway.statuses.get(name)?.state === 'online') ? true : undefined), { what: 'both pumps online' });
  }, T);

  afterAll(async () => {
    await results?.stop();
    await gw?.stop();
    await slave?.stop();
    await pair?.stop();
    await rm(dir, { recursive: true, force: true });
  });

  it('keeps every frame whole while commands to two units arrive during polling', { timeout: T }, async () => {
    const before = { ...link() };
    const requestsBefore = (await slave.requests()).length;
    const sent: { device: string; point: string; value: number | boolean; id: string }[] = [];
    for (let round = 0; round < ROUNDS; round++) {
      const batch = ['pump-a', 'pump-b'].flatMap((device) => [
        { device, point: 'setpoint', value: round + 0.25, id: `${device}-s${round}` },
        { device, point: 'speed', value: round === 0 ? 0 : -round / 10, id: `${device}-v${round}` },
        { device, point: 'pump', value: round % 2 === 0, id: `${device}-p${round}` },
      ]);
      sent.push(...batch);
      // A round of commands at once, by independent clients, on top of the polls (within commands.max_pending).
      await Promise.all(
        batch.map(async ({ device, point, value, id }) => {
          const pub = await mosquittoPub({ port: gw.mqttPort, username: 'ops', password: 'ops-pass', topic: `city/lab/command/${device}/${point}`, message: JSON.stringify({ value, id }), qos: 1, clientId: id });
          expect(pub.code, pub.output).toBe(0);
          const result = await results.next((m) => m.topic === `city/lab/command/${device}/${point}/result` && m.payload.includes(`"id":"${id}"`), 30_000);
          expect(JSON.parse(result.payload), id).toEqual({ ok: true, value, ts: expect.any(Number), id });
        }),
      );
    }
    const after = link();
    // Polls went on meanwhile, and nothing on the line broke.
    expect(after.transactions - before.transactions).toBeGreaterThan(sent.length * 3);
    expect({ malformed: after.malformed, timeouts: after.timeouts, linkErrors: after.linkErrors, exceptions: after.exceptions }).toEqual({ malformed: before.malformed, timeouts: before.timeouts, linkErrors: before.linkErrors, exceptions: before.exceptions });
    const writes = (await slave.requests()).slice(requestsBefore).filter((r) => [5, 6, 16].includes(r.fc));
    expect(writes).toHaveLength(sent.length);
    // The last round is what both units hold now.
    for (const id of [1, 2]) expect(await slave.get(id, 'coil', 0, 1)).toEqual([(ROUNDS - 1) % 2 === 0]);
  });
});
