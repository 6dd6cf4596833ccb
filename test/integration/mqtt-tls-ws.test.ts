/**
 * TLS and WebSocket listeners: a CA made for the test with openssl signs the gateway's certificate and the devices'
 * client certificates. mosquitto_pub speaks TLS (password or certificate login); the `mqtt` client speaks ws/wss.
 */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { connectAsync } from 'mqtt';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { hashPassword } from '../../gateway/broker/password.js';
import { mosquittoPub } from '../peers/mosquitto-pub.js';
import { mosquittoSub, type MosquittoSub } from '../peers/mosquitto-sub.js';
import { startGateway, type RunningGateway } from '../support/gateway.js';
import { makeTestCa, type TestCa } from '../support/test-ca.js';

const T = 60_000;

describe('TLS and WebSocket listeners', () => {
  let dir: string;
  let ca: TestCa;
  let stranger: TestCa;
  let gw: RunningGateway;
  let all: MosquittoSub;
  const portOf = (url: RegExp) => gw.gateway.mqttListeners.find((l) => url.test(l.url))!.port;

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'gw-tls-'));
    ca = await makeTestCa(dir, 'city', ['cam-1', 'nobody']);
    stranger = await makeTestCa(dir, 'other', ['cam-1']);
    gw = await startGateway(`site: lab
mqtt:
  listeners:
    - { type: tcp, host: 127.0.0.1, port: 0 }
    - { type: tls, host: 127.0.0.1, port: 0, cert: ${ca.server.cert}, key: ${ca.server.key}, ca: ${ca.ca}, client_certificates: optional }
    - { type: tls, host: 127.0.0.1, port: 0, cert: ${ca.server.cert}, key: ${ca.server.key}, ca: ${ca.ca}, client_certificates: require }
    - { type: ws, host: 127.0.0.1, port: 0, path: /mqtt }
    - { type: ws, host: 127.0.0.1, port: 0, path: /mqtt, cert: ${ca.server.cert}, key: ${ca.server.key} }
  users:
    - { username: pump-7, role: device, password_hash: "${await hashPassword('pump-pass', { ln: 10 })}" }
    - { username: cam-1, role: device }
    - { username: ops, role: operator, password_hash: "${await hashPassword('ops-pass', { ln: 10 })}" }
`);
    all = mosquittoSub({ port: gw.mqttPort, topic: 'city/lab/#' }); // anonymous, on the loopback TCP listener
    await all.ready();
  }, T);

  afterAll(async () => {
    await all?.stop();
    await gw?.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  const tlsPub = (port: number, extra: string[], user?: [string, string]) =>
    mosquittoPub({ port, topic: `city/lab/ingest/traffic/${user?.[0] ?? 'cam-1'}`, message: '{"vehicle_count": 17}', qos: 1, extra, ...(user ? { username: user[0], password: user[1] } : {}) });

  it('binds every listener with its scheme', () => {
    expect(gw.gateway.mqttListeners.map((l) => l.url.split(':')[0])).toEqual(['mqtt', 'mqtts', 'mqtts', 'ws', 'wss']);
  });

  it('logs a device in by its client certificate (CN = user) over TLS', { timeout: T }, async () => {
    const port = portOf(/^mqtts/);
    const { cert, key } = ca.clients['cam-1']!;
    const result = await tlsPub(port, ['--cafile', ca.ca, '--cert', cert, '--key', key]);
    expect(result.code, result.output).toBe(0);
    expect(JSON.parse((await all.next((m) => m.topic === 'city/lab/traffic/cam-1/vehicle_count')).payload)).toMatchObject({ value: 17 });
  });

  it('takes a password login over TLS where certificates are optional', { timeout: T }, async () => {
    const result = await tlsPub(portOf(/^mqtts/), ['--cafile', ca.ca], ['pump-7', 'pump-pass']);
    expect(result.code, result.output).toBe(0);
    await all.next((m) => m.topic === 'city/lab/traffic/pump-7/vehicle_count');
  });

  it('refuses a certificate-only user without a certificate, an unknown CN, and a foreign CA', { timeout: T }, async () => {
    const optional = gw.gateway.mqttListeners.filter((l) => l.url.startsWith('mqtts'))[0]!.port;
    const required = gw.gateway.mqttListeners.filter((l) => l.url.startsWith('mqtts'))[1]!.port;
    // cam-1 has no password: it can only log in with its certificate.
    expect((await tlsPub(optional, ['--cafile', ca.ca], ['cam-1', 'anything'])).code).not.toBe(0);
    // A certificate signed by the CA whose CN is not a user.
    const nobody = ca.clients['nobody']!;
    const unknown = await tlsPub(required, ['--cafile', ca.ca, '--cert', nobody.cert, '--key', nobody.key]);
    expect(unknown.code).not.toBe(0);
    expect(unknown.output).toMatch(/not authori[sz]ed/i);
    // The listener that requires certificates: none, or one from another CA, fails the handshake.
    expect((await tlsPub(required, ['--cafile', ca.ca], ['pump-7', 'pump-pass'])).code).not.toBe(0);
    const foreign = stranger.clients['cam-1']!;
    expect((await tlsPub(required, ['--cafile', ca.ca, '--cert', foreign.cert, '--key', foreign.key])).code).not.toBe(0);
    // And with the right certificate it works there too.
    const good = ca.clients['cam-1']!;
    expect((await tlsPub(required, ['--cafile', ca.ca, '--cert', good.cert, '--key', good.key])).code).toBe(0);
  });

  it('speaks MQTT over WebSocket (ws and wss) with the same logins and permissions', { timeout: T }, async () => {
    const ws = gw.gateway.mqttListeners.find((l) => l.url.startsWith('ws:'))!;
    const wss = gw.gateway.mqttListeners.find((l) => l.url.startsWith('wss:'))!;
    const ops = await connectAsync(wss.url, { username: 'ops', password: 'ops-pass', ca: readFileSync(ca.ca), reconnectPeriod: 0 });
    const device = await connectAsync(ws.url, { username: 'pump-7', password: 'pump-pass', reconnectPeriod: 0 });
    try {
      await ops.subscribeAsync('city/lab/water/pump-7/#', { qos: 1 });
      const received = new Promise<string>((resolve) => ops.once('message', (_topic, payload) => resolve(payload.toString())));
      await device.publishAsync('city/lab/ingest/water/pump-7', '{"flow": 4.5}', { qos: 1 });
      expect(JSON.parse(await received)).toMatchObject({ value: 4.5 });
      // The device may not read readings over WebSocket either.
      await expect(device.subscribeAsync('city/lab/#')).rejects.toThrow(/Subscribe error/);
      await expect(connectAsync(ws.url, { username: 'pump-7', password: 'wrong', reconnectPeriod: 0 })).rejects.toThrow(/Bad username or password|not authori[sz]ed/i);
    } finally {
      await ops.endAsync();
      await device.endAsync();
    }
  });
});
