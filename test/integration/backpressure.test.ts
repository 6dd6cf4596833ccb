/**
 * A consumer that cannot keep up slows the producers down instead of losing readings: a real mosquitto_pub streams
 * QoS 0 readings as fast as it can into a gateway whose queues hold only about 6,500 readings, while one consumer
 * takes 20 ms per batch. Every reading reaches every consumer and a live subscriber; nothing is dropped.
 */
import { spawn } from 'node:child_process';
import { afterEach, describe, expect, it } from 'vitest';
import type { Reading } from '../../gateway/model.js';
import type { Sink } from '../../gateway/pipeline/sink.js';
import { mosquittoSub } from '../peers/mosquitto-sub.js';
import { waitFor } from '../peers/net.js';
import { exitOf } from '../peers/process.js';
import { startGateway, type RunningGateway } from '../support/gateway.js';

const READINGS = 20_000;
let running: RunningGateway | undefined;

afterEach(async () => {
  await running?.stop();
  running = undefined;
});

/** A consumer slower than the load: 20 ms per batch, whatever its size. */
class SlowSink implements Sink {
  readonly name = 'slow';
  received = 0;
  write(readings: readonly Reading[]): Promise<void> {
    this.received += readings.length;
    return new Promise((resolve) => setTimeout(resolve, 20));
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
    const subscriber = mosquittoSub({ port: mqttPort, topic: 'city/lab/energy/#' });
    await subscriber.ready();
    const start = Date.now() - 60_000;
    const lines = Array.from({ length: READINGS }, (_, i) => `{"kw":{"value":${i},"ts":${start + Math.floor(i / 10)}}}`).join('\n');
    // -l: one message per line of stdin, as fast as the broker takes them; a DISCONNECT at the end.
    const pub = spawn('mosquitto_pub', ['-h', '127.0.0.1', '-p', String(mqttPort), '-q', '0', '-l', '-t', 'city/lab/ingest/energy/meter-1'], { stdio: ['pipe', 'ignore', 'pipe'] });
    pub.stdin.end(`${lines}\n`);
    expect((await exitOf(pub)).code).toBe(0);

    await waitFor(() => (slow.received === READINGS ? true : undefined), { what: 'every reading at the slow consumer', timeoutMs: 60_000 });
    await waitFor(() => (subscriber.messages.length === READINGS ? true : undefined), { what: 'every reading at the live subscriber', timeoutMs: 60_000 });
    const stats = gateway.pipeline.stats();
    expect(stats.accepted).toBe(READINGS);
    expect(stats.backpressureEpisodes).toBeGreaterThan(0);
    for (const sink of stats.sinks) expect(sink, sink.sink).toMatchObject({ dropped: 0, failed: 0 });
    expect(running.logs.some((line) => line.includes('dropped oldest readings'))).toBe(false);
    await subscriber.stop();
  });
});
