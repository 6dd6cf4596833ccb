import { z } from 'zod';
import { isReservedLevel, levelName, reservedProblem } from '../contract/names.js';

/** Names that become MQTT topic levels and Influx tags: no '/', '+', '#', spaces or control characters. */
export const topicLevel = z.string().regex(levelName, 'must be letters, digits, "_", "-" or "." (it becomes an MQTT topic level)');

/** A domain, device or metric name: a topic level that is none of the contract's reserved first levels. */
export const seriesName = topicLevel.superRefine((name, ctx) => {
  if (isReservedLevel(name)) ctx.addIssue({ code: 'custom', message: reservedProblem(name) });
});

/** A point without `metric` publishes under its name, which must then be a metric name too (seriesName). */
export function checkPointMetric(point: { readonly name: string; readonly metric?: string | undefined }, ctx: z.RefinementCtx): void {
  if (point.metric === undefined && isReservedLevel(point.name)) {
    ctx.addIssue({ code: 'custom', path: ['name'], message: reservedProblem(point.name, 'give the point a metric (its name is its metric unless metric says otherwise)') });
  }
}

/**
 * A device's own tags, added to each of its readings (Influx tags). InfluxDB 1.x cannot store a backslash before a
 * separator or at the end of a tag (it refuses the line), nor a control character: such values are refused here,
 * where the operator can fix them, rather than dead-lettered later.
 */
export const tags = z.record(
  z.string().regex(/^[A-Za-z0-9_.-]+$/, 'tag names are letters, digits, "_", "-" or "."'),
  z.string().regex(/^[^\\\p{Cc}]*$/u, 'tag values cannot hold a backslash or a control character (InfluxDB cannot store them as written)'),
);
