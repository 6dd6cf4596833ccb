/**
 * One measured run of the load through a system: counts what each output got, times first publish → last point in
 * InfluxDB and → the last output holding all, and samples the system's processes from /proc.
 */
import type { InfluxDb1 } from '../../test/peers/influxdb.js';
import { waitFor } from '../../test/peers/net.js';
import { Cleanup } from './cleanup.js';
import { Counter, type Counts } from './counter.js';
import { LoadGenerator, type LoadPlan, type LoadResult } from './load.js';
import { boxCpu, busyShare, cpuSeconds, memory, runQueueWaitSeconds, setNice, stealShare } from '../proc.js';
import { SERVICE_NICE } from '../../gateway/runtime-flags.js';
import type { System } from './system.js';
import { DOMAIN, METRIC, PROBE_DOMAIN, WARMUP_DEVICE_PATTERN } from './workload.js';

/** The alert sentinel trips or clears its rule this often while the load runs (25 alerts a second). */
export const SENTINEL_PERIOD_MS = 20;
/** How often InfluxDB's write counter is read: the resolution of "last point in InfluxDB". */
const POLL_MS = 100;
/** With every reading in, the outputs are done once nothing moved for this long... */
const SETTLED_MS = 1_000;
/** ...and with some missing, once nothing moved for this long (a write being retried after a timeout moves late). */
const GIVE_UP_MS = 15_000;

export interface RunFigures {
  readonly system: string;
  readonly qos: 0 | 1;
  /** Readings the load published (QoS 0) or had acknowledged (QoS 1). */
  readonly sent: number;
  readonly inInflux: number;
  readonly subscriber: number;
  /** Readings that reached the upstream broker through the bridge; undefined without one. */
  readonly upstream: number | undefined;
  /** First publish → last point in InfluxDB. */
  readonly seconds: number;
  /** First publish → the last output (InfluxDB, the live subscriber, the bridge's upstream) holding its last reading. */
  readonly allOutputsSeconds: number;
  /** The load's own rate: first publish → the broker confirming the last. */
  readonly loadSeconds: number;
  /** The system's CPU time from the first publish until every output held all it got: a bridge still draining counts. */
  readonly cpuSeconds: number;
  readonly peakRss: number;
  readonly endRss: number;
  /** Reading → alert event latencies in ms, of the tripping readings whose alert arrived, sorted. */
  readonly alertMs: readonly number[];
  readonly trips: number;
  /** The same for the alert sentinel's tripping readings (a device on a connection of its own), sorted. */
  readonly sentinelMs: readonly number[];
  readonly sentinelTrips: number;
  /** The system's own account: the bucket bound (ms) that 99% of the run's batches waited for the rules at most. */
  readonly eventLoopLagP99Ms: number | undefined;
  /** The share of the box's CPU time the hypervisor took during the run (0 on bare metal). */
  readonly steal: number;
  /** The share of the box's CPU time something ran during the run. */
  readonly boxBusy: number;
  /** The system's process whose main thread waited longest for a core during the run, and that wait's share of the run. */
  readonly runQueueWait: { readonly process: string; readonly share: number };
  readonly problems: readonly string[];
}

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));
const now = (): number => performance.timeOrigin + performance.now();

async function pointsWritten(influx: InfluxDb1): Promise<number> {
  const [httpd] = await influx.query(`SHOW STATS FOR 'httpd'`);
  return Number(httpd?.values[0]?.[httpd.columns.indexOf('pointsWrittenOK')] ?? 0);
}

/**
 * Polls `count` until it reaches `expected` and holds still, or holds still long enough to give up; never before
 * `mayEnd` (the load is still sending).
 */
async function settle(count: () => Promise<number>, expected: number, onGrowth: () => void, mayEnd: () => boolean = () => true): Promise<number> {
  let last = await count();
  let movedAt = now();
  for (;;) {
    await sleep(POLL_MS);
    const value = await count();
    if (value !== last) {
      last = value;
      movedAt = now();
      onGrowth();
    }
    const still = now() - movedAt;
    if (!mayEnd()) continue;
    if ((value >= expected && still >= SETTLED_MS) || still >= GIVE_UP_MS) return value;
  }
}

/** Rethrows a wait that timed out with what the system logged meanwhile: the likely reason. */
function withProblems(system: System): (error: unknown) => never {
  return (error) => {
    throw new Error(`${String(error)}; ${system.problems().join('; ') || 'nothing logged'}`);
  };
}

/**
 * Sends `readings` of the plan's shape through the system on the probe domain, and returns once every output has them
 * all: the measured run then finds the system's hot code compiled and its heap grown, as in a gateway that has run for
 * months, and no work of the warm-up is left to count. A fresh process would spend the first second or so of the run
 * compiling, a fixed cost that weighs most on the system that finishes soonest.
 */
async function warmUp(system: System, influx: InfluxDb1, load: LoadGenerator, counters: readonly (Counter | undefined)[], plan: LoadPlan, readings: number): Promise<void> {
  if (readings <= 0) return;
  const probesBefore = await Promise.all(counters.map(async (c) => (await c?.counts())?.probes ?? 0));
  await load.run({ ...plan, readings, domain: PROBE_DOMAIN });
  await waitFor(
    async () => {
      const [series] = await influx.query(`SELECT count("${METRIC}") FROM "${PROBE_DOMAIN}" WHERE "device" =~ ${WARMUP_DEVICE_PATTERN}`, system.database);
      if (Number(series?.values[0]?.[1] ?? 0) < readings) return undefined;
      const probes = await Promise.all(counters.map(async (c) => (await c?.counts())?.probes));
      return probes.every((p, i) => p === undefined || p - probesBefore[i]! >= readings) ? true : undefined;
    },
    { what: `the warm-up's ${readings} readings on every output of ${system.name}`, timeoutMs: 120_000, intervalMs: POLL_MS },
  ).catch(withProblems(system));
}

/** `warmup`: readings sent through the system first, unmeasured (see warmUp). */
export async function measureRun(system: System, influx: InfluxDb1, plan: LoadPlan, warmup: number): Promise<RunFigures> {
  const cleanup = new Cleanup();
  try {
    // The system may still be binding its port: the load connects once it is there.
    const load = cleanup.add(await waitFor(() => LoadGenerator.connect(system.login), { what: `${system.name} to accept the load`, timeoutMs: 60_000, intervalMs: 250 }), 'load generator', (l) => l.stop());
    const local = cleanup.add(await Counter.start(system.brokerPort, { readings: true, alerts: false }), 'subscriber', (c) => c.stop());
    // Emergency staff listen to the alert events only, on a connection of their own: an alert does not queue behind
    // the readings a dashboard takes in.
    const staff = cleanup.add(await Counter.start(system.brokerPort, { readings: false, alerts: true }), 'staff subscriber', (c) => c.stop());
    const sentinel = cleanup.add(await LoadGenerator.connect(system.login), 'alert sentinel', (l) => l.stop());
    const upstream = system.upstreamPort === undefined ? undefined : cleanup.add(await Counter.start(system.upstreamPort, { readings: true, alerts: false }), 'upstream subscriber', (c) => c.stop());
    // Up end to end once a probe reading came out on every output (a bridge and Node-RED's MQTT nodes connect late).
    await waitFor(
      async () => {
        await load.probe();
        const seen = [await local.counts(), await upstream?.counts()];
        return seen.every((c) => c === undefined || c.probes > 0) ? true : undefined;
      },
      { what: `a probe reading through ${system.name}`, timeoutMs: 60_000, intervalMs: 500 },
    ).catch(withProblems(system));

    // Each system runs at the priority the gateway is deployed with, the peer's processes too: the same care for both.
    const normalPriority = system.processes.filter((p) => !setNice(p.pid, SERVICE_NICE)).map((p) => p.name);
    // The load, the alert sentinel and the staff subscriber stand for the street's devices and emergency staff, at the
    // systems' priority: on a street they run on other machines, so their own wait for one of these two cores is not
    // the system's. A load late on its schedule sends what it owes in one burst, which no street of independent devices
    // does, and a tripping reading at the burst's end waits through it.
    for (const instrument of [load, sentinel, staff]) setNice(instrument.pid, SERVICE_NICE);
    await warmUp(system, influx, load, [local, upstream], plan, warmup);
    const cpu = (): number => system.processes.reduce((sum, p) => sum + cpuSeconds(p.pid), 0);
    const waits = (): number[] => system.processes.map((p) => runQueueWaitSeconds(p.pid));
    // Read once to start the window: the lag reported after the run is over the run alone.
    await system.eventLoopLagP99Ms?.();
    const writtenBefore = await pointsWritten(influx);
    const cpuBefore = cpu();
    const boxBefore = boxCpu();
    const waitsBefore = waits();
    let lastPointAt = now();
    let lastOutputAt = lastPointAt;
    let cpuAtLastOutput = cpuBefore;
    let boxAtLastOutput = boxBefore;
    let waitsAtLastOutput = waitsBefore;
    await sentinel.startSentinel(SENTINEL_PERIOD_MS);
    const loadDone: Promise<LoadResult> = load.run(plan);
    const sentinelDone = loadDone.then(() => sentinel.stopSentinel());
    void sentinelDone.catch(() => undefined);
    // Sampled while the load runs and after: the last growth of InfluxDB's write counter is the run's end, and the
    // last growth of any output (a bridge still draining its buffer, say) the end of the system's work.
    let loadFinished = false;
    void loadDone.catch(() => undefined).finally(() => (loadFinished = true));
    const outputGrew = (): void => {
      lastOutputAt = now();
      cpuAtLastOutput = cpu();
      boxAtLastOutput = boxCpu();
      waitsAtLastOutput = waits();
    };
    const pointGrew = (): void => {
      lastPointAt = now();
      outputGrew();
    };
    const watch = (count: () => Promise<number>, onGrowth: () => void): Promise<number> => settle(count, plan.readings, onGrowth, () => loadFinished);
    const watchCounter = async (counter: Counter | undefined): Promise<Counts | undefined> => {
      if (!counter) return undefined;
      let counts = await counter.counts();
      await watch(async () => (counts = await counter.counts()).readings, outputGrew);
      return counts;
    };
    const [, localCounts, upstreamCounts] = await Promise.all([watch(async () => (await pointsWritten(influx)) - writtenBefore, pointGrew), watchCounter(local), watchCounter(upstream)]);
    const result = await loadDone;
    const sentinelTrips = await sentinelDone;
    const inInflux = await countPoints(influx, system.database);
    const eventLoopLagP99Ms = await system.eventLoopLagP99Ms?.();
    const memories = system.processes.map((p) => memory(p.pid));
    const firings = new Map((await staff.counts()).firings);
    const latencies = (trips: readonly [string, number][]): number[] =>
      trips
        .flatMap(([key, at]) => {
          const arrived = firings.get(key);
          return arrived === undefined ? [] : [arrived - at];
        })
        .sort((a, b) => a - b);
    return {
      system: system.name,
      qos: plan.qos,
      sent: result.sent,
      inInflux,
      subscriber: localCounts?.readings ?? 0,
      upstream: upstreamCounts?.readings,
      seconds: (lastPointAt - result.firstAt) / 1000,
      allOutputsSeconds: (lastOutputAt - result.firstAt) / 1000,
      loadSeconds: (result.confirmedAt - result.firstAt) / 1000,
      cpuSeconds: cpuAtLastOutput - cpuBefore,
      peakRss: memories.reduce((sum, m) => sum + m.peakRss, 0),
      endRss: memories.reduce((sum, m) => sum + m.rss, 0),
      alertMs: latencies(result.trips),
      trips: result.trips.length,
      sentinelMs: latencies(sentinelTrips),
      sentinelTrips: sentinelTrips.length,
      eventLoopLagP99Ms,
      steal: stealShare(boxBefore, boxAtLastOutput),
      boxBusy: busyShare(boxBefore, boxAtLastOutput),
      runQueueWait: longestWait(system, waitsBefore, waitsAtLastOutput, (lastOutputAt - result.firstAt) / 1000),
      problems: [...system.problems(), ...(normalPriority.length ? [`${normalPriority.join(', ')} ran at nice 0, not ${SERVICE_NICE}: raising a priority needs root`] : [])],
    };
  } finally {
    await cleanup.run();
  }
}

/** The system's process whose main thread waited longest for a core between two readings of their waits. */
function longestWait(system: System, before: readonly number[], after: readonly number[], seconds: number): RunFigures['runQueueWait'] {
  let longest = { process: '—', share: 0 };
  system.processes.forEach((p, i) => {
    const share = (after[i]! - before[i]!) / seconds;
    if (share >= longest.share) longest = { process: p.name, share };
  });
  return longest;
}

/** Points of the load's measurement in the system's database. */
export async function countPoints(influx: InfluxDb1, database: string): Promise<number> {
  const [series] = await influx.query(`SELECT count("${METRIC}") FROM "${DOMAIN}"`, database);
  return Number(series?.values[0]?.[1] ?? 0);
}
