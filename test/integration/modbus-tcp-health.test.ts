/**
 * Device health against real pymodbus slaves: a killed slave is announced offline within two poll intervals while
 * the other device keeps its schedule; restarted on the same port, it comes back online by itself.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startModbusSlave, type ModbusSlave } from '../peers/modbus-slave.js';
import { mosquittoSub, type MosquittoSub } from '../peers/mosquitto-sub.js';
import { waitFor } from '../peers/net.js';
import { startGateway, type RunningGateway } from '../support/gateway.js';

const INTERVAL = 500;
const spec = { units: { '1': { holding: { '0': 10, '1': 20 } } } };

describe('Modbus TCP device health', () => {
  let a: ModbusSlave;
  let b: ModbusSlave;
  let gw: RunningGateway;
  let sub: MosquittoSub;

  beforeAll(async () => {
    a = await startModbusSlave({ spec });
    b = await startModbusSlave({ spec });
    const device = (name: string, port: number) => `
  - name: ${name}
    driver: modbus-tcp
    host: 127.0.0.1
    port: ${port}
    domain: water
    poll_interval: ${INTERVAL}ms
    timeout: 400ms
    retries: 0
    backoff_max: 1s
    points: [{ name: level, address: 0 }, { name: flow, address: 1 }]`;
    gw = await startGateway(`site: lab\ndevices:${device('dev-a', a.port)}${device('dev-b', b.port)}\n`);
    sub = mosquittoSub({ port: gw.mqttPort, topic: 'city/#' });
    await sub.ready();
    await sub.next((m) => m.topic === 'city/lab/status/dev-a' && m.payload.includes('"online"'));
    await sub.next((m) => m.topic === 'city/lab/status/dev-b' && m.payload.includes('"online"'));
  });

  afterAll(async () => {
    await sub?.stop();
    await gw?.stop();
    await a?.stop();
    await b?.stop();
  });

  it('marks a killed device offline within two poll intervals; the other keeps its schedule', async () => {
    const killedAt = Date.now();
    await a.kill();
    const offline = await sub.next((m) => m.topic === 'city/lab/status/dev-a' && m.payload.includes('"offline"'));
    const status = JSON.parse(offline.payload) as { state: string; ts: number; error: string };
    expect(status.error).toMatch(/refused|reset|closed|timed out/);
    expect(status.ts - killedAt).toBeLessThanOrEqual(2 * INTERVAL);
    expect(offline.retained).toBe(false);

    // While dev-a is down (and being retried with backoff), dev-b's readings keep coming at its interval.
    const seen = sub.messages.length;
    const stamps = await waitFor(() => {
      const levels = sub.messages.slice(seen).filter((m) => m.topic === 'city/lab/water/dev-b/level');
      return levels.length >= 6 ? levels.map((m) => (JSON.parse(m.payload) as { ts: number }).ts) : undefined;
    }, { what: 'six readings of dev-b while dev-a is down' });
    expect(stamps.length).toBeGreaterThanOrEqual(6);
    for (let i = 1; i < stamps.length; i++) expect(stamps[i]! - stamps[i - 1]!).toBeLessThan(2 * INTERVAL);
    expect(gw.gateway.statuses.get('dev-b')?.state).toBe('online');
  });

  it('brings the device back online by itself when it answers again', async () => {
    a = await startModbusSlave({ spec, tcp: { port: a.port } });
    const offlineAt = sub.messages.findIndex((m) => m.topic === 'city/lab/status/dev-a' && m.payload.includes('"offline"'));
    const online = await sub.next((m) => m.topic === 'city/lab/status/dev-a' && m.payload.includes('"online"') && sub.messages.indexOf(m) > offlineAt, 20_000);
    expect(JSON.parse(online.payload)).toMatchObject({ state: 'online' });
    await sub.next((m) => m.topic === 'city/lab/water/dev-a/level' && sub.messages.indexOf(m) > sub.messages.indexOf(online));
  });

  it('a late subscriber gets the retained status of each device', async () => {
    const late = mosquittoSub({ port: gw.mqttPort, topic: 'city/lab/status/#' });
    try {
      await late.ready();
      const status = await late.next((m) => m.topic === 'city/lab/status/dev-b');
      expect(status.retained).toBe(true);
      expect(JSON.parse(status.payload)).toMatchObject({ state: 'online' });
    } finally {
      await late.stop();
    }
  });
});
