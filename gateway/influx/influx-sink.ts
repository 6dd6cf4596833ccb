import { join } from 'node:path';
import { queueOptions } from '../buffer/config.js';
import { SegmentQueue } from '../buffer/segment-queue.js';
import type { InfluxConfig } from '../config/schema.js';
import type { Reading } from '../model.js';
import type { Sink } from '../pipeline/sink.js';
import type { Logger } from '../util/log.js';
import { DeadLetterFile } from './dead-letter.js';
import { InfluxForwarder, type InfluxHealth } from './forwarder.js';
import { LineEncoder } from './line-protocol.js';
import { InfluxWriter } from './writer.js';

export interface InfluxSinkHealth extends InfluxHealth {
  /** Readings line protocol cannot carry (NaN, ±Infinity), not written. */
  readonly unrepresentable: number;
}

/**
 * The pipeline's InfluxDB consumer: each reading is encoded once to line protocol and appended to the durable
 * buffer, which is when it counts as accepted; the forwarder drains the buffer into InfluxDB on its own schedule.
 * So an outage or a power cut costs nothing, and a slow InfluxDB never holds up the pipeline.
 */
export class InfluxSink implements Sink {
  readonly name = 'influx';
  readonly durable = true;

  private constructor(
    private readonly encoder: LineEncoder,
    private readonly queue: SegmentQueue,
    private readonly forwarder: InfluxForwarder,
  ) {}

  /** Opens the buffer under `dataDir/influx` (replaying what an earlier run left) and starts forwarding. */
  static start(config: InfluxConfig, site: string, dataDir: string, log: Logger): InfluxSink {
    const dir = join(dataDir, 'influx');
    const queue = SegmentQueue.open(join(dir, 'buffer'), queueOptions(config.buffer), log);
    const writer = new InfluxWriter(config);
    const forwarder = new InfluxForwarder(
      queue,
      writer,
      new DeadLetterFile(join(dir, 'dead-letter.jsonl')),
      { batchSize: config.batch_size, flushIntervalMs: config.flush_interval, retryInitialMs: config.retry_initial, retryMaxMs: config.retry_max, createDatabase: config.create_database },
      log,
    );
    forwarder.start();
    log.info('forwarding readings to InfluxDB through a durable buffer', { target: writer.target, api: config.api, buffer: queue.dir, max_bytes: config.buffer.max_size, fsync: config.buffer.fsync });
    return new InfluxSink(new LineEncoder(site), queue, forwarder);
  }

  write(readings: readonly Reading[]): void | Promise<void> {
    const lines: string[] = [];
    for (const reading of readings) {
      const line = this.encoder.encode(reading);
      if (line !== undefined) lines.push(line);
    }
    return this.queue.append(lines);
  }

  health(): InfluxSinkHealth {
    return { ...this.forwarder.health(), unrepresentable: this.encoder.unrepresentable };
  }

  async close(): Promise<void> {
    await this.forwarder.stop();
    await this.queue.close();
  }
}
