/**
 * One serial port that stays open: when it cannot be opened, or vanishes (a USB adapter pulled, a pty gone), it is
 * opened again with capped exponential backoff and jitter until it is back. The only file that touches `serialport`.
 *
 * A vanished port is not always reported: the port may hit end of file (turned into a disconnection by the hang-up
 * aware binding) or just fall silent. A port that has delivered no byte for `silenceMs` is closed and reopened too.
 */
import type { SerialPort } from 'serialport';
import { Backoff } from '../../gateway/util/backoff.js';
import type { Logger } from '../../gateway/util/log.js';
import { formatDuration } from './config.js';

export interface PortSettings {
  readonly path: string;
  readonly baudRate: number;
  readonly dataBits: 7 | 8;
  readonly parity: 'none' | 'even' | 'odd';
  readonly stopBits: 1 | 2;
}

export interface PortEvents {
  opened(): void;
  data(chunk: Buffer): void;
  /** The port could not be opened, or closed under us; `reason` says which, for the device's status. */
  down(reason: string): void;
}

/** Shortest pause before reopening; the backoff's ceiling doubles from twice this up to the configured cap. */
export const REOPEN_INITIAL_MS = 500;

export interface ReopenPolicy {
  /** Cap of the pause between attempts. */
  readonly reopenMaxMs: number;
  /** No byte for this long on an open port: it is closed and opened again. */
  readonly silenceMs: number;
}

export class ReopeningPort {
  private port: SerialPort | undefined;
  private opening: Promise<void> | undefined;
  private retryTimer: NodeJS.Timeout | undefined;
  private silenceTimer: NodeJS.Timeout | undefined;
  private lastDataAt = 0;
  /** Reset only when the port delivers data: a port that opens but stays silent or dies backs off too. */
  private readonly backoff: Backoff;
  private stopped = false;
  private attempts = 0;
  /** Closing a port that failed under us; stop() waits for it. */
  private releasing: Promise<void> = Promise.resolve();

  constructor(
    private readonly settings: PortSettings,
    private readonly policy: ReopenPolicy,
    private readonly events: PortEvents,
    private readonly log: Logger,
  ) {
    // Jitter keeps gateways on one power circuit from hammering their adapters in lockstep after an outage.
    this.backoff = new Backoff({ initialMs: REOPEN_INITIAL_MS, maxMs: policy.reopenMaxMs });
  }

  get isOpen(): boolean {
    return this.port?.isOpen ?? false;
  }

  /** Attempts to open the port again after it failed or vanished. */
  get reopenAttempts(): number {
    return this.attempts;
  }

  /** Makes the first attempt; resolves when it has succeeded or failed (a failure schedules the next). */
  start(): Promise<void> {
    return this.attempt();
  }

  /** Cancels any pending attempt and closes the port; resolves when the port is released. */
  async stop(): Promise<void> {
    this.stopped = true;
    clearTimeout(this.retryTimer);
    clearTimeout(this.silenceTimer);
    // Forgotten at once, so no more data is delivered; a port still opening is closed by open() itself.
    const port = this.port;
    this.port = undefined;
    await this.opening;
    if (port?.isOpen) await this.close(port);
    await this.releasing;
  }

  private attempt(): Promise<void> {
    this.opening = this.open()
      .catch((error: unknown) => {
        // Only a throwing event handler gets here; the port must still be retried, not given up on.
        this.log.error('handling the port failed', { port: this.settings.path, error });
        this.scheduleReopen();
      })
      .finally(() => {
        this.opening = undefined;
      });
    return this.opening;
  }

  private async open(): Promise<void> {
    let port: SerialPort;
    try {
      port = await openPort(this.settings);
    } catch (error) {
      if (this.stopped) return;
      this.scheduleReopen();
      this.events.down(`cannot open ${this.settings.path}: ${describe(error)}`);
      return;
    }
    if (this.stopped) {
      await this.close(port);
      return;
    }
    this.port = port;
    port.on('data', (chunk: Buffer) => {
      if (port !== this.port) return;
      this.lastDataAt = performance.now();
      this.backoff.reset();
      this.events.data(chunk);
    });
    port.on('close', (error?: Error) => this.lost(port, error ? `${this.settings.path} disconnected (${describe(error)})` : `${this.settings.path} closed`));
    port.on('error', (error: Error) => this.lost(port, `${this.settings.path}: ${describe(error)}`));
    this.lastDataAt = performance.now();
    this.armSilenceCheck(port, this.policy.silenceMs);
    this.events.opened();
  }

  /** One timer per open port, re-armed for the remaining time rather than reset on every chunk. */
  private armSilenceCheck(port: SerialPort, delayMs: number): void {
    this.silenceTimer = setTimeout(() => {
      this.silenceTimer = undefined;
      if (port !== this.port) return;
      const silentFor = performance.now() - this.lastDataAt;
      if (silentFor < this.policy.silenceMs) this.armSilenceCheck(port, this.policy.silenceMs - silentFor);
      else this.lost(port, `${this.settings.path}: no data for ${formatDuration(this.policy.silenceMs)}; reopening the port`);
    }, delayMs);
  }

  /** The port closed or failed under us: release it and try again later. Called once per port whatever fires. */
  private lost(port: SerialPort, reason: string): void {
    if (port !== this.port || this.stopped) return;
    this.port = undefined;
    clearTimeout(this.silenceTimer);
    this.silenceTimer = undefined;
    if (port.isOpen) this.releasing = this.releasing.then(() => this.close(port));
    this.scheduleReopen();
    this.events.down(reason);
  }

  private scheduleReopen(): void {
    if (this.stopped || this.retryTimer) return;
    const delay = this.backoff.next();
    this.retryTimer = setTimeout(() => {
      this.retryTimer = undefined;
      this.attempts++;
      void this.attempt(); // never rejects: attempt() logs a failure and schedules the next try itself
    }, delay);
  }

  /** Resolves once closed; a failure to close is logged (the port is gone either way). */
  private close(port: SerialPort): Promise<void> {
    return new Promise((resolve) => {
      port.close((error) => {
        if (error) this.log.debug('closing the port failed', { port: this.settings.path, error });
        resolve();
      });
    });
  }
}

async function openPort(settings: PortSettings): Promise<SerialPort> {
  // Loaded on the first open: only a gateway with a serial device needs serialport and its native binding.
  const [{ SerialPort }, { serialBindingOption }] = await Promise.all([import('serialport'), import('../serial-port/hangup-aware-binding.js')]);
  return new Promise((resolve, reject) => {
    const port = new SerialPort({ ...settings, autoOpen: false, ...serialBindingOption() });
    port.open((error) => (error ? reject(error) : resolve(port)));
  });
}

/** serialport's open errors read "Error: No such file or directory, cannot open /dev/x": the path is said already. */
function describe(error: unknown): string {
  const { code, message } = error as { code?: string; message?: string };
  const text = (message ?? String(error)).replace(/^Error: /, '').replace(/, cannot open \S+$/, '');
  return text || code || 'unknown error';
}
