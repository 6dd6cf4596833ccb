/**
 * A consumer that cannot keep up slows the producers down instead of losing readings: a real mosquitto_pub streams
 * QoS 0 readings as fast as it can into a gateway whose queues hold only about 6,500 readings, while one consumer
 * takes 100 ms per batch. Every reading reaches every consumer and a live subscriber; nothing is dropped.
 */
import { spawn } from 'node:child_process';
import { afterEach, describe, expect, it } from 'vitest';
import type { Reading } from '../../gateway/model.js';
import type { Sink } from '../../gateway/pipeline/sink.js';
import { mosquittoSub, type MosquittoSub } from '../peers/mosquitto-sub.js';
import { freePort, waitFor } from '../peers/net.js';
import { exitOf } from '../peers/process.js';
import { simulatedFeederSections } from '../support/config-sections.js';
import { startGateway, type RunningGateway } from '../support/gateway.js';

const READINGS = 20_000;
let running: RunningGateway | undefined;
let subscriber: MosquittoSub | undefined;

afterEach(async () => {
  await subscriber?.stop();
  await running?.stop();
  running = undefined;
  subscriber = undefined;
});

/**
 * A consumer slower than the load: `delayMs` per batch, whatever its size. A batch holds at most 1,024 readings, so
 * by default it takes about 10,000 a second, fewer than mosquitto_pub sends.
 */
class SlowSink implements Sink {
  readonly name = 'slow';
  received = 0;
  constructor(private readonly delayMs = 100) {}
  write(readings: readonly Reading[]): Promise<void> {
    this.received += readings.length;
    return new Promise((resolve) => setTimeout(resolve, this.delayMs));
  }
}

describe('backpressure', () => {
  it('holds a QoS 0 sender back while a consumer is behind, and loses no reading', async () => {
    const slow = new SlowSink();
    running = await startGateway(
      `site: lab
pipeline: { max_queue: 1MB }
mqtt:
  listeners: [{ host: 127.0.0.1, port: 0 }]
  allow_anonymous: true
  anonymous_role: internal
  limits: { publish_rate: 1000000, publish_burst: 1000000 }
`,
      { sinks: [slow] },
    );
    const { gateway, mqttPort } = running;
    const sub = (subscriber = mosquittoSub({ port: mqttPort, topic: 'city/lab/energy/#' }));
    await sub.ready();
    const start = Date.now() - 60_000;
    const lines = Array.from({ length: READINGS }, (_, i) => `{"kw":{"value":${i},"ts":${start + Math.floor(i / 10)}}}`).join('\n');
    // -l: one message per line of stdin, as fast as the broker takes them; a DISCONNECT at the end.
    const pub = spawn('mosquitto_pub', ['-h', '127.0.0.1', '-p', String(mqttPort), '-q', '0', '-l', '-t', 'city/lab/ingest/energy/meter-1'], { stdio: ['pipe', 'ignore', 'pipe'] });
    pub.stdin.end(`${lines}\n`);
    expect((await exitOf(pub)).code).toBe(0);

    await waitFor(() => (slow.received === READINGS ? true : undefined), { what: 'every reading at the slow consumer', timeoutMs: 60_000 });
    await waitFor(() => (sub.messages.length === READINGS ? true : undefined), { what: 'every reading at the live subscriber', timeoutMs: 60_000 });
    const stats = gateway.pipeline.stats();
    expect(stats.accepted).toBe(READINGS);
    expect(stats.backpressureEpisodes).toBeGreaterThan(0);
    for (const sink of stats.sinks) expect(sink, sink.sink).toMatchObject({ dropped: 0, failed: 0 });
    expect(running.logs.some((line) => line.includes('dropped oldest readings'))).toBe(false);
  });

  it('stretches a Modbus poller’s interval while a consumer is behind, instead of dropping its readings', async () => {
    // A queue of 64 KB holds about 400 readings: a feeder polled every 20 ms fills half of it within a second or two
    // while the consumer takes a whole second per batch.
    const slow = new SlowSink(1000);
    running = await startGateway(`site: lab\npipeline: { max_queue: 64KB }\n${simulatedFeederSections(await freePort(), { pollMs: 20, seed: 5 })}`, { sinks: [slow] });
    const { gateway } = running;
    const heldBack = (): number => Object.values(gateway.health().deviceFigures['modbus-tcp'] ?? {}).reduce<number>((sum, figures) => sum + ((figures as { heldBack?: number }).heldBack ?? 0), 0);
    await waitFor(() => (heldBack() > 0 ? true : undefined), { what: 'a poll held back', timeoutMs: 60_000 });
    const stats = gateway.pipeline.stats();
    expect(stats.backpressureEpisodes).toBeGreaterThan(0);
    for (const sink of stats.sinks) expect(sink, sink.sink).toMatchObject({ dropped: 0, failed: 0 });
  });
});
