/**
 * The driver fault tests' gateway: its own process (an unhandled error shows as its death), configured with the
 * devices a test gives, watched through its embedded broker by mosquitto_sub, and measured through /proc.
 */
import { mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { expect } from 'vitest';
import { mosquittoSub, type MosquittoSub } from '../peers/mosquitto-sub.js';
import { freePort, waitFor } from '../peers/net.js';
import { spawnGateway, type GatewayProcess } from '../support/gateway-process.js';

const SITE = 'lab';

export interface Sample {
  value: number | boolean | string | null;
  ts: number;
  /** When the test saw it (Date.now()), to measure recovery against the test's own clock. */
  seenAt: number;
}

export interface FaultGateway {
  readonly process: GatewayProcess;
  readonly dir: string;
  /** Readings of one device's metric published so far, in arrival order. */
  samples(device: string, metric: string): Sample[];
  /** The device's last published status ('online' / 'offline'), if any. */
  state(device: string): string | undefined;
  /** Fails the test with the gateway's output if the process has died. */
  expectAlive(): void;
  /** CPU time (user + system) the gateway process has used so far, in ms. */
  cpuMs(): number;
  stop(): Promise<void>;
}

/** Starts the gateway process on `body` (YAML under `site`/`mqtt`: buses, devices...), subscribed to all it publishes. */
export async function startFaultGateway(body: string): Promise<FaultGateway> {
  const dir = mkdtempSync(join(tmpdir(), 'gw-fault-'));
  symlinkSync(resolve('config', 'profiles'), join(dir, 'profiles'));
  const mqttPort = await freePort();
  writeFileSync(join(dir, 'gateway.yaml'), `site: ${SITE}\nlog: { level: info }\nmqtt:\n  listeners: [{ host: 127.0.0.1, port: ${mqttPort} }]\n${body}`);
  let gateway: GatewayProcess | undefined;
  let sub: MosquittoSub | undefined;
  try {
    gateway = await spawnGateway(join(dir, 'gateway.yaml'));
    sub = mosquittoSub({ port: mqttPort, topic: `city/${SITE}/#` });
    await sub.ready();
  } catch (error) {
    await sub?.stop();
    await gateway?.cleanup();
    rmSync(dir, { recursive: true, force: true });
    throw error;
  }
  const proc = gateway;
  const messages = sub.messages;
  const seenAt: number[] = [];
  const stamp = () => {
    while (seenAt.length < messages.length) seenAt.push(Date.now());
  };
  // Stamped as they arrive: recovery times are measured on the test's clock.
  const stamper = setInterval(stamp, 5);
  return {
    process: proc,
    dir,
    samples(device, metric) {
      stamp();
      const out: Sample[] = [];
      messages.forEach((message, i) => {
        if (!message.topic.endsWith(`/${device}/${metric}`) || message.topic.includes('/status/')) return;
        const payload = JSON.parse(message.payload) as { value: Sample['value']; ts: number };
        out.push({ value: payload.value, ts: payload.ts, seenAt: seenAt[i]! });
      });
      return out;
    },
    state(device) {
      const last = messages.findLast((m) => m.topic === `city/${SITE}/status/${device}`);
      return last ? (JSON.parse(last.payload) as { state: string }).state : undefined;
    },
    expectAlive() {
      if (proc.child.exitCode !== null || proc.child.signalCode !== null) {
        expect.fail(`the gateway process died (exit ${proc.child.exitCode}, signal ${proc.child.signalCode}):\n${proc.output().slice(-6000)}`);
      }
    },
    cpuMs: () => cpuTimeMs(proc.child.pid!),
    async stop() {
      clearInterval(stamper);
      await sub.stop();
      await proc.cleanup();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

/** utime + stime of a process from /proc/PID/stat (fields 14 and 15, in clock ticks of 10 ms on Linux). */
export function cpuTimeMs(pid: number): number {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  // The command name (field 2) may hold spaces: count fields after its closing parenthesis.
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return (Number(fields[11]) + Number(fields[12])) * 10;
}

/** The CPU share (percent of one core) the process used over `ms` of wall time. */
export async function cpuShareOver(gateway: FaultGateway, ms: number): Promise<number> {
  const cpu0 = gateway.cpuMs();
  const t0 = Date.now();
  await new Promise((resolve) => setTimeout(resolve, ms));
  return (100 * (gateway.cpuMs() - cpu0)) / (Date.now() - t0);
}

/**
 * The largest gap between consecutive readings of a device in a window, by their timestamps: a device "on schedule"
 * keeps it near its poll interval whatever happens to the others.
 */
export function largestGap(samples: readonly Sample[], from: number, to: number): number {
  const stamps = samples.map((s) => s.ts).filter((ts) => ts >= from && ts <= to);
  let gap = 0;
  for (let i = 1; i < stamps.length; i++) gap = Math.max(gap, stamps[i]! - stamps[i - 1]!);
  return gap;
}

/** A small seeded generator, so a failing run of "random moments" can be replayed with its printed seed. */
export function seededRandom(seed: number): () => number {
  let state = seed >>> 0 || 1;
  return () => {
    state ^= state << 13;
    state ^= state >>> 17;
    state ^= state << 5;
    return (state >>> 0) / 2 ** 32;
  };
}

/** Waits on a condition with the fault suite's generous default bound. */
export function until<T>(probe: () => T | undefined | Promise<T | undefined>, what: string, timeoutMs = 20_000): Promise<T> {
  return waitFor(probe, { what, timeoutMs });
}
