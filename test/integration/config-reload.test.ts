/**
 * Hot reload of the whole config: an edit of the config file applies devices, notifiers and users without a restart,
 * leaving the broker, the buffer and unaffected devices' polling alone; a file with problems is refused and the
 * running config stays. SIGHUP reloads too (a real gateway process).
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { connectAsync } from 'mqtt';
import { afterEach, describe, expect, it } from 'vitest';
import { hashPassword } from '../../gateway/broker/password.js';
import { mosquittoSub, type MosquittoSub } from '../peers/mosquitto-sub.js';
import { freePort, waitFor } from '../peers/net.js';
import { startWebhookReceiver, status, type Receiver } from '../peers/receivers.js';
import { spawnGateway, type GatewayProcess } from '../support/gateway-process.js';
import { startGateway, type RunningGateway } from '../support/gateway.js';

const reloads = (gw: RunningGateway) => gw.logs.filter((line) => line.includes('"configuration reloaded"')).length;

async function reloadWith(gw: RunningGateway, yaml: string): Promise<void> {
  const before = reloads(gw);
  writeFileSync(join(gw.dir, 'gateway.yaml'), yaml);
  await waitFor(() => (reloads(gw) > before ? true : undefined), { what: 'the configuration reloaded', timeoutMs: 20_000 });
}

describe('config reload', () => {
  let gw: RunningGateway | undefined;
  let sub: MosquittoSub | undefined;
  let receiver: Receiver | undefined;
  afterEach(async () => {
    await sub?.stop();
    await gw?.stop();
    await receiver?.close();
    sub = gw = receiver = undefined;
  });

  it('adds, changes and removes devices while an unchanged one polls on', async () => {
    const mqttPort = await freePort();
    const ports = [await freePort(), await freePort(), await freePort()];
    const yaml = (devices: string) => `site: lab
mqtt: { listeners: [{ host: 127.0.0.1, port: ${mqttPort} }] }
simulator:
  slaves:
${ports.map((port, i) => `    - { model: energy-meter, port: ${port}, profile: sim-energy-meter, seed: ${i + 1} }`).join('\n')}
devices:
  - { name: steady, driver: modbus-tcp, host: 127.0.0.1, port: ${ports[0]}, profile: sim-energy-meter, poll_interval: 100ms }
${devices}`;
    gw = await startGateway(yaml(`  - { name: leaving, driver: modbus-tcp, host: 127.0.0.1, port: ${ports[1]}, profile: sim-energy-meter, poll_interval: 100ms }
  - { name: changing, driver: modbus-tcp, host: 127.0.0.1, port: ${ports[2]}, profile: sim-energy-meter, poll_interval: 100ms }`));
    sub = mosquittoSub({ port: mqttPort, topic: ['city/lab/status/#', 'city/lab/energy/+/frequency'] });
    await sub.ready();
    await sub.next((m) => m.topic === 'city/lab/energy/changing/frequency');

    await reloadWith(
      gw,
      yaml(`  - { name: changing, driver: modbus-tcp, host: 127.0.0.1, port: ${ports[2]}, profile: sim-energy-meter, poll_interval: 100ms, tags: { feeder: f2 } }
  - { name: arriving, driver: modbus-tcp, host: 127.0.0.1, port: ${ports[1]}, profile: sim-energy-meter, poll_interval: 100ms }`),
    );
    expect(gw.logs.find((line) => line.includes('"configuration reloaded"'))).toMatch(/devices_added=arriving devices_changed=changing devices_removed=leaving/);
    await sub.next((m) => m.topic === 'city/lab/energy/arriving/frequency');
    const removed = await sub.next((m) => m.topic === 'city/lab/status/leaving' && m.payload.includes('offline'));
    expect(JSON.parse(removed.payload)).toMatchObject({ state: 'offline', error: 'removed from the configuration' });
    // The unchanged device was never stopped: it polls on and never went offline.
    const from = sub.messages.length;
    await waitFor(() => (sub!.messages.slice(from).filter((m) => m.topic === 'city/lab/energy/steady/frequency').length >= 5 ? true : undefined), { what: 'steady polling on' });
    expect(sub.messages.filter((m) => m.topic === 'city/lab/status/steady' && m.payload.includes('offline'))).toEqual([]);
    expect(gw.gateway.health().state).toBe('ok');
  });

  it('delivers to a notifier the reload added, and keeps the running config when the new file is broken', async () => {
    receiver = await startWebhookReceiver(status(204));
    const slavePort = await freePort();
    const base = `site: lab
simulator:
  slaves: [{ model: energy-meter, port: ${slavePort}, profile: sim-energy-meter }]
devices:
  - { name: feeder-1, driver: modbus-tcp, host: 127.0.0.1, port: ${slavePort}, profile: sim-energy-meter, poll_interval: 100ms }
`;
    gw = await startGateway(`${base}rules:\n  - { name: grid-frequency, match: { metric: frequency }, above: 1 }\n`);
    // The new rule names a notifier the reload adds at the same time.
    await reloadWith(
      gw,
      `${base}notifiers:\n  duty: { type: webhook, url: "${receiver.url}" }\nrules:\n  - { name: grid-frequency-paged, match: { metric: frequency }, above: 1, notify: [duty] }\n`,
    );
    await waitFor(() => (receiver!.received.length > 0 ? true : undefined), { what: 'the alert delivered to the new notifier' });
    expect(JSON.parse(receiver.received[0]!.body)).toMatchObject({ rule: 'grid-frequency-paged', kind: 'firing', device: 'feeder-1' });

    writeFileSync(join(gw.dir, 'gateway.yaml'), `${base}devices: [oops`);
    await waitFor(() => (gw!.logs.some((l) => l.includes('configuration not reloaded')) ? true : undefined), { what: 'the broken file refused' });
    expect(gw.logs.find((l) => l.includes('configuration not reloaded'))).toMatch(/line \d+, column \d+/);
    expect(gw.gateway.config.notifiers).toHaveProperty('duty');
    expect(gw.gateway.health().state).toBe('ok');
  });

  it('applies users: a removed login is disconnected and refused, a new one logs in', async () => {
    const hash = await hashPassword('secret-1', { ln: 10 });
    const yaml = (users: string) => `site: lab\nmqtt:\n  listeners: [{ host: 127.0.0.1, port: 0 }]\n  users:\n${users}`;
    gw = await startGateway(yaml(`    - { username: ana, role: staff, password_hash: "${hash}" }\n`));
    const url = `mqtt://127.0.0.1:${gw.mqttPort}`;
    const ana = await connectAsync(url, { username: 'ana', password: 'secret-1', reconnectPeriod: 0 });
    const closed = new Promise<void>((done) => ana.once('close', () => done()));

    await reloadWith(gw, yaml(`    - { username: bob, role: operator, password_hash: "${hash}" }\n`));
    await closed;
    await expect(connectAsync(url, { username: 'ana', password: 'secret-1', reconnectPeriod: 0 })).rejects.toThrow(/Bad username or password|Not authorized/);
    const bob = await connectAsync(url, { username: 'bob', password: 'secret-1', reconnectPeriod: 0 });
    await bob.endAsync();
    await ana.endAsync(true);
  });
});

describe('SIGHUP', () => {
  let gateway: GatewayProcess | undefined;
  let dir = '';
  afterEach(async () => {
    await gateway?.cleanup();
    rmSync(dir, { recursive: true, force: true });
  });

  it('reloads the configuration of a running gateway process', async () => {
    dir = mkdtempSync(join(tmpdir(), 'gw-sighup-'));
    const file = join(dir, 'gateway.yaml');
    writeFileSync(file, `site: lab\nmqtt: { listeners: [{ host: 127.0.0.1, port: ${await freePort()} }] }\n`);
    gateway = await spawnGateway(file);
    gateway.child.kill('SIGHUP');
    await waitFor(() => (gateway!.output().includes('"configuration reloaded"') ? true : undefined), { what: 'the reload after SIGHUP' });
    expect(gateway.output()).toContain('signal received, reloading the configuration');
    expect(gateway.child.exitCode).toBeNull();
  });
});
