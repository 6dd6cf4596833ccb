/**
 * The running side of one line-based serial device: bytes from its port become lines, lines become readings, and
 * its availability follows its port and the flow of valid lines. Framing, checksums and parsing are pure modules;
 * this class decides what a line (or its absence) means.
 */
import type { DeviceState, Reading } from '../../gateway/model.js';
import { errorCode, type ErrorCode } from '../../gateway/util/error-code.js';
import type { Logger } from '../../gateway/util/log.js';
import type { DriverContext } from '../driver.js';
import { ReportGate } from '../report-by-exception.js';
import { BadLineLog, type BadLineKind } from './bad-line-log.js';
import { formatDuration, parserFields, silenceBeforeReopen, type SerialLineDeviceConfig } from './config.js';
import { LineSplitter } from './framing.js';
import { createLineDecoder, type LineDecoder } from './line-decoder.js';
import { ReopeningPort } from './reopening-port.js';

/** Counters of one device since the driver started. */
export interface SerialLineStats {
  /** Complete lines received, valid or not (blank lines are not counted). */
  lines: number;
  /** Readings emitted (one per field of each valid line). */
  readings: number;
  /** Lines the parser rejected (a field missing or of the wrong kind, no match, not JSON...). */
  malformed: number;
  /** Lines that failed their checksum, or had none when one is configured. */
  checksum_errors: number;
  /** Lines longer than framing.max_line, dropped. */
  overlong: number;
  /** Readings report-by-exception kept from MQTT, the bridge and InfluxDB (within deadband, before max_silence); the rules saw them. */
  suppressed: number;
  /** Attempts to open the port again after it failed to open or vanished. */
  reopen_attempts: number;
  port_open: boolean;
}

type Counters = Omit<SerialLineStats, 'reopen_attempts' | 'port_open'>;

const counterOf: Record<BadLineKind, keyof Counters> = { malformed: 'malformed', checksum: 'checksum_errors', overlong: 'overlong' };

export class SerialLineDevice {
  private readonly splitter: LineSplitter;
  private readonly decode: LineDecoder;
  private readonly tags: Readonly<Record<string, string>> | undefined;
  private readonly badLines: BadLineLog;
  private readonly port: ReopeningPort;
  private readonly counters: Counters = { lines: 0, readings: 0, malformed: 0, checksum_errors: 0, overlong: 0, suppressed: 0 };
  /** By metric, for the fields with deadband or max_silence. */
  private readonly gates = new Map<string, ReportGate>();
  /** The last status reported; a status is only sent when it changes. */
  private reported: { state: DeviceState; error: string | undefined } | undefined;
  /** Monotonic time of the last valid line: staleness is a duration, whatever the wall clock does. */
  private lastValidAt = 0;
  private staleTimer: NodeJS.Timeout | undefined;
  private readonly log: Logger;

  constructor(
    private readonly device: SerialLineDeviceConfig,
    private readonly ctx: DriverContext,
  ) {
    this.log = ctx.log;
    this.splitter = new LineSplitter({ delimiter: device.framing.delimiter, maxLine: device.framing.max_line });
    this.decode = createLineDecoder(device);
    this.tags = Object.keys(device.tags).length ? Object.freeze({ ...device.tags }) : undefined;
    this.badLines = new BadLineLog(this.log, device.name);
    for (const field of parserFields(device.parser)) {
      const gate = ReportGate.of(field);
      if (gate) this.gates.set(field.metric, gate);
    }
    const settings = { path: device.port, baudRate: device.baud, dataBits: device.data_bits, parity: device.parity, stopBits: device.stop_bits };
    this.port = new ReopeningPort(settings, { reopenMaxMs: device.reopen_max, silenceMs: silenceBeforeReopen(device) }, {
      opened: () => this.onOpened(),
      data: (chunk) => this.onData(chunk),
      down: (reason) => this.onDown(reason),
    }, this.log);
  }

  /** Resolves once the first attempt to open the port has succeeded or failed (and the next is scheduled). */
  start(): Promise<void> {
    return this.port.start();
  }

  async stop(): Promise<void> {
    // The port first: a line arriving while it closes would otherwise re-arm the stale check.
    await this.port.stop();
    clearTimeout(this.staleTimer);
    this.staleTimer = undefined;
    this.badLines.close();
  }

  stats(): SerialLineStats {
    return { ...this.counters, reopen_attempts: this.port.reopenAttempts, port_open: this.port.isOpen };
  }

  private onOpened(): void {
    // Whatever was half-received before the port went away belongs to no line of the new stream.
    this.splitter.reset();
    this.log.info('port open', { device: this.device.name, port: this.device.port });
    // Staleness counts from the moment the device could have spoken.
    this.lastValidAt = performance.now();
    this.armStaleCheck(this.device.stale_after);
  }

  private onDown(reason: string): void {
    clearTimeout(this.staleTimer);
    this.staleTimer = undefined;
    this.report('offline', reason);
  }

  private onData(chunk: Buffer): void {
    const arrived = Date.now();
    for (const event of this.splitter.push(chunk)) {
      this.counters.lines++;
      if (event.kind === 'overlong') this.reject('overlong', `longer than max_line (${this.device.framing.max_line} bytes)`, event.sample);
      else this.onLine(event.text, arrived);
    }
  }

  private onLine(text: string, arrived: number): void {
    try {
      const decoded = this.decode(text);
      if (!decoded.ok) {
        this.reject(decoded.problem, decoded.error, text);
        return;
      }
      const now = performance.now();
      const readings: Reading[] = decoded.values.map(({ metric, value, unit }) => {
        const report = this.gates.get(metric)?.admit(value, 'good', now) ?? true;
        if (!report) this.counters.suppressed++;
        return { device: this.device.name, domain: this.device.domain, metric, value, unit, ts: arrived, quality: 'good', tags: this.tags, report };
      });
      this.counters.readings += readings.length;
      this.lastValidAt = performance.now();
      this.ctx.emit(readings);
      this.report('online', undefined);
      if (!this.staleTimer) this.armStaleCheck(this.device.stale_after);
    } catch (error) {
      // A fault downstream (or a bug) must cost this line only, not the port's data handler and the lines after it.
      this.log.error('handling a line failed', { device: this.device.name, error, sample: text.slice(0, 80) });
    }
  }

  private reject(kind: BadLineKind, error: string, sample: string): void {
    this.counters[counterOf[kind]]++;
    this.badLines.report(kind, error, sample);
  }

  /** One timer per device, re-armed for the remaining time rather than reset on every line. */
  private armStaleCheck(delayMs: number): void {
    this.staleTimer = setTimeout(() => {
      this.staleTimer = undefined;
      const silentFor = performance.now() - this.lastValidAt;
      if (silentFor < this.device.stale_after) {
        this.armStaleCheck(this.device.stale_after - silentFor);
        return;
      }
      // Re-armed by the next valid line.
      this.report('offline', `no valid line for ${formatDuration(this.device.stale_after)}`, 'E_DEVICE_SILENT');
    }, delayMs);
  }

  private report(state: DeviceState, error: string | undefined, code: ErrorCode | undefined = errorCode(error)): void {
    if (this.reported?.state === state && this.reported.error === error) return;
    this.reported = { state, error };
    // Back online, every field reports its first value whatever it is.
    if (state === 'offline') for (const gate of this.gates.values()) gate.forget();
    if (state === 'online') this.log.info('device online', { device: this.device.name });
    else this.log.warn('device offline', { device: this.device.name, error, code });
    this.ctx.status({ device: this.device.name, state, ts: Date.now(), ...(error === undefined ? {} : { error, code }) });
  }
}
