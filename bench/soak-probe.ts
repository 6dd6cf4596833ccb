/**
 * Preloaded into the gateway process by `npm run soak` (`node --import ./bench/soak-probe.ts`): every interval it sends
 * the parent what only the process itself can see — heap, active handles, event-loop delay — over the IPC channel.
 * Not part of the product; the gateway runs exactly as in production beside it.
 */
import { monitorEventLoopDelay } from 'node:perf_hooks';

export interface ProbeSample {
  readonly uptimeS: number;
  readonly rssMb: number;
  readonly heapUsedMb: number;
  readonly externalMb: number;
  readonly handles: number;
  readonly loopDelayP50Ms: number;
  readonly loopDelayP99Ms: number;
  readonly loopDelayMaxMs: number;
  readonly cpuUserS: number;
  readonly cpuSystemS: number;
}

const intervalMs = Number(process.env.SOAK_SAMPLE_MS ?? 10_000);
if (process.send) {
  const delay = monitorEventLoopDelay({ resolution: 1 });
  delay.enable();
  const mb = (bytes: number) => Math.round((bytes / 2 ** 20) * 10) / 10;
  const ms = (ns: number) => Math.round(ns / 1e5) / 10;
  const timer = setInterval(() => {
    const memory = process.memoryUsage();
    const cpu = process.cpuUsage();
    const sample: ProbeSample = {
      uptimeS: Math.round(process.uptime()),
      rssMb: mb(memory.rss),
      heapUsedMb: mb(memory.heapUsed),
      externalMb: mb(memory.external + memory.arrayBuffers),
      // The probe's own timer is one of them; what matters is the trend.
      handles: process.getActiveResourcesInfo().length,
      loopDelayP50Ms: ms(delay.percentile(50)),
      loopDelayP99Ms: ms(delay.percentile(99)),
      loopDelayMaxMs: ms(delay.max),
      cpuUserS: Math.round(cpu.user / 1e5) / 10,
      cpuSystemS: Math.round(cpu.system / 1e5) / 10,
    };
    delay.reset();
    // The parent may be gone (stopped with Ctrl-C): the gateway carries on without its probe.
    if (process.connected) process.send?.(sample);
  }, intervalMs);
  timer.unref();
  // The IPC channel must not keep a stopping gateway alive.
  process.channel?.unref();
}
