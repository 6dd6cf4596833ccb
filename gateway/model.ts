/** The data model shared by every driver and consumer; how it is published and stored is in CONTRACT.md. */

export type Quality = 'good' | 'uncertain' | 'bad';
/**
 * A bigint is an exact 64-bit integer: a Modbus int64/uint64 point without scale or offset is always one (small
 * values too), so its type, and its InfluxDB field type, never changes. Every other number is a double.
 */
export type ReadingValue = number | bigint | boolean | string;

/**
 * One sampled value. Drivers create exactly one object per sample; consumers read it and never mutate it,
 * so the same object can be handed to every consumer without copying.
 */
export interface Reading {
  readonly device: string;
  readonly domain: string;
  readonly metric: string;
  readonly value: ReadingValue;
  readonly unit?: string;
  /** Epoch milliseconds when sampled. */
  readonly ts: number;
  readonly quality: Quality;
  readonly tags?: Readonly<Record<string, string>>;
  /**
   * false: report-by-exception found nothing worth reporting (within the point's deadband, before its max_silence).
   * The rules still judge such a reading and the status page shows it; the reporting outputs (MQTT, the bridge,
   * InfluxDB) skip it. Absent or true: reported.
   */
  readonly report?: boolean;
}

export type DeviceState = 'online' | 'offline';

export interface DeviceStatus {
  readonly device: string;
  readonly state: DeviceState;
  readonly ts: number;
  /** Why the device is offline, or a point-level problem of an online device (e.g. a Modbus exception). */
  readonly error?: string;
  /** The stable code of that error (gateway/util/error-code.ts), when it has one; for logs, not the MQTT payload. */
  readonly code?: string;
}
