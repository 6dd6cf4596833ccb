/**
 * Report-by-exception: per point, whether a sample is worth reporting upstream (MQTT, the bridge, InfluxDB) or only
 * worth judging locally (the rules see every sample). Pure, no I/O; the drivers own one gate per configured point.
 *
 * A sample is reported when it is the first, when its quality differs from the last reported one (a value that goes
 * bad or good), when it moved more than `deadband` from the last reported value, or when `max_silence` has passed
 * since the last report (a heartbeat, so a flat line still proves the point alive).
 */
import { z } from 'zod';
import { duration } from '../gateway/config/duration.js';
import type { Quality, ReadingValue } from '../gateway/model.js';

const PERCENT = /^(\d+(?:\.\d+)?)\s*%$/;

/** The config keys of a point (Modbus) or field (serial line) that turn report-by-exception on. */
export const reportByExceptionFields = {
  /**
   * Report a value only once it moved more than this from the last reported value: a number in the point's unit, or
   * a percentage of the last reported value ("2%"). 0 reports every change. Numbers only.
   */
  deadband: z
    .union([z.number().finite().min(0).describe('a number of at least 0'), z.string().regex(PERCENT, 'a percentage like "2%"').describe('a percentage like "2%"')])
    .optional(),
  /** Report at least this often even when nothing changed (a heartbeat); without it an unchanged value stays silent. */
  max_silence: duration({ min: 1 }).optional(),
};

export interface ReportPolicy {
  readonly deadband?: number | string | undefined;
  readonly max_silence?: number | undefined;
}

/** Why a point's deadband cannot be: it is not a number; undefined when it is fine. */
export function deadbandProblem(policy: ReportPolicy, valueType: string, numeric: boolean): string | undefined {
  if (policy.deadband === undefined || numeric) return undefined;
  return `deadband applies to numbers only (this is ${valueType}); a change of ${valueType} always reports: use max_silence alone for a heartbeat`;
}

/** `percent` as written (15 for '15%'): 0.15 is not exact, and taken as a factor its rounding moved the band. */
type Band = { readonly absolute: number } | { readonly percent: number };

/** One point's memory of its last reported sample. */
export class ReportGate {
  private reported = false;
  private lastValue: ReadingValue = 0;
  private lastQuality: Quality = 'good';
  private lastAt = 0;

  private constructor(
    /** Undefined: every change reports (max_silence alone). */
    private readonly band: Band | undefined,
    private readonly maxSilenceMs: number | undefined,
  ) {}

  /** The gate of a point, or undefined when it reports every sample (neither key given). */
  static of(policy: ReportPolicy): ReportGate | undefined {
    if (policy.deadband === undefined && policy.max_silence === undefined) return undefined;
    return new ReportGate(bandOf(policy.deadband), policy.max_silence);
  }

  /**
   * Whether to report this sample; a reported one becomes the reference for the next. `now` is on the monotonic clock
   * (performance.now()), so a wall clock set back cannot hold a heartbeat back.
   */
  admit(value: ReadingValue, quality: Quality, now: number): boolean {
    const report =
      !this.reported || quality !== this.lastQuality || (this.maxSilenceMs !== undefined && now - this.lastAt >= this.maxSilenceMs) || moved(this.lastValue, value, this.band);
    if (report) {
      this.reported = true;
      this.lastValue = value;
      this.lastQuality = quality;
      this.lastAt = now;
    }
    return report;
  }

  /** The point was unreadable or its device offline: the next sample reports, whatever it is. */
  forget(): void {
    this.reported = false;
  }
}

function bandOf(deadband: number | string | undefined): Band | undefined {
  if (deadband === undefined) return undefined;
  if (typeof deadband === 'number') return { absolute: deadband };
  // The schema let only a percentage through.
  return { percent: Number(PERCENT.exec(deadband)?.[1] ?? 0) };
}

/** Whether `value` is outside the band around `last`; without a band, whether it changed at all. */
function moved(last: ReadingValue, value: ReadingValue, band: Band | undefined): boolean {
  if (typeof value === 'number' && typeof last === 'number') {
    if (band === undefined) return !Object.is(value, last);
    // NaN on both sides is no change (the quality says bad already); NaN against a number is.
    if (Number.isNaN(value) || Number.isNaN(last)) return Number.isNaN(value) !== Number.isNaN(last);
    return Math.abs(value - last) > ('absolute' in band ? band.absolute : (Math.abs(last) * band.percent) / 100);
  }
  if (typeof value === 'bigint' && typeof last === 'bigint') {
    if (band === undefined) return value !== last;
    const step = value > last ? value - last : last - value;
    // A bigint compares exactly with a number; a percentage of a 64-bit value needs no more than a double's precision.
    return 'absolute' in band ? step > band.absolute : Number(step) > (Math.abs(Number(last)) * band.percent) / 100;
  }
  return value !== last;
}
