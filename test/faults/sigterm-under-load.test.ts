/**
 * SIGTERM under QoS 1 load, as systemd stops the gateway: a device publishes as fast as its window of unacknowledged
 * messages allows when the gateway is told to stop. It must exit 0 within its stop timeout, with what it acknowledged
 * flushed to the durable buffer: started again on the same data, every acknowledged reading reaches InfluxDB.
 */
import { writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { connectAsync, type MqttClient } from 'mqtt';
import { afterAll, describe, expect, it } from 'vitest';
import { hashPassword } from '../../gateway/broker/password.js';
import { freePort, waitFor } from '../peers/net.js';
import { influxV1Section, simulatedFeederSections } from '../support/config-sections.js';
import { outageLab } from '../support/outage-lab.js';
import { startQos1Load } from '../support/qos1-load.js';

const WINDOW = 50;
const DEVICES = 10;
/** The systemd unit's TimeoutStopSec is 45 s; the gateway must be well within it. */
const STOP_BOUND_MS = 30_000;

describe('SIGTERM under QoS 1 load', () => {
  const lab = outageLab('gw-sigterm-load-');
  let load: MqttClient | undefined;
  afterAll(async () => {
    await load?.endAsync(true);
  });

  it('exits 0 with every acknowledged reading kept, and delivers them all once started again', { timeout: 180_000 }, async () => {
    const mqttPort = await freePort();
    const config = join(lab.dir, 'gateway.yaml');
    writeFileSync(
      config,
      `site: lab
data_dir: ${join(lab.dir, 'data')}
profiles_dir: ${resolve('config', 'profiles')}
mqtt:
  listeners: [{ host: 127.0.0.1, port: ${mqttPort} }]
  users:
    - { username: loader, role: device, devices: ["load-*"], password_hash: "${await hashPassword('loader-pass', { ln: 10 })}" }
  limits: { publish_rate: 100000, publish_burst: 100000 }
${simulatedFeederSections(await freePort(), { pollMs: 100, seed: 13 })}${influxV1Section(lab.influx.url, { flush_interval: '1s' })}`,
    );

    const gateway = await lab.spawn(config);
    load = await connectAsync(`mqtt://127.0.0.1:${mqttPort}`, { username: 'loader', password: 'loader-pass', reconnectPeriod: 0 });
    load.on('error', () => undefined); // the connection goes when the gateway stops
    const { acknowledged, stop } = startQos1Load(load, { window: WINDOW, devices: DEVICES });
    await waitFor(() => (acknowledged.size >= 3000 ? true : undefined), { what: '3,000 acknowledged publishes', timeoutMs: 60_000 });

    const stopping = performance.now();
    gateway.child.kill('SIGTERM');
    const code = await gateway.exited;
    stop();
    const tookMs = performance.now() - stopping;
    expect(code, gateway.output()).toBe(0);
    expect(tookMs).toBeLessThan(STOP_BOUND_MS);
    expect(gateway.output()).toContain('gateway stopped');
    expect(gateway.output()).not.toMatch(/ERROR/);

    // Whatever InfluxDB did not have yet waited in the buffer on disk: the next life sends it.
    await lab.spawn(config);
    const stored = await waitFor(
      async () => {
        const [series] = await lab.influx.query('SELECT seq FROM load', 'city');
        const values = new Set((series?.values ?? []).map((row) => Number(row[1])));
        return [...acknowledged].every((n) => values.has(n)) ? values : undefined;
      },
      { what: `all ${acknowledged.size} acknowledged readings in InfluxDB`, timeoutMs: 90_000 },
    );
    expect([...acknowledged].filter((n) => !stored.has(n))).toEqual([]);
  });
});
