/**
 * InfluxDB forwarding figures, against the real servers the tests use:
 *  1. points/s written through the durable buffer into InfluxDB 1.6.7 (v1 API) and VictoriaMetrics (v2 API);
 *  2. time to drain a backlog of 1,000,000 buffered readings after an outage;
 *  3. memory during an outage while readings pour into the buffer and beyond its limit (it should stay flat).
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { InfluxConfig } from '../gateway/influx/config.js';
import { InfluxSink } from '../gateway/influx/influx-sink.js';
import type { Reading } from '../gateway/model.js';
import { silentLogger } from '../gateway/util/log.js';
import { startInfluxDb1 } from '../test/peers/influxdb.js';
import { freePort } from '../test/peers/net.js';
import { startVictoriaMetrics } from '../test/peers/victoria-metrics.js';

const BACKLOG = Number(process.env.BENCH_BACKLOG ?? 1_000_000);
const OUTAGE_SECONDS = Number(process.env.BENCH_SECONDS ?? 5) * 4;
const T0 = Date.UTC(2026, 0, 1);

function config(over: Partial<InfluxConfig>): InfluxConfig {
  return {
    url: 'http://127.0.0.1:1',
    api: 'v2',
    org: 'city',
    bucket: 'bench',
    create_database: false,
    batch_size: 5000,
    flush_interval: 100,
    timeout: 30_000,
    gzip: true,
    retry_initial: 100,
    retry_max: 1000,
    buffer: { max_size: 2 * 1024 ** 3, fsync: 'interval', fsync_interval: 1000 },
    ...over,
  };
}

/** 200 devices x 5 metrics of the three domains, one poll's batch of each device at a time. */
function* readings(total: number): Generator<Reading[]> {
  const domains = ['water', 'traffic', 'energy'] as const;
  for (let n = 0, tick = 0; n < total; tick++) {
    for (let d = 0; d < 200 && n < total; d++) {
      const batch: Reading[] = [];
      for (let m = 0; m < 5 && n < total; m++, n++) {
        batch.push({ device: `dev-${d}`, domain: domains[d % 3]!, metric: `m${m}`, value: Math.sin(n) * 100, ts: T0 + tick * 1000, quality: 'good', tags: { zone: `z${d % 7}` } });
      }
      yield batch;
    }
  }
}

/** Fills the buffer with `count` readings while nothing answers, then points it at the server and times the drain. */
async function drain(name: string, count: number, server: Partial<InfluxConfig>): Promise<string> {
  const dataDir = mkdtempSync(join(tmpdir(), 'gw-bench-influx-'));
  try {
    const offline = InfluxSink.start(config({ ...server, url: `http://127.0.0.1:${await freePort()}` }), 'bench', dataDir, silentLogger);
    const fillStart = performance.now();
    for (const batch of readings(count)) await offline.write(batch);
    const fillSeconds = (performance.now() - fillStart) / 1000;
    await offline.close();

    const sink = InfluxSink.start(config(server), 'bench', dataDir, silentLogger);
    const started = performance.now();
    while (sink.health().backlog > 0) await new Promise((r) => setTimeout(r, 20));
    const seconds = (performance.now() - started) / 1000;
    const { written, deadLettered } = sink.health();
    await sink.close();
    return `${name}: drained ${fmt(written)} buffered readings in ${seconds.toFixed(1)} s = ${fmt(written / seconds)} points/s (${deadLettered} refused); buffering them took ${fillSeconds.toFixed(1)} s = ${fmt(count / fillSeconds)} readings/s`;
  } finally {
    rmSync(dataDir, { recursive: true, force: true });
  }
}

/**
 * Readings pour in at ~40k/s while InfluxDB is unreachable, long enough to fill the buffer and drop the oldest;
 * RSS and the JS heap (after a GC when node runs with --expose-gc, as `npm run bench` does) are sampled every 2 s.
 */
async function outageMemory(): Promise<string> {
  const dataDir = mkdtempSync(join(tmpdir(), 'gw-bench-rss-'));
  const gc = (globalThis as { gc?: () => void }).gc;
  try {
    const sink = InfluxSink.start(config({ url: `http://127.0.0.1:${await freePort()}`, buffer: { max_size: 16 * 1024 ** 2, fsync: 'interval', fsync_interval: 1000 } }), 'bench', dataDir, silentLogger);
    const samples: string[] = [];
    const source = readings(Number.MAX_SAFE_INTEGER);
    const started = performance.now();
    const deadline = started + OUTAGE_SECONDS * 1000;
    let nextSample = started + 2000;
    while (performance.now() < deadline) {
      for (let i = 0; i < 50; i++) await sink.write(source.next().value as Reading[]);
      await new Promise((r) => setTimeout(r, 5));
      if (performance.now() >= nextSample) {
        gc?.();
        const { rss, heapUsed } = process.memoryUsage();
        samples.push(`${((performance.now() - started) / 1000).toFixed(0)}s ${mb(rss)}/${mb(heapUsed)}`);
        nextSample += 2000;
      }
    }
    const { backlog, dropped } = sink.health();
    await sink.close();
    return `memory during a ${OUTAGE_SECONDS} s outage (16 MB buffer; ${fmt(backlog)} buffered, ${fmt(dropped)} oldest dropped), RSS/heap MB${gc ? ' after GC' : ''}: ${samples.join(', ')}`;
  } finally {
    rmSync(dataDir, { recursive: true, force: true });
  }
}

export async function influxReport(): Promise<string> {
  // First, while this process is fresh, so the memory figures are its own.
  const lines = [await outageMemory()];
  const influx = await startInfluxDb1();
  try {
    lines.push(await drain(`InfluxDB 1.6.7 (v1 /write)`, BACKLOG, { url: influx.url, api: 'v1', database: 'bench', create_database: true, org: undefined, bucket: undefined }));
  } finally {
    await influx.remove();
  }
  const vm = await startVictoriaMetrics();
  try {
    lines.push(await drain(`VictoriaMetrics 1.79 (v2 /api/v2/write)`, BACKLOG, { url: vm.url, api: 'v2' }));
  } finally {
    await vm.remove();
  }
  return lines.join('\n');
}

function mb(bytes: number): string {
  return (bytes / 1024 ** 2).toFixed(0);
}

function fmt(n: number): string {
  return Math.round(n).toLocaleString('en-US');
}
