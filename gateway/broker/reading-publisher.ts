import { readingPayload, readingUnitField } from '../contract/payloads.js';
import type { Topics } from '../contract/topics.js';
import type { Reading } from '../model.js';
import type { Sink } from '../pipeline/sink.js';
import type { Broker } from './broker.js';

interface SeriesEncoding {
  readonly topic: string;
  /** See readingUnitField. */
  readonly unitField: string;
  readonly unit: string | undefined;
}

/**
 * Publishes each reading on its contract topic, `{prefix}/{site}/{domain}/{device}/{metric}`, with the payload
 * `{"value":..,"unit":..,"ts":..,"quality":..}`. Topic strings are built once per series and reused.
 */
export class ReadingPublisher implements Sink {
  readonly name = 'mqtt';
  private readonly series = new Map<string, Map<string, SeriesEncoding>>();

  constructor(
    private readonly broker: Broker,
    private readonly topics: Topics,
  ) {}

  write(readings: readonly Reading[]): Promise<void> {
    let last: Promise<void> = Promise.resolve();
    for (const reading of readings) {
      const encoding = this.encodingOf(reading);
      last = this.broker.publish(encoding.topic, readingPayload(reading, encoding.unitField), 0, false);
    }
    // aedes delivers in order, so the last publish settling means the whole batch was handed to subscribers.
    return last;
  }

  private encodingOf(reading: Reading): SeriesEncoding {
    let byMetric = this.series.get(reading.device);
    if (!byMetric) this.series.set(reading.device, (byMetric = new Map()));
    const key = reading.domain + '/' + reading.metric;
    let encoding = byMetric.get(key);
    if (!encoding || encoding.unit !== reading.unit) {
      encoding = {
        topic: this.topics.reading(reading.domain, reading.device, reading.metric),
        unitField: readingUnitField(reading.unit),
        unit: reading.unit,
      };
      byMetric.set(key, encoding);
    }
    return encoding;
  }
}
