import { readingPayload, readingUnitField } from '../contract/payloads.js';
import type { Topics } from '../contract/topics.js';
import type { Reading } from '../model.js';
import type { Sink } from '../pipeline/sink.js';
import type { Broker, OutgoingMessage } from './broker.js';

/** A reading as published: its contract topic and JSON payload. */
export type ReadingMessage = OutgoingMessage & { readonly payload: string };

/**
 * Sees every reading as it is published on MQTT, encoded once, whether or not any client subscribes (the upstream
 * bridge). A returned promise holds back the publisher's next batch: the tap's backpressure reaches the pipeline.
 */
export type ReadingTap = (messages: readonly ReadingMessage[]) => void | Promise<void>;

export interface ReadingTaps {
  /** Adds a tap; returns a function that removes it. */
  tap(listener: ReadingTap): () => void;
}

interface SeriesEncoding {
  readonly topic: string;
  /** See readingUnitField. */
  readonly unitField: string;
  readonly unit: string | undefined;
}

/**
 * Publishes each reading on its contract topic, `{prefix}/{site}/{domain}/{device}/{metric}`, with the payload
 * `{"value":..,"unit":..,"ts":..,"quality":..}`, except those report-by-exception marked `report: false`. Each reading is encoded once for the broker and every tap; topic
 * strings are built once per series and reused.
 */
export class ReadingPublisher implements Sink, ReadingTaps {
  readonly name = 'mqtt';
  private readonly series = new Map<string, Map<string, SeriesEncoding>>();
  private readonly taps = new Set<ReadingTap>();

  constructor(
    private readonly broker: Pick<Broker, 'publishMany'>,
    private readonly topics: Topics,
  ) {}

  tap(listener: ReadingTap): () => void {
    this.taps.add(listener);
    return () => this.taps.delete(listener);
  }

  write(readings: readonly Reading[]): void | Promise<void> {
    const messages: ReadingMessage[] = new Array<ReadingMessage>(readings.length);
    let count = 0;
    for (let i = 0; i < readings.length; i++) {
      const reading = readings[i]!;
      // Report-by-exception: a reading with nothing new is for the rules, not for MQTT or the bridge.
      if (reading.report === false) continue;
      const encoding = this.encodingOf(reading);
      messages[count++] = { topic: encoding.topic, payload: readingPayload(reading, encoding.unitField) };
    }
    if (count === 0) return;
    messages.length = count;
    const settled: Promise<void>[] = [this.broker.publishMany(messages)];
    for (const tap of this.taps) {
      const taken = tap(messages);
      if (taken) settled.push(taken);
    }
    return settled.length === 1 ? settled[0]! : Promise.all(settled).then(() => undefined);
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
