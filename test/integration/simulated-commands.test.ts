/**
 * The loop of the default run on the simulated pumping station: command → write → read back → result → reading. An
 * operator (mosquitto_pub) stops the pump and sets the outlet valve; the station reacts and the next polls show it.
 * /metrics counts them by outcome.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { hashPassword } from '../../gateway/broker/password.js';
import type { Reading } from '../../gateway/model.js';
import { mosquittoPub } from '../peers/mosquitto-pub.js';
import { mosquittoSub, type MosquittoSub } from '../peers/mosquitto-sub.js';
import { freePort, waitFor } from '../peers/net.js';
import { startGateway, type RunningGateway } from '../support/gateway.js';
import { httpCall } from '../support/http-client.js';

const T = 60_000;
const METRICS_TOKEN = 'prometheus-scrape-token-commands-0123';

describe('commands to the simulated pumping station', () => {
  let gw: RunningGateway;
  let sub: MosquittoSub;
  const readings: Reading[] = [];

  beforeAll(async () => {
    const port = await freePort();
    gw = await startGateway(`site: lab
http: { listen: { port: 0 }, metrics_token: ${METRICS_TOKEN} }
mqtt:
  listeners: [{ type: tcp, host: 127.0.0.1, port: 0 }]
  users:
    - { username: ops, role: operator, password_hash: "${await hashPassword('ops-pass', { ln: 10 })}" }
simulator:
  slaves: [{ model: water-pumping-station, port: ${port}, profile: sim-pumping-station, seed: 7 }]
devices:
  - { name: station, driver: modbus-tcp, host: 127.0.0.1, port: ${port}, profile: sim-pumping-station, poll_interval: 200ms }
`);
    gw.gateway.pipeline.attach({ name: 'test', write: (batch) => void readings.push(...batch) });
    sub = mosquittoSub({ port: gw.mqttPort, username: 'ops', password: 'ops-pass', topic: 'city/lab/command/#', qos: 1 });
    await sub.ready();
  }, T);

  afterAll(async () => {
    await sub?.stop();
    await gw?.stop();
  });

  let sent = 0;
  const send = async (point: string, value: unknown, opts: { ts?: number; retain?: boolean } = {}) => {
    const id = `cmd-${++sent}`;
    const message = JSON.stringify({ value, id, ...(opts.ts !== undefined && { ts: opts.ts }) });
    const pub = await mosquittoPub({ port: gw.mqttPort, username: 'ops', password: 'ops-pass', topic: `city/lab/command/station/${point}`, message, qos: 1, extra: opts.retain ? ['-r'] : [] });
    expect(pub.code, pub.output).toBe(0);
    return JSON.parse((await sub.next((m) => m.topic === `city/lab/command/station/${point}/result` && m.payload.includes(`"${id}"`))).payload) as unknown;
  };
  const latest = (metric: string) => readings.findLast((r) => r.metric === metric);

  it('stops the pump: the result, then pump speed and inflow at zero in the readings', { timeout: T }, async () => {
    await waitFor(() => (latest('pump_speed') && latest('pump_enable')?.value === true ? true : undefined), { what: 'the station polled, pump enabled' });
    expect(latest('pump_speed')!.value as number).toBeGreaterThan(20);
    expect(await send('pump_enable', false)).toMatchObject({ ok: true, value: false });
    const from = readings.length;
    const after = (metric: string) => readings.slice(from).findLast((r) => r.metric === metric);
    await waitFor(() => (after('pump_running')?.value === false && after('pump_speed')?.value === 0 ? true : undefined), { what: 'the pump stopped in the readings' });
    expect(after('inflow')!.value as number).toBeLessThan(5);
    expect(after('pump_enable')!.value).toBe(false);
  });

  it('sets the outlet valve and refuses what its range does not allow', { timeout: T }, async () => {
    expect(await send('valve_setpoint', 35.5)).toMatchObject({ ok: true, value: 35.5 });
    const from = readings.length;
    await waitFor(() => (readings.slice(from).some((r) => r.metric === 'valve_setpoint' && r.value === 35.5) ? true : undefined), { what: 'the setpoint in the readings' });
    expect(await send('valve_setpoint', 120)).toMatchObject({ ok: false, error: "120 is above the point's max 100" });
    // A measured value is no input: the gateway refuses it before the station would.
    expect(await send('level', 2)).toMatchObject({ ok: false, error: 'point level is not writable' });
  });

  it('counts the commands on /metrics by outcome', { timeout: T }, async () => {
    const commandSamples = async () => {
      const answer = await httpCall(`${gw.gateway.httpAddress!.url}/metrics`, { headers: { authorization: `Bearer ${METRICS_TOKEN}` } });
      expect(answer.status).toBe(200);
      return new Map([...answer.body.matchAll(/^(gateway_command\S*) (\S+)$/gm)].map((m) => [m[1]!, Number(m[2])]));
    };
    // One refusal of each kind of its own: stale (an hour old), retained.
    expect(await send('valve_setpoint', 40, { ts: Date.now() - 3_600_000 })).toMatchObject({ ok: false, error: expect.stringMatching(/^stale command/) });
    expect(await send('valve_setpoint', 41, { retain: true })).toMatchObject({ ok: false, error: expect.stringMatching(/^a retained command is never carried out/) });
    // Cleared as the refusal asks: an empty retained message is no command (no result, not counted).
    const cleared = await mosquittoPub({ port: gw.mqttPort, username: 'ops', password: 'ops-pass', topic: 'city/lab/command/station/valve_setpoint', message: '', qos: 1, extra: ['-r'] });
    expect(cleared.code, cleared.output).toBe(0);
    // A command after it is answered next: had the clearing been taken for one, its result would come first.
    expect(await send('valve_setpoint', 42)).toMatchObject({ ok: true, value: 42 });
    expect(sub.messages.filter((m) => m.topic === 'city/lab/command/station/valve_setpoint/result').map((m) => JSON.parse(m.payload) as { id?: string }).at(-2)?.id).toBe(`cmd-${sent - 1}`);
    // With the tests before: 3 succeeded, 2 failed (out of range, not writable).
    expect(Object.fromEntries(await commandSamples())).toEqual({
      'gateway_commands_total{outcome="succeeded"}': 3,
      'gateway_commands_total{outcome="retained"}': 1,
      'gateway_commands_total{outcome="stale"}': 1,
      'gateway_commands_total{outcome="busy"}': 0,
      'gateway_commands_total{outcome="failed"}': 2,
      gateway_commands_pending: 0,
      gateway_command_audit_failures_total: 0,
    });
  });
});
