/**
 * Alert latency: from a reading entering the pipeline to its alert event being delivered by the embedded broker
 * (an in-process subscription to `{prefix}/{site}/events/alerts`), at 10,000 readings/s across 1,000 series and
 * 200 rules, every series crossing its thresholds once a second, so thousands of alerts fire and resolve each second.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadConfig } from '../gateway/config-file/load.js';
import { Gateway } from '../gateway/gateway.js';
import type { Reading } from '../gateway/model.js';
import { silentLogger } from '../gateway/util/log.js';

const SECONDS = Number(process.env.BENCH_SECONDS ?? 5) * 2;
const DEVICES = 100;
const METRICS = 10;
const RULES = 200;
const RATE = 10_000;
const BATCH = 100;

/** Rule r watches metric m{r % 10} on the devices whose name starts with dev-{r / 10}: a few rules per series. */
function rulesYaml(): string {
  const lines = ['rules:'];
  for (let r = 0; r < RULES; r++) {
    lines.push(`  - { name: rule-${r}, match: { domain: water, device: "dev-${Math.floor(r / 10)}*", metric: m${r % METRICS} }, above: ${50 + (r % 3)}, clear: ${45 + (r % 3)}, severity: warning }`);
  }
  return lines.join('\n') + '\n';
}

export async function alertLatency(): Promise<string> {
  const dir = mkdtempSync(join(tmpdir(), 'gw-bench-alerts-'));
  const file = join(dir, 'gateway.yaml');
  writeFileSync(file, `site: bench\nmqtt:\n  listeners: [{ host: 127.0.0.1, port: 0 }]\n${rulesYaml()}`);
  const gateway = new Gateway(loadConfig(file, {}), silentLogger);
  await gateway.start();
  try {
    const series: { device: string; metric: string; key: string }[] = [];
    for (let d = 0; d < DEVICES; d++) for (let m = 0; m < METRICS; m++) series.push({ device: `dev-${d}`, metric: `m${m}`, key: `dev-${d}/m${m}` });
    const sentAt = new Map<string, number>();
    const latencies: number[] = [];
    let events = 0;
    await gateway.mqttBroker!.subscribe(gateway.topics.alertEvents, (_topic, payload) => {
      const now = performance.now();
      const event = JSON.parse(payload.toString()) as { device: string; metric: string };
      const sent = sentAt.get(`${event.device}/${event.metric}`);
      if (sent !== undefined) latencies.push(now - sent);
      events++;
    });

    const started = performance.now();
    const deadline = started + SECONDS * 1000;
    let sentReadings = 0;
    let next = 0;
    while (performance.now() < deadline) {
      // Keep to RATE: send the batches that are due, then yield until the next one.
      const due = Math.floor(((performance.now() - started) / 1000) * (RATE / BATCH));
      while (next < due) {
        const t = Date.now();
        const batch: Reading[] = [];
        for (let i = 0; i < BATCH; i++) {
          const s = series[(next * BATCH + i) % series.length]!;
          // Each series alternates between 60 (above every threshold) and 40 (below every clear value) each second.
          const high = Math.floor((t + (s.key.length * 37 + i) * 7) / 1000) % 2 === 0;
          batch.push({ device: s.device, domain: 'water', metric: s.metric, value: high ? 60 : 40, ts: t, quality: 'good' });
          sentAt.set(s.key, performance.now());
        }
        gateway.pipeline.publish(batch);
        sentReadings += BATCH;
        next++;
      }
      await new Promise((r) => setTimeout(r, 2));
    }
    const seconds = (performance.now() - started) / 1000;
    await new Promise((r) => setTimeout(r, 200));
    latencies.sort((a, b) => a - b);
    const at = (q: number) => latencies[Math.min(latencies.length - 1, Math.floor(q * latencies.length))] ?? Number.NaN;
    return `alert latency, reading → event on MQTT (${RULES} rules, ${series.length} series): ${Math.round(sentReadings / seconds).toLocaleString('en-US')} readings/s, ${Math.round(events / seconds).toLocaleString('en-US')} alert events/s; p50 ${at(0.5).toFixed(2)} ms, p99 ${at(0.99).toFixed(2)} ms, max ${at(1).toFixed(2)} ms`;
  } finally {
    await gateway.stop();
    rmSync(dir, { recursive: true, force: true });
  }
}
