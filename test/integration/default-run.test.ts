/**
 * The newcomer's run: the gateway process on the default config (its ports moved to free ones), watched by
 * mosquitto_sub, shows water, traffic and energy readings within seconds and exits 0 on SIGINT/SIGTERM.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { mosquittoSub } from '../peers/mosquitto-sub.js';
import { freePort, waitFor } from '../peers/net.js';

interface GatewayProcess {
  child: ChildProcess;
  mqttPort: number;
  output: () => string;
  exited: Promise<number | null>;
}

const cleanups: (() => void)[] = [];
afterEach(() => {
  for (const cleanup of cleanups.splice(0)) cleanup();
});

async function startDefaultGateway(): Promise<GatewayProcess> {
  const dir = mkdtempSync(join(tmpdir(), 'gw-default-'));
  symlinkSync(resolve('config', 'profiles'), join(dir, 'profiles'));
  const mqttPort = await freePort();
  let yaml = readFileSync('config/default.yaml', 'utf8').replace('port: 1883', `port: ${mqttPort}`);
  for (const simulated of [15020, 15021, 15022]) yaml = yaml.replaceAll(`port: ${simulated}`, `port: ${await freePort()}`);
  writeFileSync(join(dir, 'gateway.yaml'), yaml);
  const child = spawn(process.execPath, ['--import', 'tsx', 'gateway/main.ts', '--config', join(dir, 'gateway.yaml')], { stdio: ['ignore', 'pipe', 'pipe'] });
  let output = '';
  child.stdout!.on('data', (d: Buffer) => (output += d.toString()));
  child.stderr!.on('data', (d: Buffer) => (output += d.toString()));
  const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
  cleanups.push(() => {
    child.kill('SIGKILL');
    rmSync(dir, { recursive: true, force: true });
  });
  await waitFor(() => (output.includes('gateway running') ? true : undefined), { what: `"gateway running" in the log:\n${output}`, timeoutMs: 30_000 });
  return { child, mqttPort, output: () => output, exited };
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
    gw.child.kill('SIGINT');
    expect(await gw.exited).toBe(0);
    expect(gw.output()).toContain('gateway stopped');
    expect(gw.output()).not.toMatch(/ERROR/);
  });

  it('stops cleanly on SIGTERM too', async () => {
    const gw = await startDefaultGateway();
    gw.child.kill('SIGTERM');
    expect(await gw.exited).toBe(0);
    expect(gw.output()).toContain('signal=SIGTERM');
  });
});
