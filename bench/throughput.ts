/**
 * Readings per second the gateway sustains to an external MQTT subscriber (mosquitto_sub on a socket):
 *  1. pipeline → MQTT: synthetic readings pushed into the pipeline as fast as the subscriber drains them;
 *  2. end to end: simulated Modbus TCP slaves polled as fast as they answer, through the pipeline, to the subscriber.
 */
import { mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { loadConfig } from '../gateway/config-file/load.js';
import { Gateway } from '../gateway/gateway.js';
import type { Reading } from '../gateway/model.js';
import { silentLogger } from '../gateway/util/log.js';
import { CountingSubscriber } from './subscriber.js';

const SECONDS = Number(process.env.BENCH_SECONDS ?? 5);

function configFile(yaml: string): { file: string; cleanup: () => void } {
  const dir = mkdtempSync(join(tmpdir(), 'gw-bench-'));
  symlinkSync(resolve('config', 'profiles'), join(dir, 'profiles'));
  const file = join(dir, 'gateway.yaml');
  writeFileSync(file, yaml);
  return { file, cleanup: () => rmSync(dir, { recursive: true, force: true }) };
}

async function measure(gateway: Gateway, drive: (deadline: number) => Promise<void>): Promise<{ published: number; received: number; seconds: number }> {
  const sub = await CountingSubscriber.start(gateway.mqttBroker!.aedes, gateway.mqttListeners[0]!.port, 'city/#');
  const before = gateway.pipeline.stats().accepted;
  const started = performance.now();
  await drive(started + SECONDS * 1000);
  const seconds = (performance.now() - started) / 1000;
  const published = gateway.pipeline.stats().accepted - before;
  return { published, received: await sub.stop(), seconds };
}

export async function pipelineToMqtt(): Promise<string> {
  const { file, cleanup } = configFile('site: bench\nmqtt:\n  listeners: [{ host: 127.0.0.1, port: 0 }]\n');
  const gateway = new Gateway(loadConfig(file, {}), silentLogger);
  await gateway.start();
  const devices = Array.from({ length: 100 }, (_, i) => `dev-${i}`);
  const result = await measure(gateway, async (deadline) => {
    let n = 0;
    // Batches of 100 readings (one poll of 100 points); yield to the event loop so aedes can write to the socket.
    while (performance.now() < deadline) {
      const ts = Date.now();
      const batch: Reading[] = [];
      for (let i = 0; i < 100; i++) batch.push({ device: devices[i]!, domain: 'water', metric: 'flow', value: n++ * 0.5, unit: 'm3/h', ts, quality: 'good', tags: undefined });
      gateway.pipeline.publish(batch);
      await new Promise((r) => setImmediate(r));
      // Keep the MQTT sink's queue short: this measures sustained throughput, not how fast readings can be dropped.
      while ((gateway.pipeline.stats().sinks.find((s) => s.sink === 'mqtt')?.queued ?? 0) > 5_000) await new Promise((r) => setTimeout(r, 1));
    }
    await new Promise((r) => setTimeout(r, 500));
  });
  await gateway.stop();
  cleanup();
  return `pipeline → MQTT (in-process publish, mosquitto_sub on TCP): ${fmt(result.received / result.seconds)} readings/s received (${fmt(result.published)} published, ${fmt(result.received)} received in ${result.seconds.toFixed(1)} s)`;
}

export async function endToEnd(slaves = 6): Promise<string> {
  const models = [
    ['water-pumping-station', 'sim-pumping-station'],
    ['traffic-counter', 'sim-traffic-counter'],
    ['energy-meter', 'sim-energy-meter'],
  ] as const;
  const base = 25_000 + Math.floor(Math.random() * 20_000);
  const lines = ['site: bench', 'mqtt:', '  listeners: [{ host: 127.0.0.1, port: 0 }]', 'simulator:', '  slaves:'];
  const devices = ['devices:'];
  for (let i = 0; i < slaves; i++) {
    const [model, profile] = models[i % models.length]!;
    lines.push(`    - { model: ${model}, port: ${base + i}, profile: ${profile}, seed: ${i + 1} }`);
    devices.push(`  - { name: sim-${i}, driver: modbus-tcp, host: 127.0.0.1, port: ${base + i}, profile: ${profile}, poll_interval: 10ms, timeout: 1s }`);
  }
  const { file, cleanup } = configFile([...lines, ...devices].join('\n') + '\n');
  const gateway = new Gateway(loadConfig(file, {}), silentLogger);
  await gateway.start();
  const result = await measure(gateway, (deadline) => new Promise((r) => setTimeout(r, deadline - performance.now())));
  await gateway.stop();
  cleanup();
  return `end to end (${slaves} simulated Modbus TCP slaves polled every 10 ms → mosquitto_sub): ${fmt(result.received / result.seconds)} readings/s received, ${fmt(result.published / result.seconds)} readings/s polled`;
}

function fmt(n: number): string {
  return Math.round(n).toLocaleString('en-US');
}
