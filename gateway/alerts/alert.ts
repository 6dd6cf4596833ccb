/** The alert model shared by the rule engine and every notifier. */
import type { ReadingValue } from '../model.js';

export type Severity = 'info' | 'warning' | 'critical';

/** What happened to an alert: it started firing, it is still firing (a reminder), or it ended. */
export type AlertEventKind = 'firing' | 'reminder' | 'resolved';

export interface Acknowledgement {
  readonly by: string;
  /** Epoch milliseconds. */
  readonly at: number;
}

/** One notification-worthy change of one alert, i.e. of one (rule, series) pair. */
export interface AlertEvent {
  /** `{rule}/{device}/{metric}`: stable for the life of the alert, unique within the site. */
  readonly id: string;
  readonly site: string;
  readonly rule: string;
  readonly device: string;
  /** The metric the rule watched; `status` for device-offline rules. */
  readonly metric: string;
  readonly domain: string | undefined;
  readonly kind: AlertEventKind;
  readonly severity: Severity;
  /** The rule's message template filled in, e.g. "pump-3 level = 4.81 m". */
  readonly message: string;
  /**
   * The value that triggered (or, on resolve, cleared) the alert, when there is one. A 64-bit integer (bigint) is
   * written to JSON with every digit (contract/json.ts).
   */
  readonly value: ReadingValue | undefined;
  readonly unit: string | undefined;
  /** When the alert started firing (epoch ms). */
  readonly since: number;
  /** When this event happened (epoch ms). */
  readonly ts: number;
  readonly acknowledged: Acknowledgement | undefined;
}

/**
 * A way to reach people: a webhook, a mail relay... The dispatcher calls `deliver` for each event addressed to the
 * notifier, one at a time per notifier, and retries with backoff when it rejects.
 */
export interface Notifier {
  readonly name: string;
  /**
   * Delivers one event; resolves when the receiver has accepted it, rejects (with a clear message) otherwise.
   * `eventId` is unique per event and the same on every retry and after a restart: what a receiver deduplicates on.
   */
  deliver(event: AlertEvent, eventId: string): Promise<void>;
  /** Releases connections; called once on shutdown. */
  close?(): Promise<void>;
}
