/**
 * The newcomer's run: the gateway process on the default config (its ports moved to free ones), watched by
 * mosquitto_sub, shows water, traffic and energy readings within seconds and exits 0 on SIGINT/SIGTERM.
 */
import { mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { mosquittoSub } from '../peers/mosquitto-sub.js';
import { freePort, waitFor } from '../peers/net.js';
import { spawnGateway, type GatewayProcess } from '../support/gateway-process.js';

interface DefaultGateway extends GatewayProcess {
  mqttPort: number;
}

const cleanups: (() => Promise<void> | void)[] = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0)) await cleanup();
});

async function startDefaultGateway(): Promise<DefaultGateway> {
  const dir = mkdtempSync(join(tmpdir(), 'gw-default-'));
  cleanups.push(() => rmSync(dir, { recursive: true, force: true }));
  symlinkSync(resolve('config', 'profiles'), join(dir, 'profiles'));
  const mqttPort = await freePort();
  // Its data dir (the InfluxDB buffer) stays inside the temp dir; no InfluxDB answers on the port it is given.
  let yaml = readFileSync('config/default.yaml', 'utf8')
    .replace('port: 1883', `port: ${mqttPort}`)
    .replace('data_dir: ../data', 'data_dir: data')
    .replace('${INFLUX_URL:-http://127.0.0.1:8086}', `http://127.0.0.1:${await freePort()}`);
  for (const simulated of [15020, 15021, 15022]) yaml = yaml.replaceAll(`port: ${simulated}`, `port: ${await freePort()}`);
  writeFileSync(join(dir, 'gateway.yaml'), yaml);
  const gateway = await spawnGateway(join(dir, 'gateway.yaml'));
  cleanups.unshift(() => gateway.cleanup());
  return { ...gateway, mqttPort };
}

describe('default run on the simulated district', () => {
  it('publishes water, traffic and energy readings and device statuses; SIGINT stops it with exit 0', async () => {
    const gw = await startDefaultGateway();
    const sub = mosquittoSub({ port: gw.mqttPort, topic: 'city/#' });
    try {
      await sub.ready();
      for (const domain of ['water', 'traffic', 'energy']) {
        const message = await sub.next((m) => m.topic.startsWith(`city/district-7/${domain}/`));
        const payload = JSON.parse(message.payload) as { value: unknown; ts: number; quality: string };
        expect(payload.quality).toBe('good');
        expect(typeof payload.value === 'number' || typeof payload.value === 'boolean').toBe(true);
      }
      await sub.next((m) => m.topic === 'city/district-7/status/pump-station-3' && m.payload.includes('"online"'));
      expect(sub.messages.find((m) => m.topic === 'city/district-7/water/pump-station-3/level')?.payload).toMatch(/^\{"value":[\d.]+,"unit":"m","ts":\d+,"quality":"good"\}$/);
    } finally {
      await sub.stop();
    }
    // No InfluxDB there: said clearly (once; see below), and start-up did not fail for it.
    await waitFor(() => (gw.output().includes('InfluxDB unreachable; readings wait in the durable buffer') ? true : undefined), { what: 'the missing InfluxDB reported' });
    gw.child.kill('SIGINT');
    expect(await gw.exited).toBe(0);
    expect(gw.output()).toContain('gateway stopped');
    expect(gw.output()).not.toMatch(/ERROR/);
    expect(gw.output().match(/InfluxDB unreachable/g)).toHaveLength(1);
  });

  it('stops cleanly on SIGTERM too, with a client still connected', async () => {
    const gw = await startDefaultGateway();
    const sub = mosquittoSub({ port: gw.mqttPort, topic: 'city/#' });
    try {
      await sub.ready();
      gw.child.kill('SIGTERM');
      expect(await gw.exited).toBe(0);
      expect(gw.output()).toContain('signal=SIGTERM');
    } finally {
      await sub.stop();
    }
  });
});
