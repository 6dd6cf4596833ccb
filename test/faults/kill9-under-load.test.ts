/**
 * kill -9 under QoS 1 load: a device publishes as fast as its window of unacknowledged messages allows while the
 * gateway is killed with SIGKILL at random moments and started again, InfluxDB up the whole time. Every reading the
 * gateway acknowledged (PUBACK) must be in InfluxDB at the end, and a Modbus device polled beside the load must keep
 * its schedule in each life of the gateway.
 */
import { connectAsync, type MqttClient } from 'mqtt';
import { afterAll, describe, expect, it } from 'vitest';
import { mosquittoSub } from '../peers/mosquitto-sub.js';
import { waitFor } from '../peers/net.js';
import { outageLab } from '../support/outage-lab.js';
import { acknowledgedInInflux, LOADER, startQos1Load, writeLoadLabConfig } from '../support/qos1-load.js';

const ROUNDS = 4;
const WINDOW = 20;
const DEVICES = 10;

describe('kill -9 under QoS 1 load', () => {
  const lab = outageLab('gw-kill9-load-');
  let load: MqttClient | undefined;
  afterAll(async () => {
    await load?.endAsync(true);
  });

  it('keeps every acknowledged reading across repeated kills, and polling resumes each time', { timeout: 240_000 }, async () => {
    const { file: config, mqttPort } = await writeLoadLabConfig(lab.dir, lab.influx.url, { pollMs: 200, seed: 11 });

    let gateway = await lab.spawn(config);
    load = await connectAsync(`mqtt://127.0.0.1:${mqttPort}`, { ...LOADER, reconnectPeriod: 100, connectTimeout: 2_000 });
    load.on('error', () => undefined); // refused reconnects while the gateway is dead are expected
    const { acknowledged, stop } = startQos1Load(load, { window: WINDOW, devices: DEVICES });

    try {
      for (let round = 0; round < ROUNDS; round++) {
        const polled = mosquittoSub({ port: mqttPort, topic: 'city/lab/energy/feeder-1/frequency' });
        await polled.ready();
        const before = acknowledged.size;
        await waitFor(() => (acknowledged.size >= before + 500 ? true : undefined), { what: `500 acknowledged publishes in life ${round + 1}`, timeoutMs: 60_000 });
        // Polling keeps its schedule under the load: 5 polls a second, judged generously.
        const from = polled.messages.length;
        const started = performance.now();
        await waitFor(() => (performance.now() - started >= 2_000 ? true : undefined), { timeoutMs: 10_000 });
        expect((polled.messages.length - from) / ((performance.now() - started) / 1000), `polls/s in life ${round + 1}`).toBeGreaterThan(2);
        await polled.stop();
        // A random moment within the next half second.
        await new Promise((done) => setTimeout(done, Math.random() * 500));
        await gateway.kill9();
        gateway = await lab.spawn(config);
      }
      const before = acknowledged.size;
      await waitFor(() => (acknowledged.size >= before + 500 ? true : undefined), { what: 'acknowledged publishes after the last restart', timeoutMs: 60_000 });
    } finally {
      stop();
    }

    const stored = await acknowledgedInInflux(lab.influx, acknowledged);
    expect(acknowledged.size).toBeGreaterThan(ROUNDS * 500);
    expect([...acknowledged].filter((n) => !stored.has(n))).toEqual([]);
    expect(gateway.child.exitCode).toBeNull();
  });
});
