/**
 * `npm run bench -- e2e`, `e2e-steady` and `peer`: the gateway as a process, end to end (load → MQTT ingest → rules,
 * MQTT republish, bridge, InfluxDB), and the same load through Mosquitto + Node-RED, with the figures side by side.
 *   E2E_READINGS  readings per run (default 200,000)       E2E_RUNS  runs per case: the median is shown, with the alert latencies of all (default 1)
 *   E2E_WINDOW    QoS 1 publishes in flight (default 1,000) BENCH_SECONDS  length of e2e-steady (default 60)
 *   E2E_RATE      paces the load of e2e and peer (readings/s; default: as fast as the system takes them)
 *   E2E_WARMUP    readings sent through each system before each measured run, unmeasured (default 50,000)
 */
import { startInfluxDb1, type InfluxDb1 } from '../../test/peers/influxdb.js';
import { startMosquitto } from '../../test/peers/mosquitto.js';
import { Cleanup } from './cleanup.js';
import { buildGateway, startGatewaySystem } from './gateway-system.js';
import { LoadGenerator, type LoadPlan } from './load.js';
import { measureRun, SENTINEL_PERIOD_MS, type RunFigures } from './measure.js';
import { startNodeRedSystem } from './node-red-system.js';
import { memory } from '../proc.js';
import { EVENT_LOOP_SAMPLE_MS } from '../../gateway/http/metrics.js';
import { SERVICE_NICE } from '../../gateway/runtime-flags.js';
import { BRIDGE_INFLIGHT, quietMosquitto, type System } from './system.js';
import { DEVICES, readingsFilters } from './workload.js';

const READINGS = Number(process.env.E2E_READINGS ?? 200_000);
const RUNS = Math.max(1, Number(process.env.E2E_RUNS ?? 1));
const WINDOW = Number(process.env.E2E_WINDOW ?? 1_000);
/** Paces the load of `e2e` and `peer` (readings/s): latency at a given load rather than at the most the system takes. */
const RATE = process.env.E2E_RATE ? Number(process.env.E2E_RATE) : undefined;
/** Readings each system takes before each measured run, as the run's load but on the probe domain (see measure.ts). */
const WARMUP = Number(process.env.E2E_WARMUP ?? 50_000);
const STEADY_RATE = 10_000;
const STEADY_SAMPLE_MS = 5_000;

const QOS = [0, 1] as const;
const fmt = (n: number): string => Math.round(n).toLocaleString('en-US');
const mb = (bytes: number): string => String(Math.round(bytes / 2 ** 20));
const rate = (f: RunFigures): number => f.inInflux / f.seconds;
const percent = (share: number): string => `${Math.round(share * 100)}%`;
const cpuUs = (f: RunFigures): number => (f.cpuSeconds * 1e6) / Math.max(1, f.inInflux);

function percentile(sorted: readonly number[], p: number): number {
  return sorted.length === 0 ? NaN : sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)]!;
}

/** `got` of `sent`, and how many are missing. */
function delivered(got: number | undefined, sent: number): string {
  if (got === undefined) return '—';
  return got >= sent ? `${fmt(got)} (0 lost)` : `${fmt(got)} (${fmt(sent - got)} LOST)`;
}

const header = ['system', 'QoS', 'readings/s', 'InfluxDB/all outputs s', 'CPU µs/reading', 'RSS peak/end MB', 'InfluxDB', 'live subscriber', 'bridge upstream', 'reading→alert p50/p99 ms', 'sentinel→alert p50/p99 ms', 'event-loop lag p99 ms', 'load sent/s', 'box busy/steal', 'waited for a core'];

/** p50/p99 of the alerts that arrived, and how many of how many tripping readings that is. */
function alertLatency(sorted: readonly number[], trips: number): string {
  return sorted.length === 0 ? `none of ${trips}` : `${percentile(sorted, 50).toFixed(1)}/${percentile(sorted, 99).toFixed(1)} (${sorted.length}/${trips})`;
}

function row(f: RunFigures): string[] {
  const lag = f.eventLoopLagP99Ms === undefined ? '—' : f.eventLoopLagP99Ms.toFixed(1);
  return [f.system, String(f.qos), fmt(rate(f)), `${f.seconds.toFixed(1)}/${f.allOutputsSeconds.toFixed(1)}`, cpuUs(f).toFixed(1), `${mb(f.peakRss)}/${mb(f.endRss)}`, delivered(f.inInflux, f.sent), delivered(f.subscriber, f.sent), delivered(f.upstream, f.sent), alertLatency(f.alertMs, f.trips), alertLatency(f.sentinelMs, f.sentinelTrips), lag, fmt(f.sent / f.loadSeconds), `${percent(f.boxBusy)}/${percent(f.steal)}`, `${percent(f.runQueueWait.share)} ${f.runQueueWait.process}`];
}

function table(rows: string[][]): string {
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i]!.length)));
  const line = (cells: readonly string[]): string => `| ${cells.map((c, i) => c.padEnd(widths[i]!)).join(' | ')} |`;
  return [line(header), `|${widths.map((w) => '-'.repeat(w + 2)).join('|')}|`, ...rows.map(line)].join('\n');
}

function problems(figures: readonly RunFigures[]): string[] {
  return figures.flatMap((f) => f.problems.map((p) => `  ${f.system}, QoS ${f.qos}: ${p}`));
}

/** The load against Mosquitto with nobody subscribed: the most it can send, so a system's rate below it is the system's. */
async function loadCeiling(qos: 0 | 1): Promise<number> {
  const cleanup = new Cleanup();
  try {
    const mosquitto = cleanup.add(await startMosquitto({ extraConfig: quietMosquitto() }), 'Mosquitto', (m) => m.stop());
    const load = cleanup.add(await LoadGenerator.connect({ port: mosquitto.port }), 'load generator', (l) => l.stop());
    const result = await load.run({ qos, readings: READINGS, window: WINDOW });
    return result.sent / ((result.confirmedAt - result.firstAt) / 1000);
  } finally {
    await cleanup.run();
  }
}

/** One run on a fresh system and database; the database is dropped after, so InfluxDB compacts nothing of it later. */
async function runOnce(start: (database: string) => Promise<System>, influx: InfluxDb1, plan: LoadPlan, database: string): Promise<RunFigures> {
  const system = await start(database);
  try {
    return await measureRun(system, influx, plan, WARMUP);
  } finally {
    await system.stop();
    await influx.dropDatabase(database);
  }
}

/**
 * The run with the median throughput, with the alert latencies of all runs pooled: a run trips the sentinel about a
 * hundred times, so its own p99 is its largest but one.
 */
function medianOf(runs: readonly RunFigures[]): RunFigures {
  const median = [...runs].sort((a, b) => rate(a) - rate(b))[Math.floor(runs.length / 2)]!;
  const pooled = (of: (f: RunFigures) => readonly number[]): number[] => runs.flatMap(of).sort((a, b) => a - b);
  const sum = (of: (f: RunFigures) => number): number => runs.reduce((total, f) => total + of(f), 0);
  return { ...median, alertMs: pooled((f) => f.alertMs), trips: sum((f) => f.trips), sentinelMs: pooled((f) => f.sentinelMs), sentinelTrips: sum((f) => f.sentinelTrips) };
}

/** Runs the case `RUNS` times, each on a fresh system and database: their median (see medianOf). */
async function medianRun(start: (database: string) => Promise<System>, influx: InfluxDb1, plan: LoadPlan, tag: string): Promise<RunFigures> {
  const runs: RunFigures[] = [];
  for (let r = 0; r < RUNS; r++) runs.push(await runOnce(start, influx, plan, `${tag}_q${plan.qos}_${r}`));
  return medianOf(runs);
}

function preamble(what: string, ceilings: number[]): string {
  return [
    `${what}: ${fmt(READINGS)} single-metric readings from ${DEVICES} devices per run, 5 threshold rules (one tripped every 500 readings), QoS 1 window ${fmt(WINDOW)}, ${RATE === undefined ? 'as fast as the system takes them' : `paced at ${fmt(RATE)}/s`}, median of ${RUNS} run(s)`,
    `  the load alone against Mosquitto (nobody subscribed): QoS 0 ${fmt(ceilings[0]!)}/s, QoS 1 ${fmt(ceilings[1]!)}/s`,
    `  before each measured run, a warm-up: ${fmt(WARMUP)} readings of the same load on the probe domain, in every output before the run starts (E2E_WARMUP; 0 measures a system just started, compiling its code during the run)`,
    `  the systems' processes run at nice ${SERVICE_NICE}, as the gateway's systemd unit deploys it, and so do the load, the alert sentinel and the staff subscriber (the street's devices and emergency staff, on other machines in a street); the other subscribers and InfluxDB at nice 0`,
    `  readings/s = points in InfluxDB / (first publish → last point in InfluxDB, read every 100 ms); InfluxDB/all outputs s = that time / first publish → the last output (InfluxDB, live subscriber, bridge upstream) holding its last reading`,
    `  CPU = the system's processes (utime+stime, all threads; not InfluxDB, not the load) from the first publish until every output holds its last reading: a bridge still draining its buffer counts`,
    `  load sent/s = first publish → the system confirming the last (PUBACK, or PINGRESP at QoS 0); at QoS 0 the load writes as fast as the socket takes, so reading→alert includes the time a reading waits in socket buffers`,
    `  bridge upstream = what reached the city platform (a Mosquitto) through the system's bridge, QoS 1, ${fmt(BRIDGE_INFLIGHT)} unacknowledged at most (bridge.inflight; Mosquitto's max_inflight_messages)`,
    `  live subscriber = a connection subscribed to the normalised readings of the load (${readingsFilters.join(', ')}), not to the raw ingest topics`,
    `  reading→alert = the load writing a tripping reading → the firing event at a staff subscriber (alert events only, a connection of its own); with several runs, the latencies of all runs together (a run has a few hundred, so its own p99 is one of its largest few)`,
    `  sentinel→alert = the same for a device on a connection of its own, tripping or clearing the rule every ${SENTINEL_PERIOD_MS} ms while the load runs (QoS 1): what a device's alarm waits behind the load, without the load's own queue`,
    `  event-loop lag = the gateway's own nodejs_eventloop_lag_p99_seconds over the run, less the ${EVENT_LOOP_SAMPLE_MS} ms of the timer it is taken with: what a message arriving, an alarm too, waits before it is read`,
    `  box busy/steal = the share of the box's CPU time something ran / its hypervisor gave to other guests, during the run (/proc/stat): on a shared host the same work runs slower and costs more CPU time`,
    `  waited for a core = the share of the run the system's process named beside it (the one that waited longest) had its main thread runnable but no core free (/proc/PID/schedstat): a reading or an alarm arriving then waits as long, so on a busy box this, not the system's own work, lengthens the tail of reading→alert`,
  ].join('\n');
}

async function withInflux<T>(body: (influx: InfluxDb1) => Promise<T>): Promise<T> {
  const cleanup = new Cleanup();
  try {
    const influx = cleanup.add(await startInfluxDb1(), 'InfluxDB', (i) => i.remove());
    return await body(influx);
  } catch (error) {
    // Stopped by Ctrl-C: the signal's cleanup is stopping everything and will exit; no stack trace for that.
    if (Cleanup.interrupted) return new Promise<never>(() => undefined);
    throw error;
  } finally {
    await cleanup.run();
  }
}

export function e2eReport(): Promise<string> {
  return withInflux(async (influx) => {
    await buildGateway();
    const ceilings = [await loadCeiling(0), await loadCeiling(1)];
    const figures: RunFigures[] = [];
    for (const qos of QOS) figures.push(await medianRun((db) => startGatewaySystem(influx.url, db), influx, { qos, readings: READINGS, window: WINDOW, rate: RATE }, 'gw'));
    return [preamble('end to end, the built gateway as a process', ceilings), table(figures.map(row)), ...problems(figures)].join('\n');
  });
}

export function peerReport(): Promise<string> {
  return withInflux(async (influx) => {
    await buildGateway();
    const ceilings = [await loadCeiling(0), await loadCeiling(1)];
    const figures: RunFigures[] = [];
    const ratios: string[] = [];
    for (const qos of QOS) {
      const plan = { qos, readings: READINGS, window: WINDOW, rate: RATE };
      const peerRuns: RunFigures[] = [];
      const gatewayRuns: RunFigures[] = [];
      for (let r = 0; r < RUNS; r++) {
        // Taking turns, each going first in every other round: what a run leaves behind on the box (InfluxDB still
        // busy with its points, say) falls on both systems alike.
        const peerRun = (): Promise<number> => runOnce((db) => startNodeRedSystem(influx, db), influx, plan, `peer_q${qos}_${r}`).then((f) => peerRuns.push(f));
        const gatewayRun = (): Promise<number> => runOnce((db) => startGatewaySystem(influx.url, db), influx, plan, `gw_q${qos}_${r}`).then((f) => gatewayRuns.push(f));
        for (const run of r % 2 === 0 ? [peerRun, gatewayRun] : [gatewayRun, peerRun]) await run();
      }
      const peer = medianOf(peerRuns);
      const gateway = medianOf(gatewayRuns);
      figures.push(peer, gateway);
      const speed = rate(gateway) / rate(peer);
      const cpu = cpuUs(gateway) / cpuUs(peer);
      ratios.push(`  QoS ${qos}: gateway/peer throughput ${speed.toFixed(2)}× (goal ≥ 4×: ${speed >= 4 ? 'met' : 'NOT met'}), CPU per reading ${cpu.toFixed(2)} (goal ≤ 0.25: ${cpu <= 0.25 ? 'met' : 'NOT met'})`);
    }
    const turns = `  the two systems take turns run by run, each first in every other round; each run's database is dropped after it`;
    return [preamble('peer comparison: Mosquitto 2.0 + Node-RED 4.1 + node-red-contrib-influxdb vs the gateway, the same load, InfluxDB 1.6.7 on the same box', ceilings), turns, table(figures.map(row)), ...ratios, ...problems(figures)].join('\n');
  });
}

/** A sustained 10,000 readings/s at QoS 1 for BENCH_SECONDS (default 60): the gateway's RSS every 5 s, then the figures. */
export function e2eSteadyReport(): Promise<string> {
  const seconds = Number(process.env.BENCH_SECONDS ?? 60);
  return withInflux(async (influx) => {
    const system = await startGatewaySystem(influx.url, 'steady');
    const samples: string[] = [];
    console.log(`e2e-steady: the gateway's RSS every ${STEADY_SAMPLE_MS / 1000} s, from its readiness probe on:`);
    let figures: RunFigures;
    try {
      const pid = system.processes[0]!.pid;
      const started = performance.now();
      const timer = setInterval(() => {
        const line = `  ${String(Math.round((performance.now() - started) / 1000)).padStart(4)} s  RSS ${mb(memory(pid).rss)} MB`;
        samples.push(line);
        console.log(line);
      }, STEADY_SAMPLE_MS);
      try {
        figures = await measureRun(system, influx, { qos: 1, readings: STEADY_RATE * seconds, window: WINDOW, rate: STEADY_RATE }, WARMUP);
      } finally {
        clearInterval(timer);
      }
    } finally {
      await system.stop();
    }
    const rss = samples.map((s) => Number(/RSS (\d+)/.exec(s)?.[1]));
    return [
      `steady: the built gateway at ${fmt(STEADY_RATE)} readings/s, QoS 1, for ${seconds} s (goal: RSS ≤ 120 MB and flat)`,
      `  RSS first/last/min/max: ${rss[0]}/${rss.at(-1)}/${Math.min(...rss)}/${Math.max(...rss)} MB (${samples.length} samples, printed as they came; the load runs after the probe, then the outputs drain)`,
      table([row(figures)]),
      ...problems([figures]),
    ].join('\n');
  });
}
