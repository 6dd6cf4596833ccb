/** A system under test, as the end-to-end measurement sees it: where the load goes, where to listen, whom to sample. */
import type { Mosquitto } from '../../test/peers/mosquitto.js';
import type { LoadLogin } from './load.js';

export interface MeasuredProcess {
  readonly name: string;
  readonly pid: number;
}

export interface System {
  readonly name: string;
  /** Where the load publishes its ingest readings. */
  readonly login: LoadLogin;
  /** The broker a live subscriber of the normalised readings and alert events connects to. */
  readonly brokerPort: number;
  /** The upstream broker the system bridges to, when it has a bridge. */
  readonly upstreamPort: number | undefined;
  /** The InfluxDB database it writes into. */
  readonly database: string;
  /** The processes whose CPU and memory are the system's (not the load's, not InfluxDB's). */
  readonly processes: readonly MeasuredProcess[];
  /**
   * The system's own event-loop lag, p99 in ms since the last call, where it reports one: what a message arriving,
   * an alarm too, waits before the system reads it.
   */
  readonly eventLoopLagP99Ms?: () => Promise<number>;
  /** What its processes logged at warning or error level, and anything else worth a reader's attention. */
  problems(): string[];
  stop(): Promise<void>;
}

/** Mosquitto's config for the bench: log what matters, not every packet (which would measure the log). */
export function quietMosquitto(): string[] {
  return ['log_type none', 'log_type error', 'log_type warning', 'log_type notice', 'log_type information'];
}

/**
 * Messages either system's bridge has on its way to the city platform, unacknowledged, at most: a Mosquitto platform
 * takes any number, and at the gateway's default (100, AWS IoT Core's limit) or Mosquitto's (20) a bridge sends one
 * window per round trip, so less than the load brings even on this box.
 */
export const BRIDGE_INFLIGHT = 1000;

/** The city platform both systems bridge to keeps every message for a slow subscriber: the reference, not under test. */
export const UPSTREAM_MOSQUITTO = [...quietMosquitto(), 'max_queued_messages 0'];

/** What a Mosquitto logged at error or warning level (running as root is no problem here). */
export function mosquittoProblems(name: string, mosquitto: Mosquitto): string[] {
  const problems = mosquitto.log.split('\n').filter((line) => /error|warning/i.test(line) && !/should not be run as root/.test(line));
  return problems.length ? [`${name} logged ${problems.length} errors/warnings, last: ${problems.at(-1)}`] : [];
}

/** Keeps the last lines a process wrote and counts them: a bench that hides a system's complaints measures nothing. */
export class LogTail {
  private readonly lines: string[] = [];
  private total = 0;
  private partial = '';

  /** `expected`: lines that are no complaint (e.g. the load's devices going offline when it disconnects). */
  constructor(
    private readonly name: string,
    private readonly expected?: RegExp,
  ) {}

  push(chunk: string): void {
    const lines = (this.partial + chunk).split('\n');
    this.partial = lines.pop() ?? '';
    for (const line of lines) {
      if (!line.trim() || this.expected?.test(line)) continue;
      this.total++;
      this.lines.push(line);
      if (this.lines.length > 3) this.lines.shift();
    }
  }

  summary(): string[] {
    return this.total === 0 ? [] : [`${this.name} logged ${this.total} lines, last: ${this.lines.join(' | ')}`];
  }
}
