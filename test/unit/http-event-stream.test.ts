/**
 * The live event stream's backpressure with a response that stops taking writes (a phone on a slow link): it keeps
 * the latest reading per series only, sends them once the socket drains, and cuts off a client whose named events
 * pile up. A fake response stands in for the socket; the integration test streams from a real gateway.
 */
import { EventEmitter } from 'node:events';
import type { ServerResponse } from 'node:http';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { EventStream } from '../../gateway/http/event-stream.js';
import type { Reading } from '../../gateway/model.js';
import { silentLogger } from '../../gateway/util/log.js';

class SlowResponse extends EventEmitter {
  writableNeedDrain = false;
  destroyed = false;
  readonly written: string[] = [];
  writeHead(): this {
    return this;
  }
  write(chunk: string): boolean {
    this.written.push(chunk);
    return true;
  }
  end(): void {}
  destroy(): void {
    this.destroyed = true;
  }
}

const reading = (metric: string, value: number): Reading => ({ device: 'feeder-1', domain: 'energy', metric, value, ts: value, quality: 'good' });

describe('live event stream', () => {
  afterEach(() => {
    vi.useRealTimers();
  });

  it('coalesces per series while the socket is not writable, then sends the latest values in one batch', () => {
    vi.useFakeTimers();
    const stream = new EventStream({ maxRate: 4, maxClients: 5 }, silentLogger);
    const res = new SlowResponse();
    expect(stream.open(res as unknown as ServerResponse, 'vera')).toBe(true);
    res.writableNeedDrain = true;
    for (let i = 1; i <= 1000; i++) stream.reading(reading(i % 2 ? 'voltage' : 'current', i), i % 2 ? 'v' : 'c');
    vi.advanceTimersByTime(2000);
    expect(res.written).toEqual(['retry: 3000\n\n']);
    expect(stream.stats().coalesced).toBe(998);
    res.writableNeedDrain = false;
    vi.advanceTimersByTime(250);
    expect(res.written).toHaveLength(2);
    const batch = JSON.parse(res.written[1]!.split('data: ')[1]!) as { metric: string; value: number }[];
    expect(batch).toEqual([expect.objectContaining({ metric: 'voltage', value: 999 }), expect.objectContaining({ metric: 'current', value: 1000 })]);
    stream.close();
  });

  it('cuts off a client whose named events pile up, and refuses clients beyond the limit', () => {
    vi.useFakeTimers();
    const stream = new EventStream({ maxRate: 4, maxClients: 1 }, silentLogger);
    const res = new SlowResponse();
    stream.open(res as unknown as ServerResponse, 'vera');
    expect(stream.open(new SlowResponse() as unknown as ServerResponse, 'sam')).toBe(false);
    res.writableNeedDrain = true;
    for (let i = 0; i <= 1000; i++) stream.send('status', { device: 'feeder-1', state: i % 2 ? 'online' : 'offline' });
    expect(res.destroyed).toBe(true);
    expect(stream.stats()).toMatchObject({ clients: 0, refused: 1, slowDisconnects: 1 });
    stream.close();
  });
});
