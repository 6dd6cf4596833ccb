import { z } from 'zod';
import { duration } from '../config/duration.js';
import { seriesName, tags } from '../config/names.js';

/**
 * A field device that publishes its readings to the gateway over MQTT (`{prefix}/{site}/ingest/{domain}/{device}`).
 * Declaring it is optional (any device a login may speak for can publish); a declaration adds its tags to every
 * reading, pins its domain, and lets silence take it offline.
 */
export const mqttDeviceSchema = z.strictObject({
  driver: z.literal('mqtt'),
  name: seriesName,
  /** When given, publishes under any other domain are refused. */
  domain: seriesName.optional(),
  tags: tags.default({}),
  /** No reading for this long → offline, even while its connection stays up. */
  stale_after: duration({ min: 1000 }).optional(),
});
export type MqttDeviceConfig = z.output<typeof mqttDeviceSchema>;
