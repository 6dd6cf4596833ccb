import type { DeviceStatus, Reading, ReadingValue } from '../gateway/model.js';
import type { Logger } from '../gateway/util/log.js';

/** What the gateway hands a driver: where its readings and device statuses go. */
export interface DriverContext {
  readonly log: Logger;
  emit(readings: readonly Reading[]): void;
  /**
   * Undefined while the gateway keeps up; while it is behind, a promise that settles once it caught up. A driver that
   * can wait (a poller) starts its next cycle only then; one that cannot (a serial line streaming a few lines a
   * second) need not ask. A context without it (a test rig) never holds a driver back.
   */
  behind?(): Promise<void> | undefined;
  status(status: DeviceStatus): void;
}

/** A source of readings (a protocol, a bus, the simulator). `start` returns once the driver is running. */
export interface Driver {
  readonly name: string;
  start(ctx: DriverContext): Promise<void>;
  /** Stops polling and releases sockets and ports; resolves when nothing of the driver is left running. */
  stop(): Promise<void>;
  /** Its figures by link or device (transactions, timeouts, bad lines...), for health and metrics. */
  stats(): Readonly<Record<string, unknown>>;
  /** Its figures by device, where they are kept apart from the link's (Modbus: polls, failures, poll latency). */
  deviceStats?(): Readonly<Record<string, unknown>>;
  /**
   * Drivers whose devices take commands: writes one point of one of its devices and reads it back. Resolves with
   * the outcome, refusals included (unknown point, not writable, a value the point cannot hold, device offline...).
   */
  write?(device: string, point: string, value: unknown): Promise<WriteOutcome>;
}

/** A driver that takes a new set of its devices while running (a config reload), leaving unchanged ones be. */
export interface UpdatableDriver<Device> extends Driver {
  /** Stops removed and changed devices, starts added and changed ones; `sections` are the kind's config sections. */
  update(devices: readonly Device[], sections: Readonly<Record<string, unknown>>): Promise<void>;
}

/**
 * How a write to a device's point went. `before` is what the point held just before (when it could be read), `value`
 * what it holds after, read back from the device. A refusal or failure says why in `error`, for the operator.
 */
export type WriteOutcome =
  | { readonly ok: true; readonly value: ReadingValue; readonly before: ReadingValue | undefined; readonly ts: number }
  | { readonly ok: false; readonly error: string; readonly before?: ReadingValue | undefined; readonly after?: ReadingValue | undefined };
