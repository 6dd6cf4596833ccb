import { afterEach, describe, expect, it, vi } from 'vitest';
import type { ClientInfo } from '../../gateway/broker/broker.js';
import { MqttIngest, type IngestContext } from '../../gateway/ingest/mqtt-ingest.js';
import type { DeviceStatus, Reading } from '../../gateway/model.js';
import { StatusBoard } from '../../gateway/status-board.js';
import { Topics } from '../../gateway/contract/topics.js';
import { silentLogger } from '../../gateway/util/log.js';

const limits = { maxMetrics: 16, maxStringLength: 64, maxFutureMs: 60_000, maxAgeMs: 86_400_000 };
const client = (id: string): ClientInfo => ({ id, identity: { user: id, role: 'device', devices: ['*'] } });

function setup(overrides: Partial<IngestContext> = {}) {
  const published: { readings: Reading[]; durably: boolean }[] = [];
  const told: { clientId: string; reasons: readonly string[] }[] = [];
  const statuses = new StatusBoard(silentLogger);
  const changes: DeviceStatus[] = [];
  statuses.onChange((status) => changes.push(status));
  const ingest = new MqttIngest({
    topics: new Topics('city', 'lab'),
    limits,
    declared: [{ driver: 'mqtt', name: 'gauge-1', domain: 'water', tags: { river: 'east' }, stale_after: 5000 }],
    polled: new Set(['pump-station-3']),
    publish: (readings, durably) => void published.push({ readings, durably }),
    statuses,
    tell: (clientId, _topic, reasons) => void told.push({ clientId, reasons }),
    log: silentLogger,
    ...overrides,
  });
  return { ingest, published, told, changes };
}

describe('MqttIngest', () => {
  afterEach(() => vi.useRealTimers());

  it('adds a declared device\'s tags and asks for durability at QoS 1 only', async () => {
    const { ingest, published } = setup();
    await ingest.onPublish(client('c1'), 'city/lab/ingest/water/gauge-1', Buffer.from('{"level": 1.5}'), 1);
    await ingest.onPublish(client('c1'), 'city/lab/ingest/water/gauge-1', Buffer.from('{"level": 1.6}'), 0);
    expect(published.map((p) => p.durably)).toEqual([true, false]);
    expect(published[0]!.readings[0]).toMatchObject({ device: 'gauge-1', domain: 'water', metric: 'level', value: 1.5, tags: { river: 'east' } });
  });

  it('ignores topics outside ingest and refuses names the gateway polls, bad levels and a wrong domain', async () => {
    const { ingest, published, told } = setup();
    await ingest.onPublish(client('c1'), 'city/lab/command/x/y', Buffer.from('{}'), 1);
    expect(told).toEqual([]);
    await ingest.onPublish(client('c1'), 'city/lab/ingest/water/pump-station-3', Buffer.from('{"flow": 1}'), 1);
    await ingest.onPublish(client('c1'), 'city/lab/ingest/water', Buffer.from('{"flow": 1}'), 1);
    await ingest.onPublish(client('c1'), 'city/lab/ingest/traffic/gauge-1', Buffer.from('{"flow": 1}'), 1);
    expect(published).toEqual([]);
    expect(told.map((t) => t.reasons[0])).toEqual([
      expect.stringMatching(/polls itself/),
      expect.stringMatching(/ingest topics are city\/lab\/ingest\/\{domain\}\/\{device\}/),
      expect.stringMatching(/declared in domain "water"/),
    ]);
    expect(ingest.stats()).toMatchObject({ payloadsRejected: 3, readings: 0 });
  });

  it('marks a payload refused as a whole, so the broker relays it to nobody; a partly good one is not', () => {
    const { ingest } = setup();
    const on = (payload: string) => ingest.onPublish(client('c1'), 'city/lab/ingest/water/gauge-1', Buffer.from(payload), 0);
    expect(on('{"level": 1.5')).toBe('refused');
    expect(on('{"level": null}')).toBe('refused');
    expect(ingest.onPublish(client('c1'), 'city/lab/ingest/water/pump-station-3', Buffer.from('{"flow": 1}'), 0)).toBe('refused');
    expect(on('{"level": 1.5, "flow": null}')).toBeUndefined();
    expect(ingest.onPublish(client('c1'), 'city/lab/command/x/y', Buffer.from('{}'), 0)).toBeUndefined();
  });

  it('stamps the online status with the wall clock (epoch ms), as the contract says', async () => {
    const { ingest, changes } = setup();
    const before = Date.now();
    await ingest.onPublish(client('c1'), 'city/lab/ingest/water/lora-1', Buffer.from('{"x": 1}'), 0);
    expect(changes[0]).toMatchObject({ device: 'lora-1', state: 'online' });
    expect(changes[0]!.ts).toBeGreaterThanOrEqual(before);
    expect(changes[0]!.ts).toBeLessThanOrEqual(Date.now());
  });

  it('keeps a device online while any of its connections lives', async () => {
    const { ingest, changes } = setup();
    const [a, b] = [client('a'), client('b')];
    await ingest.onPublish(a, 'city/lab/ingest/water/lora-1', Buffer.from('{"x": 1}'), 0);
    await ingest.onPublish(b, 'city/lab/ingest/water/lora-1', Buffer.from('{"x": 2}'), 0);
    ingest.onClientGone(a, false);
    expect(changes.map((c) => c.state)).toEqual(['online']);
    ingest.onClientGone(b, false);
    expect(changes.at(-1)).toMatchObject({ device: 'lora-1', state: 'offline', error: 'connection lost' });
  });

  it('lets a declared stale_after device disconnect cleanly, and takes it offline when it stays silent', async () => {
    vi.useFakeTimers();
    const { ingest, changes } = setup();
    const sleepy = client('c1');
    await ingest.onPublish(sleepy, 'city/lab/ingest/water/gauge-1', Buffer.from('{"level": 1}'), 0);
    ingest.onClientGone(sleepy, true);
    expect(changes.map((c) => c.state)).toEqual(['online']);
    vi.advanceTimersByTime(6000);
    expect(changes.at(-1)).toMatchObject({ device: 'gauge-1', state: 'offline', error: expect.stringMatching(/no reading for/) });
    ingest.close();
  });

  it('counts readings that could not be made durable and passes the failure on (no PUBACK)', async () => {
    const { ingest } = setup({ publish: () => Promise.reject(new Error('dropped: sink influx is 10 readings behind')) });
    await expect(ingest.onPublish(client('c1'), 'city/lab/ingest/water/gauge-1', Buffer.from('{"level": 1}'), 1)).rejects.toThrow(/dropped/);
    expect(ingest.stats().notAcknowledged).toBe(1);
  });
});
