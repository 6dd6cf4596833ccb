/**
 * SIGTERM under QoS 1 load, as systemd stops the gateway: a device publishes as fast as its window of unacknowledged
 * messages allows when the gateway is told to stop. It must exit 0 within its stop timeout, with what it acknowledged
 * flushed to the durable buffer: started again on the same data, every acknowledged reading reaches InfluxDB.
 */
import { connectAsync, type MqttClient } from 'mqtt';
import { afterAll, describe, expect, it } from 'vitest';
import { waitFor } from '../peers/net.js';
import { outageLab } from '../support/outage-lab.js';
import { acknowledgedInInflux, LOADER, startQos1Load, writeLoadLabConfig } from '../support/qos1-load.js';

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
    const { file: config, mqttPort } = await writeLoadLabConfig(lab.dir, lab.influx.url, { pollMs: 100, seed: 13, influx: { flush_interval: '1s' } });

    const gateway = await lab.spawn(config);
    load = await connectAsync(`mqtt://127.0.0.1:${mqttPort}`, { ...LOADER, reconnectPeriod: 0 });
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
    const stored = await acknowledgedInInflux(lab.influx, acknowledged);
    expect([...acknowledged].filter((n) => !stored.has(n))).toEqual([]);
  });
});
