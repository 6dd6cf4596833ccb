/**
 * The load generator: one MQTT connection in a process of its own (this file is its entry), writing raw PUBLISH
 * packets as fast as the broker takes them — at QoS 0 as fast as the socket drains, at QoS 1 with a window of
 * publishes in flight — or paced to a steady rate. It notes when each tripping reading went out, for reading→alert.
 */
import type { ChildProcess } from 'node:child_process';
import type { Socket } from 'node:net';
import { fileURLToPath } from 'node:url';
import { ask, forkHelper, serve } from '../ipc.js';
import { stopChild } from '../../test/peers/process.js';
import { mqttConnect, mqttString, PacketType, PINGREQ, publishPacket, type Packet } from './mqtt-wire.js';
import { DOMAIN, ingestPayload, PROBE_DOMAIN, readingAt, runStartTs, SENTINEL_DOMAIN, sentinelReading, topics, tripKey } from './workload.js';

/** Publishes per socket write: big enough to keep syscalls rare, small enough to keep the window fed. */
const CHUNK = 256;
/**
 * Paced runs catch up on their schedule this often: at 50,000 readings/s, 50 at a time, as a street's devices sending
 * on their own clocks would arrive, not bursts of 250 that a reading at a burst's end waits through (every 5 ms, the
 * load's own p50 reading → alert was 1.3–2.0 ms against the sentinel's 0.5).
 */
const PACE_MS = 1;

export interface LoadLogin {
  readonly port: number;
  readonly username?: string;
  readonly password?: string;
}

export interface LoadPlan {
  readonly qos: 0 | 1;
  readonly readings: number;
  /** QoS 1 publishes in flight. */
  readonly window: number;
  /** Readings per second; as fast as possible without. */
  readonly rate?: number;
  /** The domain its devices publish on: the load's (default), or the probe's for a warm-up that no output counts as the load's. */
  readonly domain?: string;
}

export interface LoadResult {
  /** Publishes written (QoS 0) or acknowledged (QoS 1). */
  readonly sent: number;
  /** Epoch ms, with fractions, of the first publish, the last one, and the broker confirming it had them all. */
  readonly firstAt: number;
  readonly lastAt: number;
  readonly confirmedAt: number;
  /** tripKey → epoch ms it was written to the socket. */
  readonly trips: [string, number][];
  readonly cpuSeconds: number;
}

type Command =
  | { type: 'connect'; login: LoadLogin }
  | { type: 'probe' }
  | { type: 'run'; plan: LoadPlan }
  | { type: 'sentinel-start'; periodMs: number }
  | { type: 'sentinel-stop' }
  | { type: 'end' };

const now = (): number => performance.timeOrigin + performance.now();

function runGenerator(): void {
  let socket: Socket | undefined;
  let inFlight = 0;
  let wake: (() => void) | undefined;
  let pingAnswered: (() => void) | undefined;
  const onPacket = (packet: Packet): void => {
    if (packet.type === PacketType.Puback) {
      inFlight--;
      wake?.();
    } else if (packet.type === PacketType.Pingresp) pingAnswered?.();
  };
  const nextEvent = (): Promise<void> => new Promise((resolve) => (wake = resolve));
  const connected = (): Socket => {
    if (!socket) throw new Error('load generator: not connected');
    return socket;
  };
  const topicCache = new Map<string, Buffer>();
  const topicOf = (domain: string, device: string): Buffer => {
    const key = `${domain}/${device}`;
    let topic = topicCache.get(key);
    if (!topic) topicCache.set(key, (topic = mqttString(topics.ingest(domain, device))));
    return topic;
  };

  const run = async (plan: LoadPlan): Promise<LoadResult> => {
    const out = connected();
    const domain = plan.domain ?? DOMAIN;
    const startTs = runStartTs();
    const trips: [string, number][] = [];
    const cpuBefore = process.cpuUsage();
    let nextId = 1;
    let seq = 0;
    const firstAt = now();
    while (seq < plan.readings) {
      let n = Math.min(CHUNK, plan.readings - seq);
      if (plan.qos === 1) n = Math.min(n, plan.window - inFlight);
      if (plan.rate !== undefined) n = Math.min(n, Math.floor(((now() - firstAt) / 1000) * plan.rate) - seq);
      if (n <= 0) {
        await (plan.rate !== undefined && (plan.qos === 0 || inFlight < plan.window) ? new Promise((r) => setTimeout(r, PACE_MS)) : nextEvent());
        continue;
      }
      const packets: Buffer[] = [];
      const at = now();
      for (let i = 0; i < n; i++, seq++) {
        const reading = readingAt(seq, startTs, domain);
        if (reading.trips) trips.push([tripKey(reading.device, reading.value), at]);
        let id = 0;
        if (plan.qos === 1) {
          id = nextId;
          nextId = nextId === 0xffff ? 1 : nextId + 1;
          inFlight++;
        }
        packets.push(publishPacket(topicOf(domain, reading.device), ingestPayload(reading), plan.qos, id));
      }
      if (!out.write(Buffer.concat(packets))) await new Promise((r) => out.once('drain', r));
    }
    const lastAt = now();
    if (plan.qos === 1) while (inFlight > 0) await nextEvent();
    else {
      // The PINGRESP comes only once the broker has read every publish before the PINGREQ.
      const answered = new Promise<void>((resolve) => (pingAnswered = resolve));
      out.write(PINGREQ);
      await answered;
    }
    const cpu = process.cpuUsage(cpuBefore);
    return { sent: seq, firstAt, lastAt, confirmedAt: now(), trips, cpuSeconds: (cpu.user + cpu.system) / 1e6 };
  };

  let sentinel: { timer: NodeJS.Timeout; trips: [string, number][] } | undefined;
  const startSentinel = (periodMs: number): void => {
    const out = connected();
    const trips: [string, number][] = [];
    let k = 0;
    // QoS 1, as a field device sends an alarm; on a timer, not waiting for the PUBACK, so a slow system gets no respite.
    const timer = setInterval(() => {
      const reading = sentinelReading(k++);
      if (reading.trips) trips.push([tripKey(reading.device, reading.value), now()]);
      out.write(publishPacket(topicOf(SENTINEL_DOMAIN, reading.device), ingestPayload(reading), 1, (k % 0xffff) + 1));
    }, periodMs);
    sentinel = { timer, trips };
  };

  serve<Command>(async (command) => {
    switch (command.type) {
      case 'connect': {
        const { port, username, password } = command.login;
        socket = await mqttConnect(port, `bench-load-${process.pid}`, onPacket, { login: username !== undefined && password !== undefined ? { username, password } : undefined });
        socket.on('error', (error) => console.error(`load generator: ${error.message}`));
        return null;
      }
      case 'probe':
        connected().write(publishPacket(topicOf(PROBE_DOMAIN, 'probe-1'), `{"flow":${Date.now() % 1000}}`, 0));
        return null;
      case 'run':
        return run(command.plan);
      case 'sentinel-start':
        startSentinel(command.periodMs);
        return null;
      case 'sentinel-stop': {
        clearInterval(sentinel?.timer);
        const trips = sentinel?.trips ?? [];
        sentinel = undefined;
        return trips;
      }
      case 'end':
        socket?.end();
        socket = undefined;
        return null;
    }
  });
}

if (process.argv[1] === fileURLToPath(import.meta.url)) runGenerator();

/** The generator process, as the bench drives it. */
export class LoadGenerator {
  private constructor(private readonly child: ChildProcess) {}

  /** The generator's process id (0 if it has none). */
  get pid(): number {
    return this.child.pid ?? 0;
  }

  static async connect(login: LoadLogin): Promise<LoadGenerator> {
    const load = new LoadGenerator(forkHelper(fileURLToPath(import.meta.url)));
    try {
      await ask(load.child, { type: 'connect', login } satisfies Command);
    } catch (error) {
      await load.stop();
      throw error;
    }
    return load;
  }

  /** One reading on the probe domain: a system is up once it comes out at the far end. */
  probe(): Promise<unknown> {
    return ask(this.child, { type: 'probe' } satisfies Command);
  }

  run(plan: LoadPlan): Promise<LoadResult> {
    return ask(this.child, { type: 'run', plan } satisfies Command);
  }

  /** Starts the alert sentinel on this connection: a tripping or clearing reading every `periodMs`. */
  async startSentinel(periodMs: number): Promise<void> {
    await ask(this.child, { type: 'sentinel-start', periodMs } satisfies Command);
  }

  /** Stops the sentinel: tripKey → epoch ms each tripping reading was written. */
  stopSentinel(): Promise<[string, number][]> {
    return ask(this.child, { type: 'sentinel-stop' } satisfies Command);
  }

  async stop(): Promise<void> {
    await ask(this.child, { type: 'end' } satisfies Command).catch(() => undefined);
    await stopChild(this.child);
  }
}
