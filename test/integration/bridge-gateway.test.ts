/**
 * The whole gateway with a `bridge:` to a real Mosquitto standing in for the city platform: a field device's ingest
 * reaches the platform as normalised readings and retained status, a command from the platform reaches the device,
 * and the gateway's last words at shutdown (devices offline) still go upstream.
 */
import { connectAsync, type MqttClient } from 'mqtt';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { hashPassword } from '../../gateway/broker/password.js';
import { waitFor } from '../peers/net.js';
import { startMosquitto, type Mosquitto } from '../peers/mosquitto.js';
import { mosquittoPub } from '../peers/mosquitto-pub.js';
import { mosquittoSub, type MosquittoSub } from '../peers/mosquitto-sub.js';
import { startGateway, type RunningGateway } from '../support/gateway.js';
import { bridgeHealth } from '../support/health.js';

const T = 60_000;

describe('the gateway bridged to a central Mosquitto', () => {
  let central: Mosquitto;
  let gw: RunningGateway;
  let platform: MqttClient;
  let upstream: MosquittoSub;
  let device: MosquittoSub;

  beforeAll(async () => {
    central = await startMosquitto({ users: { 'gw-lab': 'bridge-secret', platform: 'platform-secret' } });
    upstream = mosquittoSub({ port: central.port, username: 'platform', password: 'platform-secret', topic: 'city/lab/#', qos: 1 });
    await upstream.ready();
    gw = await startGateway(`site: lab
mqtt:
  listeners: [{ type: tcp, host: 127.0.0.1, port: 0 }]
  users:
    - { username: pump-7, role: device, password_hash: "${await hashPassword('pump-pass', { ln: 10 })}" }
bridge:
  url: ${central.url}
  username: gw-lab
  password: bridge-secret
  reconnect_min: 100ms
  reconnect_max: 1s
`);
    platform = await connectAsync(central.url, { username: 'platform', password: 'platform-secret', clientId: 'platform-commands', reconnectPeriod: 0 });
    device = mosquittoSub({ port: gw.mqttPort, username: 'pump-7', password: 'pump-pass', topic: 'city/lab/command/pump-7/+', qos: 1 });
    await device.ready();
  }, T);

  afterAll(async () => {
    await platform?.endAsync();
    await device?.stop();
    await upstream?.stop();
    await gw?.stop();
    await central?.stop();
  });

  it('forwards a device\'s readings and status upstream', { timeout: T }, async () => {
    const result = await mosquittoPub({ port: gw.mqttPort, username: 'pump-7', password: 'pump-pass', qos: 1, topic: 'city/lab/ingest/water/pump-7', message: '{"flow": 8.25}' });
    expect(result.code, result.output).toBe(0);
    expect(JSON.parse((await upstream.next((m) => m.topic === 'city/lab/water/pump-7/flow')).payload)).toMatchObject({ value: 8.25, quality: 'good' });
    const status = await upstream.next((m) => m.topic === 'city/lab/status/pump-7');
    expect(JSON.parse(status.payload)).toMatchObject({ state: 'online' });
    // Raw ingest stays local: the platform gets the normalised readings only.
    expect(upstream.messages.some((m) => m.topic.includes('/ingest/'))).toBe(false);
    await waitForState('connected');
  });

  it('routes a command from the platform down to the device, and its result back up', { timeout: T }, async () => {
    await platform.publishAsync('city/lab/command/pump-7/setpoint', '{"value": 42}', { qos: 1 });
    expect(JSON.parse((await device.next((m) => m.topic === 'city/lab/command/pump-7/setpoint')).payload)).toEqual({ value: 42 });
    await mosquittoPub({ port: gw.mqttPort, username: 'pump-7', password: 'pump-pass', qos: 1, topic: 'city/lab/command/pump-7/setpoint/result', message: '{"ok": true}' });
    expect(JSON.parse((await upstream.next((m) => m.topic === 'city/lab/command/pump-7/setpoint/result')).payload)).toEqual({ ok: true });
    expect(bridgeHealth(gw.gateway)).toMatchObject({ commandsDown: 1, commandsDenied: 0 });
  });

  it('sends the gateway\'s last words upstream when it stops', { timeout: T }, async () => {
    const pump = await connectAsync(`mqtt://127.0.0.1:${gw.mqttPort}`, { username: 'pump-7', password: 'pump-pass', clientId: 'pump-7-live', reconnectPeriod: 0 });
    await pump.publishAsync('city/lab/ingest/water/pump-7', '{"flow": 9}', { qos: 1 });
    await upstream.next((m) => m.topic === 'city/lab/water/pump-7/flow' && m.payload.includes('"value":9'));
    await gw.stop();
    const offline = await upstream.next((m) => m.topic === 'city/lab/status/pump-7' && m.payload.includes('gateway stopped'));
    expect(JSON.parse(offline.payload)).toMatchObject({ state: 'offline' });
    pump.end(true);
  });

  async function waitForState(state: string): Promise<void> {
    await waitFor(() => (bridgeHealth(gw.gateway)?.state === state ? true : undefined), { what: `bridge ${state}` });
  }
});
