/**
 * End to end against a real pymodbus slave: a point written as the manual writes it (`"40001"`, `"30002"`, or 1-based
 * with address_base 1) is read from the wire address it means, and published with that register's value.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startModbusSlave, type ModbusSlave } from '../peers/modbus-slave.js';
import { mosquittoSub, type MosquittoSub } from '../peers/mosquitto-sub.js';
import { startGateway, type RunningGateway } from '../support/gateway.js';

describe('register references and address_base against pymodbus', () => {
  let slave: ModbusSlave;
  let gw: RunningGateway;
  let sub: MosquittoSub;

  beforeAll(async () => {
    // Each wire address holds a value of its own, so a read one register off publishes a wrong number.
    slave = await startModbusSlave({ spec: { units: { '1': { holding: { '0': [1000, 1001, 1002] }, input: { '0': [2000, 2001] }, coil: { '0': [false, true] } } } } });
    gw = await startGateway(`
site: lab
devices:
  - name: by-reference
    driver: modbus-tcp
    host: 127.0.0.1
    port: ${slave.port}
    domain: water
    poll_interval: 200ms
    timeout: 2s
    points:
      - { name: first_holding, address: "40001" }
      - { name: second_input, address: "3x0002" }
      - { name: second_coil, address: "00002" }
  - name: one-based
    driver: modbus-tcp
    host: 127.0.0.1
    port: ${slave.port}
    domain: water
    poll_interval: 200ms
    timeout: 2s
    address_base: 1
    points:
      - { name: register_1, address: 1 }
      - { name: register_3, address: 3 }
`);
    sub = mosquittoSub({ port: gw.mqttPort, topic: 'city/lab/water/#' });
    await sub.ready();
  });

  afterAll(async () => {
    await sub?.stop();
    await gw?.stop();
    await slave?.stop();
  });

  const valueOf = async (topic: string): Promise<unknown> => (JSON.parse((await sub.next((m) => m.topic === topic)).payload) as { value: unknown }).value;

  it('reads "40001" from wire register 0, "3x0002" from input 1 and "00002" from coil 1', async () => {
    expect(await valueOf('city/lab/water/by-reference/first_holding')).toBe(1000);
    expect(await valueOf('city/lab/water/by-reference/second_input')).toBe(2001);
    expect(await valueOf('city/lab/water/by-reference/second_coil')).toBe(true);
  });

  it('reads address 1 from wire register 0 with address_base 1', async () => {
    expect(await valueOf('city/lab/water/one-based/register_1')).toBe(1000);
    expect(await valueOf('city/lab/water/one-based/register_3')).toBe(1002);
  });

  it('asks the slave for wire register 0, never for 40000 or 40001', async () => {
    const holdingReads = (await slave.requests()).filter((r) => r.fc === 3 && r.unit === 1);
    expect(holdingReads.length).toBeGreaterThan(0);
    expect(new Set(holdingReads.map((r) => r.address))).toEqual(new Set([0]));
  });
});
