import type { Reading } from '../model.js';

/** A consumer of readings (MQTT publisher, rule engine, durable buffer, bridge...). */
export interface Sink {
  readonly name: string;
  /** A sink whose write means the readings survive a restart (the store-and-forward buffer): ingest acknowledges after it. */
  readonly durable?: boolean;
  /**
   * Takes one batch. A returned promise holds back this sink's next batch until it settles, so a slow sink
   * queues (and eventually drops) only its own readings. Readings are shared with other sinks: never mutate them.
   */
  write(readings: readonly Reading[]): void | Promise<void>;
  /** Delivers what the sink still holds; called once on shutdown after the last write. */
  close?(): Promise<void>;
}
