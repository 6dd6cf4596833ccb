import { z } from 'zod';

/** Names that become MQTT topic levels and Influx tags: no '/', '+', '#', spaces or control characters. */
export const topicLevel = z
  .string()
  .regex(/^[A-Za-z0-9_.-]+$/, 'must be letters, digits, "_", "-" or "." (it becomes an MQTT topic level)');

/** A device's own tags, added to each of its readings (Influx tags). */
export const tags = z.record(z.string().regex(/^[A-Za-z0-9_.-]+$/, 'tag names are letters, digits, "_", "-" or "."'), z.string());
