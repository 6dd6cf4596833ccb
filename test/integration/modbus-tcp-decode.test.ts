/**
 * End to end against a real pymodbus slave: every type and byte order is decoded exactly and published on the
 * embedded broker with the contract payload, as an independent client (mosquitto_sub) sees it.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startModbusSlave, type ModbusSlave } from '../peers/modbus-slave.js';
import { mosquittoSub, type MosquittoSub } from '../peers/mosquitto-sub.js';
import { waitFor } from '../peers/net.js';
import { startGateway, type RunningGateway } from '../support/gateway.js';
import { wordsOf, type Order } from '../support/reference-encoding.js';

interface Case {
  name: string;
  type: string;
  order?: Order;
  /** What the gateway must publish as "value" (JSON); a bigint as a bare number with exactly its digits. */
  expected: unknown;
  words: number[];
  extra?: string;
}

const orders: Order[] = ['ABCD', 'CDAB', 'BADC', 'DCBA'];
const cases: Case[] = [];
function add(name: string, type: string, words: number[], expected: unknown, order?: Order, extra?: string): void {
  cases.push({ name, type, words, expected, ...(order ? { order } : {}), ...(extra ? { extra } : {}) });
}

for (const order of orders) {
  const o = order.toLowerCase();
  add(`i16_${o}`, 'int16', wordsOf('int16', -12345, order), -12345, order);
  add(`u16_${o}`, 'uint16', wordsOf('uint16', 65535, order), 65535, order);
  add(`i32_${o}`, 'int32', wordsOf('int32', -123456789, order), -123456789, order);
  add(`u32_${o}`, 'uint32', wordsOf('uint32', 4_000_000_000, order), 4_000_000_000, order);
  add(`i64_${o}`, 'int64', wordsOf('int64', -9007199254740993n, order), -9007199254740993n, order);
  add(`u64_${o}`, 'uint64', wordsOf('uint64', 9007199254740993n, order), 9007199254740993n, order);
  add(`u64max_${o}`, 'uint64', wordsOf('uint64', 18446744073709551615n, order), 18446744073709551615n, order);
  add(`f32_${o}`, 'float32', wordsOf('float32', -123.456, order), -123.456, order);
  add(`f32nan_${o}`, 'float32', wordsOf('float32', Number.NaN, order), null, order);
  add(`f64_${o}`, 'float64', wordsOf('float64', -1.5e300, order), -1.5e300, order);
}
add('bit3', 'bool', [0b1000], true, undefined, 'bit: 3');
add('bit2', 'bool', [0b1000], false, undefined, 'bit: 2');
add('label', 'string', wordsOf('string', 'PUMP-01A', 'ABCD', 5), 'PUMP-01A', undefined, 'length: 5');
add('scaled', 'int16', [0xfb2e], -1234 * 0.1 - 10, undefined, 'scale: 0.1, offset: -10');

const holding: Record<string, number> = {};
let address = 0;
const points = cases.map((c) => {
  const start = address;
  c.words.forEach((w, i) => (holding[String(start + i)] = w));
  address += c.words.length;
  return `      - { name: ${c.name}, address: ${start}, type: ${c.type}${c.order ? `, order: ${c.order}` : ''}${c.extra ? `, ${c.extra}` : ''}, unit: u }`;
});

describe('Modbus TCP decoding against pymodbus', () => {
  let slave: ModbusSlave;
  let gw: RunningGateway;
  let sub: MosquittoSub;

  beforeAll(async () => {
    slave = await startModbusSlave({
      spec: {
        units: {
          '1': {
            holding,
            input: { '0': 321, '1': 0x8000 },
            coil: { '0': true, '1': false },
            discrete: { '0': false, '1': true },
          },
        },
      },
    });
    gw = await startGateway(`
site: lab
devices:
  - name: plc-1
    driver: modbus-tcp
    host: 127.0.0.1
    port: ${slave.port}
    domain: water
    poll_interval: 300ms
    timeout: 2s
    tags: { zone: test }
    points:
${points.join('\n')}
      - { name: in_u16, table: input, address: 0, unit: u }
      - { name: in_i16, table: input, address: 1, type: int16 }
      - { name: coil0, table: coil, address: 0 }
      - { name: coil1, table: coil, address: 1 }
      - { name: di0, table: discrete, address: 0 }
      - { name: di1, table: discrete, address: 1, domain: energy }
`);
    sub = mosquittoSub({ port: gw.mqttPort, topic: 'city/#' });
    await sub.ready();
  });

  afterAll(async () => {
    await sub?.stop();
    await gw?.stop();
    await slave?.stop();
  });

  it('publishes every holding-register point with its exact value', async () => {
    for (const c of cases) {
      const message = await sub.next((m) => m.topic === `city/lab/water/plc-1/${c.name}`);
      const payload = JSON.parse(message.payload) as { value: unknown; unit: string; ts: number; quality: string };
      // JSON.parse would round a 64-bit integer to a double: its digits are compared as published.
      const value = typeof c.expected === 'bigint' ? /^\{"value":(-?\d+),/.exec(message.payload)?.[1] : payload.value;
      expect({ point: c.name, value }).toEqual({ point: c.name, value: typeof c.expected === 'bigint' ? String(c.expected) : c.expected });
      expect(payload.unit).toBe('u');
      expect(payload.quality).toBe(c.expected === null ? 'bad' : 'good');
      expect(Math.abs(Date.now() - payload.ts)).toBeLessThan(60_000);
    }
  });

  it('decodes input registers, coils and discrete inputs, honouring a point-level domain', async () => {
    const value = async (topic: string) => (JSON.parse((await sub.next((m) => m.topic === topic)).payload) as { value: unknown }).value;
    expect(await value('city/lab/water/plc-1/in_u16')).toBe(321);
    expect(await value('city/lab/water/plc-1/in_i16')).toBe(-32768);
    expect(await value('city/lab/water/plc-1/coil0')).toBe(true);
    expect(await value('city/lab/water/plc-1/coil1')).toBe(false);
    expect(await value('city/lab/water/plc-1/di0')).toBe(false);
    expect(await value('city/lab/energy/plc-1/di1')).toBe(true);
  });

  it('sends the exact contract payload keys, in order', async () => {
    const message = await sub.next((m) => m.topic === 'city/lab/water/plc-1/in_u16');
    expect(Object.keys(JSON.parse(message.payload) as object)).toEqual(['value', 'unit', 'ts', 'quality']);
    const noUnit = await sub.next((m) => m.topic === 'city/lab/water/plc-1/coil0');
    expect(Object.keys(JSON.parse(noUnit.payload) as object)).toEqual(['value', 'ts', 'quality']);
  });

  it('announces the device online on its retained status topic', async () => {
    const status = await sub.next((m) => m.topic === 'city/lab/status/plc-1');
    expect(JSON.parse(status.payload)).toMatchObject({ state: 'online' });
  });

  it('reads the whole map with the fewest requests: one per table, every poll', async () => {
    expect(address).toBeLessThanOrEqual(125);
    await slave.reset();
    const requests = await waitFor(async () => {
      const log = await slave.requests();
      return log.length >= 12 ? log : undefined;
    }, { what: 'three polls at the slave' });
    // A poll may have been under way at the reset: find the first holding read, then three whole polls follow.
    const first = requests.findIndex((r) => r.fc === 3);
    const onePoll = [
      { fc: 3, address: 0, count: address },
      { fc: 4, address: 0, count: 2 },
      { fc: 1, address: 0, count: 2 },
      { fc: 2, address: 0, count: 2 },
    ];
    const polls = requests.slice(first, first + 8).map(({ fc, address: a, count }) => ({ fc, address: a, count }));
    expect(polls).toEqual([...onePoll, ...onePoll]);
  });
});
