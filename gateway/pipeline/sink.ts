import type { Reading } from '../model.js';

/** A consumer of readings (MQTT publisher, rule engine, durable buffer, bridge...). */
export interface Sink {
  readonly name: string;
  /** A sink whose write means the readings survive a restart (the store-and-forward buffer): ingest acknowledges after it. */
  readonly durable?: boolean;
  /**
   * A sink that sees readings first, as they arrive (the alert rules): before any other sink works on them and before
   * the durable sinks hold them, so staff hear of a reading at once, without waiting for republishing or the disk, and
   * even of one a full disk refused. A refused reading the sender
   * sends again reaches it again; it must take a repeat as the same observation (a rule does: a threshold already
   * tripped stays tripped, a rate ignores a sample no newer than its last).
   */
  readonly judgesFirst?: boolean;
  /**
   * Takes one batch. A returned promise holds back this sink's next batch until it settles, so a slow sink
   * queues (and eventually drops) only its own readings. Readings are shared with other sinks: never mutate them.
   */
  write(readings: readonly Reading[]): void | Promise<void>;
  /** Delivers what the sink still holds; called once on shutdown after the last write. */
  close?(): Promise<void>;
}
