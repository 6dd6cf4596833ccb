import type { ModbusPoint } from './config.js';
import type { Quality, Reading, ReadingValue } from '../../gateway/model.js';
import { Backoff } from '../../gateway/util/backoff.js';
import { errorCode, type ErrorCode } from '../../gateway/util/error-code.js';
import type { Logger } from '../../gateway/util/log.js';
import type { DriverContext } from '../driver.js';
import { ReportGate } from '../report-by-exception.js';
import { decodeBit, decodePoint } from './codec.js';
import { ModbusFailure, type BlockData, type ModbusLink } from './link.js';
import { planReads, splitRequest, type ReadRequest } from './plan.js';

/** What the poller needs to know of a device, whichever transport it hangs on. */
export interface PolledDevice {
  readonly name: string;
  readonly domain: string;
  readonly tags: Readonly<Record<string, string>>;
  readonly unit_id: number;
  readonly poll_interval: number;
  readonly timeout: number;
  readonly retries: number;
  readonly max_gap: number;
  readonly backoff_max: number;
  readonly points: readonly ModbusPoint[];
}

export interface PollerStats {
  polls: number;
  failedPolls: number;
  requests: number;
  malformed: number;
  /** Polls that started late because the previous one (or the link) took longer than the interval. */
  overruns: number;
  /** Polls after which the next waited because the gateway was behind (backpressure). */
  heldBack: number;
  /** How long the last poll cycle took, every request and retry of it (ms). */
  lastPollMs: number | undefined;
  /** Readings report-by-exception kept from MQTT, the bridge and InfluxDB (within deadband, before max_silence); the rules saw them. */
  suppressed: number;
}

/**
 * The running side of one Modbus device: its schedule, retries, backoff and availability. Decoding and request
 * planning are pure functions elsewhere; this class only decides when to ask and what a failure means.
 */
export class DevicePoller {
  private plan: ReadRequest[];
  private timer: NodeJS.Timeout | undefined;
  private running = false;
  private current: Promise<void> = Promise.resolve();
  /** From one poll interval up to backoff_max; jitter keeps devices that failed together (a switch rebooting) apart. */
  private readonly backoff: Backoff;
  private nextDue = 0;
  private readonly tags: Readonly<Record<string, string>> | undefined;
  private readonly pointErrors = new Map<string, string>();
  /** By point name, for the points with deadband or max_silence. */
  private readonly gates = new Map<string, ReportGate>();
  readonly stats: PollerStats = { polls: 0, failedPolls: 0, requests: 0, malformed: 0, overruns: 0, heldBack: 0, lastPollMs: undefined, suppressed: 0 };

  constructor(
    private readonly device: PolledDevice,
    private readonly link: ModbusLink,
    private readonly ctx: DriverContext,
    private readonly log: Logger,
  ) {
    this.plan = planReads(device.points, { maxGap: device.max_gap });
    this.tags = Object.keys(device.tags).length ? Object.freeze({ ...device.tags }) : undefined;
    this.backoff = new Backoff({ initialMs: device.poll_interval, maxMs: device.backoff_max });
    for (const point of device.points) {
      const gate = ReportGate.of(point);
      if (gate) this.gates.set(point.name, gate);
    }
  }

  /** Requests per poll cycle with the current plan (a coalesced block split after an exception counts its parts). */
  get requestsPerPoll(): number {
    return this.plan.length;
  }

  start(): void {
    this.running = true;
    // The schedule runs on the monotonic clock: a wall clock set back an hour must not hold the next poll an hour.
    this.nextDue = performance.now();
    this.schedule(0);
  }

  async stop(): Promise<void> {
    this.running = false;
    clearTimeout(this.timer);
    await this.current;
  }

  private schedule(delayMs: number): void {
    if (!this.running) return;
    this.timer = setTimeout(() => {
      this.current = this.pollOnce().then((ok) => this.afterPoll(ok));
    }, delayMs);
  }

  private afterPoll(ok: boolean): void {
    const now = performance.now();
    if (ok) {
      this.backoff.reset();
      // Keep to the grid of the interval; after an overrun start again from now rather than firing a burst.
      this.nextDue += this.device.poll_interval;
      if (this.nextDue < now) {
        this.stats.overruns++;
        this.nextDue = now;
      }
      this.schedule(this.nextDue - now);
      return;
    }
    const delay = this.backoff.next();
    this.nextDue = now + delay;
    this.schedule(delay);
  }

  /** One poll cycle: every request of the plan, then one batch of readings. Returns false when the device is unreachable. */
  private async pollOnce(): Promise<boolean> {
    this.stats.polls++;
    const started = performance.now();
    let ok: boolean;
    try {
      ok = await this.pollPlan();
    } finally {
      this.stats.lastPollMs = performance.now() - started;
    }
    const behind = this.ctx.behind?.();
    if (behind) {
      // The gateway cannot take more yet: the next poll waits (and counts as an overrun if it is late).
      this.stats.heldBack++;
      await behind;
    }
    return ok;
  }

  private async pollPlan(): Promise<boolean> {
    const readings: Reading[] = [];
    try {
      for (let i = 0; i < this.plan.length; i++) {
        const request = this.plan[i]!;
        const result = await this.readWithRetries(request);
        if (result instanceof ModbusFailure) {
          // The device is alive but refuses this request. A coalesced block is split once to find the faulty point(s).
          if (request.points.length > 1) {
            const parts = splitRequest(request);
            this.log.warn('coalesced read refused; reading its points one by one from now on', { device: this.device.name, table: request.table, start: request.start, count: request.count, error: result });
            this.plan.splice(i, 1, ...parts);
            i--;
            continue;
          }
          this.notePointError(request.points[0]!, result.message, result.code);
          continue;
        }
        this.decodeInto(readings, request, result);
      }
    } catch (error) {
      this.stats.failedPolls++;
      // Back online, every point reports its first value whatever it is.
      for (const gate of this.gates.values()) gate.forget();
      if (readings.length) this.ctx.emit(readings);
      this.ctx.status({ device: this.device.name, state: 'offline', ts: Date.now(), error: (error as Error).message, code: errorCode(error) });
      return false;
    }
    if (readings.length) this.ctx.emit(readings);
    this.ctx.status({ device: this.device.name, state: 'online', ts: Date.now(), ...this.pointErrorSummary() });
    return true;
  }

  /** Resolves with the data, or with the exception the device answered; throws when the device does not answer. */
  private async readWithRetries(request: ReadRequest): Promise<BlockData | ModbusFailure> {
    for (let attempt = 0; ; attempt++) {
      this.stats.requests++;
      try {
        return await this.link.read(this.device.unit_id, request, this.device.timeout);
      } catch (error) {
        if (!(error instanceof ModbusFailure)) throw error;
        if (error.kind === 'exception') return error;
        if (error.kind === 'malformed') {
          this.stats.malformed++;
          this.log.warn('malformed response', { device: this.device.name, table: request.table, start: request.start, count: request.count, error });
        }
        // A dead link fails fast; only a silent device on a live link is worth asking again.
        if (error.kind === 'link' || attempt >= this.device.retries) throw error;
      }
    }
  }

  private decodeInto(readings: Reading[], request: ReadRequest, data: BlockData): void {
    const ts = Date.now();
    const now = performance.now();
    for (const point of request.points) {
      let value: ReadingValue;
      try {
        value = 'registers' in data ? decodePoint(point, data.registers, request.start) : decodeBit(point, data.bits, request.start);
      } catch (error) {
        // A short or malformed answer: count it against the point, keep the rest of the block.
        this.notePointError(point, `malformed response: ${(error as Error).message}`, 'E_MODBUS_MALFORMED');
        continue;
      }
      if (this.pointErrors.delete(point.name)) this.log.info('point readable again', { device: this.device.name, point: point.name });
      const quality: Quality = typeof value === 'number' && !Number.isFinite(value) ? 'bad' : 'good';
      const report = this.gates.get(point.name)?.admit(value, quality, now) ?? true;
      if (!report) this.stats.suppressed++;
      readings.push({
        device: this.device.name,
        domain: point.domain ?? this.device.domain,
        metric: point.metric,
        value,
        unit: point.unit,
        ts,
        quality,
        tags: this.tags,
        report,
      });
    }
  }

  private notePointError(point: ModbusPoint, message: string, code: ErrorCode): void {
    // Readable again, the point reports its first value whatever it is.
    this.gates.get(point.name)?.forget();
    if (this.pointErrors.get(point.name) === message) return;
    this.pointErrors.set(point.name, message);
    this.log.warn('point unreadable', { device: this.device.name, point: point.name, table: point.table, address: point.address, error: message, code });
  }

  private pointErrorSummary(): { error?: string } {
    if (this.pointErrors.size === 0) return {};
    return { error: [...this.pointErrors].map(([name, message]) => `point ${name}: ${message}`).join('; ') };
  }
}
