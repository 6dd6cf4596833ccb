import { describe, expect, it } from 'vitest';
import type { Reading } from '../../gateway/model.js';
import { approxBytes, Pipeline } from '../../gateway/pipeline/pipeline.js';
import type { Sink } from '../../gateway/pipeline/sink.js';
import { silentLogger, createLogger } from '../../gateway/util/log.js';

function reading(n: number): Reading {
  return { device: 'd1', domain: 'water', metric: 'level', value: n, ts: n, quality: 'good' };
}

/** A pipeline whose sinks may each queue `readings` numeric readings. */
function pipelineFor(readings: number, log = silentLogger): Pipeline {
  return new Pipeline({ maxQueueBytes: readings * approxBytes(reading(0)) }, log);
}

const nextTick = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));

/** Releases the sink's writes, tick after tick, until `until` settles. */
async function drive(sink: StalledSink, until: Promise<void>): Promise<void> {
  let done = false;
  const settled = until.then(() => (done = true));
  while (!done) {
    sink.releaseAll();
    await nextTick();
  }
  await settled;
}

function batch(from: number, count: number): Reading[] {
  return Array.from({ length: count }, (_, i) => reading(from + i));
}

/** A sink that holds every batch until released, like an uplink that stalls. */
class StalledSink implements Sink {
  readonly name: string = 'stalled';
  readonly received: number[] = [];
  private releases: (() => void)[] = [];
  write(readings: readonly Reading[]): Promise<void> {
    for (const r of readings) this.received.push(r.value as number);
    return new Promise((resolve) => this.releases.push(resolve));
  }
  releaseAll(): void {
    const pending = this.releases;
    this.releases = [];
    for (const release of pending) release();
  }
}

class CollectingSink implements Sink {
  readonly name = 'collect';
  readonly received: number[] = [];
  write(readings: readonly Reading[]): void {
    for (const r of readings) this.received.push(r.value as number);
  }
}

describe('Pipeline', () => {
  it('hands the readings of one tick to each sink in one write, in order', async () => {
    const pipeline = pipelineFor(100);
    const writes: number[] = [];
    const sink = new CollectingSink();
    pipeline.attach({ name: 'counting', write: (readings) => void writes.push(readings.length) });
    pipeline.attach(sink);
    for (let i = 0; i < 10; i++) pipeline.publish(batch(i * 3, 3));
    expect(sink.received).toEqual([]);
    await nextTick();
    expect(writes).toEqual([30]);
    expect(sink.received).toEqual(Array.from({ length: 30 }, (_, i) => i));
  });

  it('holds producers back while a sink is behind, and lets them go once it caught up; nothing is dropped', async () => {
    const pipeline = pipelineFor(40);
    const slow = new StalledSink();
    const fast = new CollectingSink();
    pipeline.attach(slow);
    pipeline.attach(fast);
    pipeline.publish(batch(0, 5));
    expect(pipeline.caughtUp()).toBeUndefined();
    await nextTick(); // the slow sink takes the first batch and stalls on it
    let behind: Promise<void> | undefined;
    let sent = 5;
    while (!behind) {
      pipeline.publish(batch(sent, 5));
      behind = pipeline.caughtUp();
      sent += 5;
      await nextTick();
    }
    // Held back by the publish that leaves more than half the queue (20 readings) waiting.
    expect(sent).toBe(30);
    expect(pipeline.stats()).toMatchObject({ backpressure: true, backpressureEpisodes: 1 });
    let released = false;
    void behind.then(() => (released = true));
    slow.releaseAll(); // the first batch is in; the 25 queued go in one write
    await drive(slow, behind);
    expect(released).toBe(true);
    await drive(slow, pipeline.close());
    expect(slow.received).toEqual(Array.from({ length: 30 }, (_, i) => i));
    expect(fast.received).toHaveLength(30);
    expect(pipeline.stats().sinks.every((sink) => sink.dropped === 0)).toBe(true);
  });

  it('drops only the slow sink\'s oldest readings when producers push past its limit regardless', async () => {
    const lines: string[] = [];
    const pipeline = pipelineFor(10, createLogger({ sink: { write: (l) => lines.push(l) } }));
    const slow = new StalledSink();
    const fast = new CollectingSink();
    pipeline.attach(slow);
    pipeline.attach(fast);
    pipeline.publish(batch(0, 5));
    await nextTick();
    for (let i = 1; i < 10; i++) {
      pipeline.publish(batch(i * 5, 5));
      await nextTick();
    }
    expect(fast.received).toHaveLength(50);
    // The slow sink got the first batch, then its queue holds only the newest 10.
    const stats = pipeline.stats().sinks.find((s) => s.sink === 'stalled')!;
    expect(stats).toMatchObject({ queued: 10, queuedBytes: 10 * approxBytes(reading(0)), dropped: 35 });
    expect(lines.some((l) => l.includes('dropped oldest readings') && l.includes('sink=stalled'))).toBe(true);
    // Releasing it delivers what is left, oldest first.
    await drive(slow, pipeline.close());
    expect(slow.received).toEqual([0, 1, 2, 3, 4, ...Array.from({ length: 10 }, (_, i) => 40 + i)]);
  });

  it('trims a single batch larger than the queue to its newest readings', async () => {
    const pipeline = pipelineFor(4);
    const slow = new StalledSink();
    pipeline.attach(slow);
    pipeline.publish(batch(0, 1));
    await nextTick();
    pipeline.publish(batch(1, 10));
    await nextTick();
    expect(pipeline.stats().sinks[0]).toMatchObject({ queued: 4, dropped: 6 });
  });

  it('a throwing sink is counted and logged, and neither the caller nor other sinks see the error', async () => {
    const lines: string[] = [];
    const pipeline = pipelineFor(100, createLogger({ sink: { write: (l) => lines.push(l) } }));
    const good = new CollectingSink();
    pipeline.attach({ name: 'broken', write: () => { throw new Error('disk on fire'); } });
    pipeline.attach({ name: 'rejecting', write: () => Promise.reject(new Error('uplink down')) });
    pipeline.attach(good);
    expect(() => pipeline.publish(batch(0, 2))).not.toThrow();
    await nextTick();
    pipeline.publish(batch(2, 2));
    await pipeline.close();
    expect(good.received).toEqual([0, 1, 2, 3]);
    const stats = pipeline.stats();
    expect(stats.accepted).toBe(4);
    expect(stats.sinks.find((s) => s.sink === 'broken')).toMatchObject({ failed: 4 });
    expect(stats.sinks.find((s) => s.sink === 'rejecting')).toMatchObject({ failed: 4 });
    // Said once within the log interval, not once per batch: a lasting failure must not flood the log.
    expect(lines.filter((l) => l.includes('disk on fire'))).toEqual([expect.stringContaining('readings=2 total_failed=2')]);
  });

  it('close() waits for queued batches and then closes each sink', async () => {
    const pipeline = pipelineFor(100);
    const order: string[] = [];
    let release: () => void = () => undefined;
    pipeline.attach({
      name: 'slow',
      write: (r) => {
        order.push(`write ${r.length}`);
        return new Promise<void>((resolve) => (release = resolve));
      },
      close: async () => {
        order.push('close');
      },
    });
    pipeline.publish(batch(0, 1));
    await nextTick();
    pipeline.publish(batch(1, 2));
    let closed = false;
    const closing = pipeline.close().then(() => (closed = true));
    while (!closed) {
      expect(order).not.toContain('close');
      release();
      await nextTick();
    }
    await closing;
    expect(order).toEqual(['write 1', 'write 2', 'close']);
  });
});

/** A durable sink (the store-and-forward buffer) whose writes settle when the test says. */
class DurableSink extends StalledSink {
  override readonly name = 'durable';
  readonly durable = true;
}

describe('Pipeline.publishDurably', () => {
  const settled = async (promise: Promise<void>): Promise<string> => {
    const state = await Promise.race([promise.then(() => 'resolved', () => 'rejected'), new Promise<string>((resolve) => setImmediate(() => resolve('pending')))]);
    return state;
  };

  it('resolves only once the durable sink holds the readings, whatever the other sinks do', async () => {
    const pipeline = pipelineFor(100);
    const durable = new DurableSink();
    const slow = new StalledSink();
    pipeline.attach(slow);
    pipeline.attach(durable);
    const stored = pipeline.publishDurably(batch(0, 3));
    expect(await settled(stored)).toBe('pending');
    await nextTick();
    durable.releaseAll();
    expect(await settled(stored)).toBe('resolved');
    expect(slow.received).toEqual([0, 1, 2]); // still stalled: it does not count
  });

  it('waits for a batch that queued behind others', async () => {
    const pipeline = pipelineFor(100);
    const durable = new DurableSink();
    pipeline.attach(durable);
    pipeline.publish(batch(0, 2));
    await nextTick();
    const stored = pipeline.publishDurably(batch(2, 2));
    await nextTick();
    durable.releaseAll(); // the first batch
    expect(await settled(stored)).toBe('pending');
    while (durable.received.length < 4) await nextTick();
    durable.releaseAll(); // the second
    expect(await settled(stored)).toBe('resolved');
  });

  it('rejects when the durable sink dropped or failed the readings, so they are not acknowledged', async () => {
    const pipeline = pipelineFor(3);
    const durable = new DurableSink();
    pipeline.attach(durable);
    pipeline.publish(batch(0, 1)); // busy from now on
    await nextTick();
    const dropped = pipeline.publishDurably(batch(1, 2));
    await nextTick();
    pipeline.publish(batch(3, 2)); // over capacity: the oldest queued readings go
    await expect(dropped).rejects.toThrow(/dropped/);

    const failing = pipelineFor(100);
    failing.attach({ name: 'broken-disk', durable: true, write: () => Promise.reject(new Error('ENOSPC')) });
    await expect(failing.publishDurably(batch(0, 1))).rejects.toThrow(/ENOSPC/);
  });

  it('hands the readings to the other sinks only once they are stored, and never when refused (no republish of a redelivery)', async () => {
    const pipeline = pipelineFor(100);
    const others = new CollectingSink();
    const durable = new DurableSink();
    pipeline.attach(others);
    pipeline.attach(durable);
    const stored = pipeline.publishDurably(batch(0, 2));
    await nextTick();
    expect(others.received).toEqual([]);
    durable.releaseAll();
    await stored;
    expect(others.received).toEqual([0, 1]);

    const full = pipelineFor(100);
    const refused = new CollectingSink();
    full.attach(refused);
    full.attach({ name: 'full-disk', durable: true, write: () => { throw new Error('cannot be stored: no space left'); } });
    for (let attempt = 0; attempt < 3; attempt++) await expect(full.publishDurably(batch(0, 2))).rejects.toThrow(/no space/);
    expect(refused.received).toEqual([]);
    expect(full.stats().accepted).toBe(0);
  });

  it('hands the readings to a sink that judges first (the alert rules) before they are stored, and even when refused', async () => {
    const pipeline = pipelineFor(100);
    const rules = Object.assign(new CollectingSink(), { judgesFirst: true });
    const others = new CollectingSink();
    const durable = new DurableSink();
    pipeline.attach(rules);
    pipeline.attach(others);
    pipeline.attach(durable);
    const stored = pipeline.publishDurably(batch(0, 2));
    await nextTick();
    expect(rules.received).toEqual([0, 1]);
    expect(others.received).toEqual([]);
    durable.releaseAll();
    await stored;
    expect(rules.received).toEqual([0, 1]);
    expect(others.received).toEqual([0, 1]);

    const full = pipelineFor(100);
    const judged = Object.assign(new CollectingSink(), { judgesFirst: true });
    full.attach(judged);
    full.attach({ name: 'full-disk', durable: true, write: () => { throw new Error('cannot be stored: no space left'); } });
    await expect(full.publishDurably(batch(7, 1))).rejects.toThrow(/no space/);
    expect(judged.received).toEqual([7]);
  });

  it('hands readings to the rules as they are published, before any other sink, however late the rules were attached', async () => {
    const pipeline = pipelineFor(100);
    const order: string[] = [];
    const sink = (name: string, judgesFirst = false): Sink => ({ name, judgesFirst, write: () => void order.push(name) });
    pipeline.attach(sink('mqtt'));
    pipeline.attach(sink('influx'));
    pipeline.attach(sink('rules', true));
    pipeline.publish(batch(0, 3));
    // Judged within publish() itself: an alarm waits for nothing else the turn does.
    expect(order).toEqual(['rules']);
    await nextTick();
    expect(order).toEqual(['rules', 'mqtt', 'influx']);

    order.length = 0;
    const durable = new DurableSink();
    pipeline.attach(durable);
    const stored = pipeline.publishDurably(batch(3, 2));
    expect(order).toEqual(['rules']);
    await nextTick();
    durable.releaseAll();
    await stored;
    expect(order).toEqual(['rules', 'mqtt', 'influx']);
  });

  it('resolves at once without a durable sink', async () => {
    const pipeline = pipelineFor(100);
    pipeline.attach(new StalledSink());
    expect(await settled(pipeline.publishDurably(batch(0, 1)))).toBe('resolved');
  });
});
