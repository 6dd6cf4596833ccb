/** The data model shared by every driver and consumer; how it is published and stored is in CONTRACT.md. */

export type Quality = 'good' | 'uncertain' | 'bad';
export type ReadingValue = number | boolean | string;

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
