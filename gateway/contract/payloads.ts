/**
 * The JSON payloads of the contract (CONTRACT.md): a type for each, and a builder for each the gateway publishes.
 * Subscribers parse these bytes, so a builder's output is part of the contract: key order included (tests compare
 * the strings as published).
 */
import type { Acknowledgement, AlertEvent, Severity } from '../alerts/alert.js';
import type { DeviceState, DeviceStatus, Quality, Reading, ReadingValue } from '../model.js';
import { numberText, timestampText } from '../util/number-text.js';
import { exactJson } from './json.js';

/**
 * On `{root}/{domain}/{device}/{metric}`. `value` is null for NaN or ±Infinity (a float register's "not available");
 * a 64-bit integer (bigint) is a bare JSON number with every digit: parse it with a big-number-aware parser to keep them.
 */
export interface ReadingPayload {
  readonly value: ReadingValue | null;
  readonly unit?: string;
  readonly ts: number;
  readonly quality: Quality;
}

/** `,"unit":"m3/h"`, or '' without a unit: the part of a reading's payload that never changes for a series. */
export function readingUnitField(unit: string | undefined): string {
  return unit === undefined ? '' : `,"unit":${JSON.stringify(unit)}`;
}

/** A ReadingPayload, built by hand for the hot path; `unitField` from readingUnitField, computed once per series. */
export function readingPayload(reading: Reading, unitField: string): string {
  return `{"value":${readingValue(reading.value)}${unitField},"ts":${timestampText(reading.ts)},"quality":"${reading.quality}"}`;
}

/** JSON has no NaN or Infinity: such a value is sent as null. A bigint keeps all its digits. */
function readingValue(value: ReadingValue): string {
  if (typeof value === 'number') return Number.isFinite(value) ? numberText(value) : 'null';
  if (typeof value === 'bigint') return value.toString();
  if (typeof value === 'boolean') return value ? 'true' : 'false';
  return JSON.stringify(value);
}

/** On `{root}/status/{device}`, retained. */
export interface StatusPayload {
  readonly state: DeviceState;
  readonly ts: number;
  /** Why it is offline, or a point-level problem of an online device. */
  readonly error?: string;
}

export function statusPayload(status: DeviceStatus): string {
  const payload: StatusPayload = { state: status.state, ts: status.ts, ...(status.error ? { error: status.error } : {}) };
  return JSON.stringify(payload);
}

/** On `{root}/alerts/{rule}/{device}/{metric}`: retained while firing, then `resolved`, then cleared (empty, retained). */
export interface AlertStatePayload {
  readonly state: 'firing' | 'resolved';
  readonly severity: Severity;
  readonly rule: string;
  readonly device: string;
  readonly metric: string;
  readonly value: ReadingValue | null;
  readonly unit: string | null;
  readonly message: string;
  /** When it started firing (epoch ms). */
  readonly since: number;
  /** When this state was published (epoch ms). */
  readonly ts: number;
  readonly acknowledged: Acknowledgement | null;
}

/** The alert as it stands. */
export interface AlertStanding {
  readonly rule: string;
  readonly device: string;
  readonly metric: string;
  readonly unit: string | undefined;
  readonly since: number;
  readonly acknowledged: Acknowledgement | undefined;
}

/** The alert as it stands, with the event's value (on resolve, the value that ended it). */
export function alertStatePayload(alert: AlertStanding, event: Pick<AlertEvent, 'severity' | 'message' | 'ts' | 'value'>, state: AlertStatePayload['state']): string {
  const payload: AlertStatePayload = {
    state,
    severity: event.severity,
    rule: alert.rule,
    device: alert.device,
    metric: alert.metric,
    value: event.value ?? null,
    unit: alert.unit ?? null,
    message: event.message,
    since: alert.since,
    ts: event.ts,
    acknowledged: alert.acknowledged ?? null,
  };
  return exactJson(payload);
}

/** On `{root}/events/alerts`: the event as notifiers get it; keys whose value is undefined are left out. */
export type AlertEventPayload = AlertEvent;

export function alertEventPayload(event: AlertEvent): string {
  return exactJson(event);
}

/** On `{alert topic}/ack/result`, to whoever acknowledged (the ack itself may carry any payload: it is not read). */
export type AckResultPayload = { readonly ok: true; readonly by: string } | { readonly ok: false; readonly error: string };

export function ackResultPayload(alertId: string, by: string, acknowledged: boolean): string {
  const payload: AckResultPayload = acknowledged ? { ok: true, by } : { ok: false, error: `no active alert ${alertId}` };
  return JSON.stringify(payload);
}

/** On `{root}/clients/{client id}/errors`: why a publish or subscription of that client was refused. */
export interface ClientErrorPayload {
  readonly ts: number;
  /** The topic published to, or the filter subscribed to. */
  readonly topic: string;
  readonly errors: readonly string[];
}

export function clientErrorPayload(topic: string, errors: readonly string[], ts: number): string {
  const payload: ClientErrorPayload = { ts, topic, errors };
  return JSON.stringify(payload);
}

/**
 * On `{root}/command/{device}/{point}`. The gateway carries out those to the devices it polls (Modbus: `writable`
 * points); those to MQTT devices it relays within the ACL, and the device answers on `.../result` itself.
 */
export interface CommandPayload {
  readonly value: ReadingValue;
  /** When it was sent (epoch ms): older than `commands.max_age`, it is refused as stale. */
  readonly ts?: number;
  /** The sender's own reference, echoed in the result and the audit. */
  readonly id?: string;
}

/** On `{root}/command/{device}/{point}/result`: `value` is what the point holds after the write, read back. */
export type CommandResultPayload =
  | { readonly ok: true; readonly value?: ReadingValue; readonly ts?: number; readonly id?: string }
  | { readonly ok: false; readonly error: string; readonly id?: string };

export function commandResultPayload(result: CommandResultPayload): string {
  return exactJson(result);
}

/** Who sent a command: the login (never a name from the payload), its role, and the MQTT client id or `http:{user}`. */
export interface CommandSender {
  readonly user: string;
  readonly role: string;
  readonly client: string;
  /** `mqtt` (a local client), `upstream` (the platform, through the bridge) or `http`. */
  readonly via: 'mqtt' | 'upstream' | 'http';
}

/** On `{root}/events/commands` and as one line of `data_dir/audit/commands.jsonl`: every command attempt. */
export interface CommandEventPayload {
  readonly ts: number;
  readonly via: CommandSender['via'];
  readonly user: string;
  readonly role: string;
  readonly client: string;
  readonly device: string;
  readonly point: string;
  /** The value asked for, as sent (null when the payload had none that parsed). */
  readonly value: unknown;
  readonly id: string | null;
  readonly ok: boolean;
  /** The point's value just before the write, when it was read. */
  readonly before: ReadingValue | null;
  /** Its value after the write, read back. */
  readonly after: ReadingValue | null;
  readonly error: string | null;
}

export function commandEventPayload(event: CommandEventPayload): string {
  return exactJson(event);
}
