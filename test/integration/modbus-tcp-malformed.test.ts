/**
 * A device that answers with broken frames (a real socket peer that gets the byte count wrong): each bad frame is
 * counted and logged with the device's name; the process and the other device's readings carry on.
 */
import { createServer, type Server } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startModbusSlave, type ModbusSlave } from '../peers/modbus-slave.js';
import { mosquittoSub, type MosquittoSub } from '../peers/mosquitto-sub.js';
import { waitFor } from '../peers/net.js';
import { startGateway, type RunningGateway } from '../support/gateway.js';

/** Answers every request with an MBAP frame whose PDU claims 4 data bytes but carries 2. */
function startGarbleServer(): Promise<Server> {
  const server = createServer((socket) => {
    socket.on('data', (request) => {
      const response = Buffer.from([request[0]!, request[1]!, 0, 0, 0, 5, request[6]!, request[7]!, 4, 0x12, 0x34]);
      socket.write(response);
    });
    socket.on('error', () => undefined);
  });
  return new Promise((resolve) => server.listen(0, '127.0.0.1', () => resolve(server)));
}

describe('malformed Modbus frames', () => {
  let garble: Server;
  let good: ModbusSlave;
  let gw: RunningGateway;
  let sub: MosquittoSub;

  beforeAll(async () => {
    garble = await startGarbleServer();
    good = await startModbusSlave({ spec: { units: { '1': { holding: { '0': 5, '1': 6 } } } } });
    const port = (garble.address() as { port: number }).port;
    gw = await startGateway(`
site: lab
devices:
  - { name: garbler, driver: modbus-tcp, host: 127.0.0.1, port: ${port}, domain: water, poll_interval: 300ms, timeout: 1s, retries: 1, points: [{ name: a, address: 0 }, { name: b, address: 1 }] }
  - { name: steady, driver: modbus-tcp, host: 127.0.0.1, port: ${good.port}, domain: water, poll_interval: 300ms, timeout: 1s, points: [{ name: a, address: 0 }, { name: b, address: 1 }] }
`);
    sub = mosquittoSub({ port: gw.mqttPort, topic: 'city/#' });
    await sub.ready();
  });

  afterAll(async () => {
    await sub?.stop();
    await gw?.stop();
    await good?.stop();
    await new Promise((resolve) => garble?.close(resolve));
  });

  it('counts and logs each bad frame with the device name, and reports the device offline with the reason', async () => {
    const status = await sub.next((m) => m.topic === 'city/lab/status/garbler');
    expect(JSON.parse(status.payload)).toMatchObject({ state: 'offline', error: expect.stringContaining('malformed response: Data length error') });
    await waitFor(() => (gw.logs.filter((l) => l.includes('malformed response') && l.includes('device=garbler')).length >= 2 ? true : undefined), { what: 'two logged bad frames' });
  });

  it('keeps the other device\'s readings flowing', async () => {
    const seen = sub.messages.length;
    await waitFor(() => (sub.messages.slice(seen).filter((m) => m.topic === 'city/lab/water/steady/a').length >= 3 ? true : undefined), { what: 'three readings of the steady device' });
    expect(sub.messages.some((m) => m.topic.startsWith('city/lab/water/garbler/'))).toBe(false);
  });
});
