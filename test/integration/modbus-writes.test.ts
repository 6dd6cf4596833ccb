/**
 * Commands to Modbus points against a real pymodbus TCP slave, sent by independent clients (mosquitto_pub, HTTP):
 * every writable type and byte order written and read back exactly (and checked in the slave's own registers), each
 * refusal with its reason and nothing written, the ACL, retained and stale commands, the audit file and event.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { hashPassword } from '../../gateway/broker/password.js';
import { startModbusSlave, type ModbusSlave } from '../peers/modbus-slave.js';
import { mosquittoPub } from '../peers/mosquitto-pub.js';
import { mosquittoSub, type MosquittoSub } from '../peers/mosquitto-sub.js';
import { freePort, waitFor } from '../peers/net.js';
import { startGateway, type RunningGateway } from '../support/gateway.js';
import { basicAuth, httpCall } from '../support/http-client.js';
import { wordsOf, type Order } from '../support/reference-encoding.js';

const T = 60_000;
const passwords = { ops: 'ops-pass', desk: 'desk-pass', plc: 'plc-pass' } as const;
type User = keyof typeof passwords;
const orders: Order[] = ['ABCD', 'CDAB', 'BADC', 'DCBA'];
const WRITE_FCS = [5, 6, 15, 16];

/** Every writable numeric type in every order, each at its own addresses from 0 on. */
const typed = ['int16', 'uint16', 'int32', 'uint32', 'float32', 'int64', 'uint64', 'float64'].flatMap((type) => orders.map((order) => ({ type, order, name: `${type}_${order.toLowerCase()}` })));
const spanOf = (type: string) => (type.endsWith('16') ? 1 : type.endsWith('32') ? 2 : 4);
let next = 0;
const placed = typed.map((point) => ({ ...point, address: (next += spanOf(point.type)) - spanOf(point.type) }));
const samples: Record<string, number[]> = {
  int16: [-32768, 32767, -2],
  uint16: [65535, 0, 4660],
  int32: [-2147483648, 2147483647, -123456789],
  uint32: [4294967295, 305419896],
  float32: [-1.5, 3.4028234663852886e38, 250.7175],
  int64: [-9007199254740991, 9007199254740991, -1],
  uint64: [9007199254740991, 4503599627370497],
  float64: [Math.PI, -1e300],
};
const AT = next; // first free register after the typed points

describe('Modbus writes from commands', () => {
  let slave: ModbusSlave;
  let gw: RunningGateway;
  let all: MosquittoSub;
  let counter = 0;

  const as = (user: User) => ({ port: gw.mqttPort, username: user, password: passwords[user] });
  /** Publishes a command as `user` and waits for its result, matched by a fresh id. */
  const command = async (user: User, device: string, point: string, body: Record<string, unknown>, extra: string[] = []) => {
    const id = `c${++counter}`;
    const topic = `city/lab/command/${device}/${point}`;
    const sent = await mosquittoPub({ ...as(user), topic, message: JSON.stringify({ ...body, id }), qos: 1, clientId: `${user}-cmd`, extra });
    expect(sent.code, sent.output).toBe(0);
    const result = await all.next((m) => m.topic === `${topic}/result` && m.payload.includes(`"id":"${id}"`));
    return JSON.parse(result.payload) as { ok: boolean; value?: unknown; error?: string; ts?: number; id: string };
  };
  const writesSince = async (from: number) => (await slave.requests()).slice(from).filter((r) => WRITE_FCS.includes(r.fc));

  beforeAll(async () => {
    const holding: Record<number, number[]> = { 0: new Array<number>(AT + 8).fill(0) };
    slave = await startModbusSlave({ spec: { units: { 1: { holding, input: { 0: 7 }, coil: { 0: [false, false, false] } } } } });
    const hash = (user: User) => hashPassword(passwords[user], { ln: 10 });
    const points = [
      ...placed.map((p) => `{ name: ${p.name}, address: ${p.address}, type: ${p.type}, order: ${p.order}, writable: true }`),
      `{ name: setpoint, address: ${AT}, type: uint16, scale: 0.1, offset: -5, min: 0, max: 100, writable: true, unit: "%" }`,
      `{ name: alarm_enable, address: ${AT + 1}, type: bool, bit: 3, writable: true }`,
      `{ name: label, address: ${AT + 2}, type: string, length: 2, writable: true }`,
      `{ name: clamped, address: ${AT + 4}, type: int16, writable: true }`,
      `{ name: firmware, address: ${AT + 5}, type: uint16 }`,
      `{ name: missing, address: 300, type: uint16, writable: true }`,
      `{ name: pump, table: coil, address: 0, writable: true }`,
      `{ name: valve, table: coil, address: 1, writable: true }`,
      `{ name: level, table: input, address: 0 }`,
    ];
    gw = await startGateway(`site: lab
mqtt:
  listeners: [{ type: tcp, host: 127.0.0.1, port: 0 }]
  allow_anonymous: false
  users:
    - { username: ops, role: operator, password_hash: "${await hash('ops')}" }
    - { username: desk, role: staff, password_hash: "${await hash('desk')}" }
    - { username: plc, role: device, devices: ["plc", "ghost"], password_hash: "${await hash('plc')}" }
devices:
  - name: plc
    driver: modbus-tcp
    host: 127.0.0.1
    port: ${slave.port}
    domain: water
    poll_interval: 200ms
    timeout: 1s
    points:
${points.map((p) => `      - ${p}`).join('\n')}
  - { name: ghost, driver: modbus-tcp, host: 127.0.0.1, port: ${await freePort()}, domain: water, poll_interval: 200ms, timeout: 300ms, backoff_max: 1s, points: [{ name: speed, address: 0, writable: true }] }
`);
    all = mosquittoSub({ ...as('ops'), topic: ['city/lab/command/#', 'city/lab/events/#', 'city/lab/clients/#'], qos: 1 });
    await all.ready();
    await waitFor(() => (gw.gateway.statuses.get('plc')?.state === 'online' ? true : undefined), { what: 'plc online' });
  }, T);

  afterAll(async () => {
    await all?.stop();
    await gw?.stop();
    await slave?.stop();
  });

  it('writes every integer and float type in every byte order and reads it back exactly', { timeout: 4 * T }, async () => {
    for (const point of placed) {
      for (const value of samples[point.type]!) {
        const result = await command('ops', 'plc', point.name, { value });
        expect(result, `${point.name} = ${value}`).toMatchObject({ ok: true });
        // A float32 holds the value to its own precision: the same float32 comes back.
        if (point.type === 'float32') expect(Math.fround(result.value as number), `${point.name} = ${value}`).toBe(Math.fround(value));
        else expect(result.value, `${point.name} = ${value}`).toBe(value);
        // The slave holds the bytes an independent encoder lays out for that type and order.
        const words = await slave.get(1, 'holding', point.address, spanOf(point.type));
        expect(words, `${point.name} = ${value} in the slave`).toEqual(wordsOf(point.type, point.type.endsWith('64') && !point.type.startsWith('float') ? BigInt(value) : value, point.order as Order));
      }
    }
  });

  it('uses FC 6 for one register, FC 16 for several, FC 5 for a coil, and reads back coils and bits', { timeout: T }, async () => {
    const from = (await slave.requests()).length;
    expect(await command('ops', 'plc', 'int16_abcd', { value: 5 })).toMatchObject({ ok: true, value: 5 });
    expect(await command('ops', 'plc', 'int32_abcd', { value: 5 })).toMatchObject({ ok: true, value: 5 });
    expect(await command('ops', 'plc', 'pump', { value: true })).toMatchObject({ ok: true, value: true });
    expect((await writesSince(from)).map((r) => [r.fc, r.count])).toEqual([
      [6, 1],
      [16, 2],
      [5, 1],
    ]);
    expect(await slave.get(1, 'coil', 0, 2)).toEqual([true, false]);
    expect(await command('ops', 'plc', 'pump', { value: false })).toMatchObject({ ok: true, value: false });
    // A bool at a bit changes that bit alone.
    await slave.set(1, 'holding', AT + 1, [0x8001]);
    expect(await command('ops', 'plc', 'alarm_enable', { value: true })).toMatchObject({ ok: true, value: true });
    expect(await slave.get(1, 'holding', AT + 1, 1)).toEqual([0x8009]);
    expect(await command('ops', 'plc', 'setpoint', { value: 42.5 })).toMatchObject({ ok: true, value: 42.5 });
    expect(await slave.get(1, 'holding', AT, 1)).toEqual([475]);
    expect(await command('ops', 'plc', 'label', { value: 'P1' })).toMatchObject({ ok: true, value: 'P1' });
  });

  it('refuses each kind of bad command with its reason, writing nothing', { timeout: 2 * T }, async () => {
    const from = (await slave.requests()).length;
    const cases: [string, Record<string, unknown>, RegExp][] = [
      ['firmware', { value: 1 }, /point firmware is not writable/],
      ['level', { value: 1 }, /point level is not writable/],
      ['nope', { value: 1 }, /device plc has no point nope/],
      ['int16_abcd', { value: 40000 }, /40000 is out of range for int16: -32768 to 32767/],
      ['uint16_abcd', { value: -1 }, /out of range for uint16/],
      ['int16_abcd', { value: 1.5 }, /1.5 is not a value int16_abcd can hold .*nearest is 2/],
      ['setpoint', { value: 12.34 }, /not a value setpoint can hold \(uint16 with scale 0.1, offset -5\)/],
      ['setpoint', { value: 150 }, /above the point's max 100/],
      ['setpoint', { value: -1 }, /below the point's min 0/],
      // A JSON number past 2^53 may have lost digits on the way: an exact 64-bit point wants them as a string.
      ['int64_abcd', { value: 2 ** 60 }, /takes a whole number \(beyond 2\^53 as a string of digits/],
      ['float32_abcd', { value: 1e39 }, /out of range for float32/],
      ['int16_abcd', { value: '12' }, /takes a number, not "12"/],
      ['pump', { value: 1 }, /takes true or false, not 1/],
      ['label', { value: 'TOO LONG' }, /longer than the 4 characters/],
      ['int16_abcd', { level: 3 }, /unknown key "level"/],
      ['int16_abcd', { value: 1, ts: Date.now() - 60_000 }, /stale command: sent 60(\.\d)? s ago, more than commands.max_age \(10 s\)/],
    ];
    for (const [point, body, reason] of cases) {
      const result = await command('ops', 'plc', point, body);
      expect(result.ok, `${point} ${JSON.stringify(body)}`).toBe(false);
      expect(result.error, `${point} ${JSON.stringify(body)}`).toMatch(reason);
    }
    expect(await writesSince(from)).toEqual([]);
    expect(gw.gateway.health().commands).toMatchObject({ stale: 1 });
  });

  it('names a Modbus exception, a read-back mismatch and an offline device', { timeout: T }, async () => {
    expect(await command('ops', 'plc', 'missing', { value: 1 })).toMatchObject({ ok: false, error: 'Modbus exception 2 (illegal data address)' });
    await slave.set(1, 'holding', AT + 4, [7]);
    await slave.freeze(1, 'holding', [AT + 4]);
    expect(await command('ops', 'plc', 'clamped', { value: 9 })).toMatchObject({ ok: false, error: 'read-back mismatch: wrote 9, the device holds 7' });
    await slave.freeze(1, 'holding', []);
    await waitFor(() => (gw.gateway.statuses.get('ghost')?.state === 'offline' ? true : undefined), { what: 'ghost offline' });
    expect((await command('ops', 'ghost', 'speed', { value: 1 })).error).toMatch(/^device offline: .*connection refused/);
  });

  it('executes neither a retained command nor one from a device or staff login', { timeout: T }, async () => {
    const from = (await slave.requests()).length;
    const retained = await command('ops', 'plc', 'pump', { value: true }, ['-r']);
    expect(retained).toMatchObject({ ok: false, error: expect.stringMatching(/^a retained command is never carried out/) });
    // The broker kept nothing; an empty retained message (a clearing) is no command, and not audited.
    await mosquittoPub({ ...as('ops'), topic: 'city/lab/command/plc/pump', message: '', qos: 1, extra: ['-r'] });
    for (const user of ['plc', 'desk'] as const) {
      const sent = await mosquittoPub({ ...as(user), topic: 'city/lab/command/plc/pump', message: '{"value":true}', qos: 1, clientId: `${user}-cmd` });
      expect(sent.code, sent.output).toBe(0);
      const refusal = await all.next((m) => m.topic === `city/lab/clients/${user}-cmd/errors`);
      expect(refusal.payload).toContain('not allowed to publish here');
    }
    // The slave saw no write of any of them: a last allowed command shows the refused ones had their chance.
    expect(await command('ops', 'plc', 'valve', { value: true })).toMatchObject({ ok: true });
    expect((await writesSince(from)).map((r) => r.address)).toEqual([1]);
    expect(await slave.get(1, 'coil', 0, 1)).toEqual([false]);
  });

  it('takes commands from the platform through the bridge as from an operator', { timeout: T }, async () => {
    // What the bridge does with a command from upstream: an internal publish on the local command topic.
    await gw.gateway.mqttBroker!.publish('city/lab/command/plc/int16_abcd', '{"value":-7,"id":"up-1"}', 1, false);
    const result = await all.next((m) => m.topic === 'city/lab/command/plc/int16_abcd/result' && m.payload.includes('"up-1"'));
    expect(JSON.parse(result.payload)).toMatchObject({ ok: true, value: -7 });
  });

  it('writes over HTTP for an operator, and refuses staff with 403', { timeout: T }, async () => {
    const url = `${gw.gateway.httpAddress!.url}/api/devices/plc/points/setpoint`;
    const headers = { 'content-type': 'application/json' };
    const ok = await httpCall(url, { method: 'POST', headers: { ...headers, ...basicAuth('ops', passwords.ops) }, body: '{"value":55}' });
    expect(ok.status, ok.body).toBe(200);
    expect(ok.json()).toMatchObject({ ok: true, value: 55 });
    const mqttResult = await all.next((m) => m.topic === 'city/lab/command/plc/setpoint/result' && m.payload.includes('"value":55'));
    expect(JSON.parse(mqttResult.payload)).toMatchObject({ ok: true });
    const from = (await slave.requests()).length;
    const staff = await httpCall(url, { method: 'POST', headers: { ...headers, ...basicAuth('desk', passwords.desk) }, body: '{"value":60}' });
    expect(staff.status).toBe(403);
    const refused = await httpCall(url, { method: 'POST', headers: { ...headers, ...basicAuth('ops', passwords.ops) }, body: '{"value":101}' });
    expect(refused.status).toBe(422);
    expect(refused.json()).toMatchObject({ ok: false, error: expect.stringMatching(/above the point's max 100/) });
    expect(await writesSince(from)).toEqual([]);
    const unknown = await httpCall(`${gw.gateway.httpAddress!.url}/api/devices/nobody/points/x`, { method: 'POST', headers: { ...headers, ...basicAuth('ops', passwords.ops) }, body: '{"value":1}' });
    expect(unknown.status).toBe(404);
  });

  it('audits every attempt in data_dir/audit/commands.jsonl and on events/commands', { timeout: T }, async () => {
    const event = await all.next((m) => m.topic === 'city/lab/events/commands' && m.payload.includes('"via":"http"') && m.payload.includes('"ok":true'));
    expect(JSON.parse(event.payload)).toMatchObject({ via: 'http', user: 'ops', role: 'operator', client: 'http:ops', device: 'plc', point: 'setpoint', value: 55, ok: true, after: 55, error: null });
    const lines = readFileSync(join(gw.dir, 'data', 'audit', 'commands.jsonl'), 'utf8').trim().split('\n').map((line) => JSON.parse(line) as Record<string, unknown>);
    expect(lines).toContainEqual(JSON.parse(event.payload));
    const pumpOff = lines.find((line) => line.point === 'pump' && line.value === false && line.ok === true);
    expect(pumpOff).toMatchObject({ via: 'mqtt', user: 'ops', role: 'operator', client: 'ops-cmd', before: true, after: false, error: null });
    expect(lines.find((line) => line.via === 'upstream')).toMatchObject({ user: 'bridge', role: 'operator', client: 'bridge', id: 'up-1', after: -7 });
    expect(lines.filter((line) => line.error && String(line.error).startsWith('a retained command'))).toHaveLength(1);
    // Refused publishes (device, staff) never reached the command service: nothing of theirs is audited.
    expect(lines.some((line) => line.user === 'plc' || line.user === 'desk')).toBe(false);
    expect(gw.gateway.health().commands).toMatchObject({ retained: 1, auditFailures: 0, pending: 0 });
  });
});
