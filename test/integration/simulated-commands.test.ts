/**
 * The loop of the default run on the simulated pumping station: command → write → read back → result → reading. An
 * operator (mosquitto_pub) stops the pump and sets the outlet valve; the station reacts and the next polls show it.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { hashPassword } from '../../gateway/broker/password.js';
import type { Reading } from '../../gateway/model.js';
import { mosquittoPub } from '../peers/mosquitto-pub.js';
import { mosquittoSub, type MosquittoSub } from '../peers/mosquitto-sub.js';
import { freePort, waitFor } from '../peers/net.js';
import { startGateway, type RunningGateway } from '../support/gateway.js';

const T = 60_000;

describe('commands to the simulated pumping station', () => {
  let gw: RunningGateway;
  let sub: MosquittoSub;
  const readings: Reading[] = [];

  beforeAll(async () => {
    const port = await freePort();
    gw = await startGateway(`site: lab
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
  const send = async (point: string, value: unknown) => {
    const id = `cmd-${++sent}`;
    const pub = await mosquittoPub({ port: gw.mqttPort, username: 'ops', password: 'ops-pass', topic: `city/lab/command/station/${point}`, message: JSON.stringify({ value, id }), qos: 1 });
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
});
