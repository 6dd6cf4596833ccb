/**
 * A device that refuses part of a read: pymodbus answers "illegal data address" for registers it does not have.
 * The coalesced block is split, the faulty point is named (log and status), every other point keeps flowing.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startModbusSlave, type ModbusSlave } from '../peers/modbus-slave.js';
import { mosquittoSub, type MosquittoSub } from '../peers/mosquitto-sub.js';
import { waitFor } from '../peers/net.js';
import { startGateway, type RunningGateway } from '../support/gateway.js';

describe('Modbus exception responses', () => {
  let slave: ModbusSlave;
  let gw: RunningGateway;
  let sub: MosquittoSub;

  beforeAll(async () => {
    // Registers 0..2 and 5 exist; 3, 4 and 8 do not.
    slave = await startModbusSlave({ spec: { units: { '1': { holding: { '0': 0x4120, '1': 0, '2': 7, '5': 42 } } } } });
    gw = await startGateway(`
site: lab
devices:
  - name: old-plc
    driver: modbus-tcp
    host: 127.0.0.1
    port: ${slave.port}
    domain: water
    poll_interval: 300ms
    timeout: 2s
    max_gap: 16
    points:
      - { name: level, address: 0, type: float32, unit: m }
      - { name: pumps, address: 2 }
      - { name: valve, address: 5 }
      - { name: ghost, address: 8 }
`);
    sub = mosquittoSub({ port: gw.mqttPort, topic: 'city/#' });
    await sub.ready();
  });

  afterAll(async () => {
    await sub?.stop();
    await gw?.stop();
    await slave?.stop();
  });

  it('keeps publishing the readable points', async () => {
    const value = async (metric: string) => (JSON.parse((await sub.next((m) => m.topic === `city/lab/water/old-plc/${metric}`)).payload) as { value: unknown }).value;
    expect(await value('level')).toBe(10);
    expect(await value('pumps')).toBe(7);
    expect(await value('valve')).toBe(42);
    expect(sub.messages.some((m) => m.topic.endsWith('/ghost'))).toBe(false);
  });

  it('names the faulty point in the log and in the device status, and the device stays online', async () => {
    const status = await sub.next((m) => m.topic === 'city/lab/status/old-plc');
    expect(JSON.parse(status.payload)).toMatchObject({ state: 'online', error: 'point ghost: Modbus exception 2 (illegal data address)' });
    expect(gw.logs.some((l) => l.includes('point unreadable') && l.includes('device=old-plc') && l.includes('point=ghost'))).toBe(true);
  });

  it('splits the refused block once and reads point by point afterwards', async () => {
    await slave.reset();
    const requests = await waitFor(async () => {
      const log = await slave.requests();
      return log.length >= 8 ? log : undefined;
    }, { what: 'two polls after the split' });
    expect(requests.every((r) => r.fc === 3 && r.count <= 2)).toBe(true);
    expect(gw.logs.filter((l) => l.includes('coalesced read refused'))).toHaveLength(1);
  });
});
