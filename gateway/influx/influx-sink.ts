import { join } from 'node:path';
import { queueOptions } from '../buffer/config.js';
import { NoSpaceError } from '../buffer/no-space.js';
import { SegmentQueue } from '../buffer/segment-queue.js';
import type { InfluxConfig } from './config.js';
import type { Reading } from '../model.js';
import type { Sink } from '../pipeline/sink.js';
import type { Logger } from '../util/log.js';
import { LogLimiter } from '../util/log-limiter.js';
import { DeadLetterFile } from './dead-letter.js';
import { InfluxForwarder, type InfluxHealth } from './forwarder.js';
import { LineEncoder } from './line-protocol.js';
import { InfluxWriter } from './writer.js';

const REFUSAL_LOG_INTERVAL_MS = 60_000;

export interface InfluxSinkHealth extends InfluxHealth {
  /** Readings line protocol cannot carry (NaN, ±Infinity), not written. */
  readonly unrepresentable: number;
  /** uint64 readings above 9223372036854775807, which no InfluxDB integer field holds, not written. */
  readonly beyondInt64: number;
  /**
   * Readings the buffer could not take at all: the data disk was full with nothing of the buffer's own left to drop.
   * A QoS 1 sender was not acknowledged (it sends again); polled and QoS 0 readings were lost.
   */
  readonly notStored: number;
}

/**
 * The pipeline's InfluxDB consumer: each reading is encoded once to line protocol and appended to the durable
 * buffer, which is when it counts as accepted; the forwarder drains the buffer into InfluxDB on its own schedule.
 * So an outage or a power cut costs nothing, and a slow InfluxDB never holds up the pipeline.
 */
export class InfluxSink implements Sink {
  readonly name = 'influx';
  readonly durable = true;
  private notStored = 0;
  private readonly refusals: LogLimiter;

  private constructor(
    private readonly encoder: LineEncoder,
    private readonly queue: SegmentQueue,
    private readonly forwarder: InfluxForwarder,
    log: Logger,
  ) {
    this.refusals = new LogLimiter(log, REFUSAL_LOG_INTERVAL_MS);
  }

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
    return new InfluxSink(new LineEncoder(site), queue, forwarder, log);
  }

  write(readings: readonly Reading[]): void | Promise<void> {
    const lines: string[] = [];
    for (const reading of readings) {
      // Report-by-exception: a reading with nothing new is for the rules, not for storage.
      if (reading.report === false) continue;
      const line = this.encoder.encode(reading);
      if (line !== undefined) lines.push(line);
      else if (typeof reading.value === 'bigint') this.refuseBeyondInt64(reading);
    }
    try {
      return this.queue.append(lines);
    } catch (error) {
      if (error instanceof NoSpaceError) this.notStored += lines.length;
      throw error;
    }
  }

  private refuseBeyondInt64(reading: Reading): void {
    const series = `${reading.device}/${reading.metric}`;
    this.refusals.warn(series, 'value above the int64 range not written: no InfluxDB integer field holds it (counted in beyondInt64)', { device: reading.device, metric: reading.metric, value: reading.value });
  }

  health(): InfluxSinkHealth {
    return { ...this.forwarder.health(), unrepresentable: this.encoder.unrepresentable, beyondInt64: this.encoder.beyondInt64, notStored: this.notStored };
  }

  async close(): Promise<void> {
    await this.forwarder.stop();
    await this.queue.close();
  }
}
