/**
 * A line-based serial device configured in the gateway's YAML: lines written on the device end of a socat pty pair
 * come out as readings on the embedded broker, in the MQTT contract.
 */
import { constants } from 'node:fs';
import { mkdtemp, open, rm, type FileHandle } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { mosquittoSub, type MosquittoSub } from '../peers/mosquitto-sub.js';
import { startPtyPair, type PtyPair } from '../peers/socat.js';
import { startGateway, type RunningGateway } from '../support/gateway.js';

describe('a serial-line device in the gateway', () => {
  let dir: string;
  let pair: PtyPair;
  let gw: RunningGateway;
  let sub: MosquittoSub;
  let device: FileHandle;

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'gw-line-'));
    pair = await startPtyPair(dir);
    gw = await startGateway(`site: lab
devices:
  - name: level-probe-4
    driver: serial-line
    port: ${pair.gatewayPath}
    baud: 9600
    domain: water
    tags: { zone: harbour }
    parser:
      type: kv
      fields:
        lvl: { metric: level, unit: m, scale: 0.01 }
        T: { metric: temperature, unit: degC }
`);
    sub = mosquittoSub({ port: gw.mqttPort, topic: 'city/lab/#' });
    await sub.ready();
    device = await open(pair.devicePath, constants.O_WRONLY | constants.O_NOCTTY);
  });
  afterAll(async () => {
    await device?.close();
    await sub?.stop();
    await gw?.stop();
    await pair?.stop();
    await rm(dir, { recursive: true, force: true });
  });

  it('publishes each field of each line as a reading, and the device online', async () => {
    await device.write('lvl=312,T=11.5\r\n');
    const level = await sub.next((m) => m.topic === 'city/lab/water/level-probe-4/level');
    expect(JSON.parse(level.payload)).toMatchObject({ value: 3.12, unit: 'm', quality: 'good' });
    const temperature = await sub.next((m) => m.topic === 'city/lab/water/level-probe-4/temperature');
    expect(JSON.parse(temperature.payload)).toMatchObject({ value: 11.5, unit: 'degC' });
    const status = await sub.next((m) => m.topic === 'city/lab/status/level-probe-4');
    expect(JSON.parse(status.payload)).toMatchObject({ state: 'online' });
  });
});
