import type { Gateway } from '../../gateway/gateway.js';

/** What `alertLatencyProbe` measured: reading → alert event latencies in ms, sorted. */
export interface AlertLatencies {
  readonly samples: readonly number[];
  /** The q-quantile (0..1) of the samples; NaN without any. */
  at(q: number): number;
}

/** The alert rule the probe's readings trip: give it in the gateway's `rules:`. */
export const PROBE_RULE = '  - { name: probe-high, match: { domain: water, device: latency-probe, metric: level }, above: 60, clear: 40, severity: warning }\n';

/**
 * Reading → alert latency of a running gateway, as the data path sees it: every `periodMs` for `durationMs`, a reading
 * of `latency-probe/level` goes into the pipeline, alternating above the rule's threshold and below its clear value, so
 * every reading fires or resolves the probe rule; the time to its alert event on the embedded broker is one sample.
 */
export async function alertLatencyProbe(gateway: Gateway, opts: { durationMs: number; periodMs: number }): Promise<AlertLatencies> {
  const broker = gateway.mqttBroker;
  if (!broker) throw new Error('the gateway has no broker running');
  const samples: number[] = [];
  let sentAt: number | undefined;
  const unsubscribe = await broker.subscribe(gateway.topics.alertEvents, (_topic, payload) => {
    const event = JSON.parse(payload.toString()) as { device?: string };
    if (event.device !== 'latency-probe' || sentAt === undefined) return;
    samples.push(performance.now() - sentAt);
    sentAt = undefined;
  });
  try {
    const end = performance.now() + opts.durationMs;
    for (let high = true; performance.now() < end; high = !high) {
      sentAt = performance.now();
      gateway.pipeline.publish([{ device: 'latency-probe', domain: 'water', metric: 'level', value: high ? 80 : 20, ts: Date.now(), quality: 'good' }]);
      await new Promise((resolve) => setTimeout(resolve, opts.periodMs));
    }
  } finally {
    await unsubscribe();
  }
  const sorted = samples.sort((a, b) => a - b);
  return { samples: sorted, at: (q) => sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))] ?? Number.NaN };
}
