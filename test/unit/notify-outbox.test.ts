/**
 * The notification outbox on a real temp dir, and the dispatcher over it with in-process notifiers: order by
 * severity then by time, what survives a reopen, damaged entries, max_age across a restart, and at-least-once
 * delivery when the gateway stops with an attempt in flight.
 */
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import fc from 'fast-check';
import { afterEach, describe, expect, it } from 'vitest';
import type { AlertEvent, Notifier, Severity } from '../../gateway/alerts/alert.js';
import { NotificationDispatcher } from '../../gateway/alerts/notify/dispatcher.js';
import { NotificationOutbox, parseNotification, SEVERITY_ORDER, type Notification } from '../../gateway/alerts/notify/outbox.js';
import { SegmentQueue } from '../../gateway/buffer/segment-queue.js';
import { createLogger, silentLogger } from '../../gateway/util/log.js';
import { waitFor } from '../peers/net.js';

const cleanups: (() => Promise<void> | void)[] = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

function tempDir(): string {
  const dir = mkdtempSync(join(tmpdir(), 'gw-outbox-unit-'));
  cleanups.push(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

const event = (n: number, severity: Severity = 'critical'): AlertEvent => ({
  id: `level-high/pump-${n}/level`,
  site: 'lab',
  rule: 'level-high',
  device: `pump-${n}`,
  metric: 'level',
  domain: 'water',
  kind: 'firing',
  severity,
  message: `pump-${n} level = 4.9 m`,
  value: 4.9,
  unit: 'm',
  since: 1_795_000_000_000,
  ts: 1_795_000_000_000 + n,
  acknowledged: undefined,
});

const notification = (n: number, severity: Severity = 'critical', queuedAt = Date.now()): Notification => ({
  event_id: `00000000-0000-4000-8000-${String(n).padStart(12, '0')}`,
  queued_at: queuedAt,
  event: event(n, severity),
});

/** Reads the outbox to the end, committing as a target that accepts everything would. */
function drain(outbox: NotificationOutbox): number[] {
  const devices: number[] = [];
  for (let entry = outbox.head(() => undefined); entry; entry = outbox.head(() => undefined)) {
    devices.push(Number(entry.notification.event.device.slice('pump-'.length)));
    outbox.commit(entry);
  }
  return devices;
}

const BIG = 1024 ** 2;

describe('notification outbox', () => {
  it('hands out the most severe first and, within a severity, in the order queued (any sequence)', async () => {
    const severity = fc.constantFrom<Severity>('critical', 'warning', 'info');
    await fc.assert(
      fc.asyncProperty(fc.array(severity, { maxLength: 30 }), async (severities) => {
        const outbox = NotificationOutbox.open(tempDir(), { maxBytes: BIG }, silentLogger);
        severities.forEach((s, n) => outbox.append(notification(n, s)));
        const expected = SEVERITY_ORDER.flatMap((s) => severities.flatMap((t, n) => (t === s ? [n] : [])));
        expect(drain(outbox)).toEqual(expected);
        await outbox.close();
      }),
      { numRuns: 40 },
    );
  });

  it('keeps what was not committed across a reopen, and forgets what was', async () => {
    const dir = tempDir();
    const first = NotificationOutbox.open(dir, { maxBytes: BIG }, silentLogger);
    first.append(notification(1, 'warning'));
    first.append(notification(2, 'critical'));
    first.append(notification(3, 'critical'));
    first.commit(first.head(() => undefined)!); // pump-2 delivered
    await first.close();

    const second = NotificationOutbox.open(dir, { maxBytes: BIG }, silentLogger);
    cleanups.push(() => second.close());
    expect(second.stats()).toMatchObject({ queued: 2, queued_by_severity: { critical: 1, warning: 1, info: 0 } });
    expect(drain(second)).toEqual([3, 1]);
  });

  it('skips a damaged entry, reporting it, and goes on with the next', async () => {
    const dir = tempDir();
    // A damaged line where the warning queue keeps its entries (written through the queue's own API).
    const raw = SegmentQueue.open(join(dir, 'warning'), { maxBytes: BIG, fsync: 'never', fsyncIntervalMs: 1000 }, silentLogger);
    await raw.append(['{"event_id":"x","queued_at":']);
    await raw.close();
    const outbox = NotificationOutbox.open(dir, { maxBytes: BIG }, silentLogger);
    cleanups.push(() => outbox.close());
    outbox.append(notification(7, 'warning'));
    const unreadable: string[] = [];
    const entry = outbox.head((severity, line) => unreadable.push(`${severity}: ${line}`));
    expect(entry?.notification.event.device).toBe('pump-7');
    expect(unreadable).toEqual(['warning: {"event_id":"x","queued_at":']);
  });

  it('reads back only what it wrote', () => {
    const stored = notification(1);
    expect(parseNotification(JSON.stringify(stored))).toEqual(stored);
    for (const line of ['', 'null', '[]', '{}', '{"event_id":1,"queued_at":1,"event":{}}', JSON.stringify({ ...notification(1), event: { ...event(1), severity: 'fatal' } })]) {
      expect(parseNotification(line), line).toBeUndefined();
    }
  });
});

describe('notification dispatcher over the outbox', () => {
  async function open(dir: string, notifier: Notifier, opts: { maxAge?: number; closeTimeout?: number } = {}): Promise<NotificationDispatcher> {
    const d = await NotificationDispatcher.open([{ notifier, outbox: { dir, maxBytes: BIG, maxAge: opts.maxAge ?? 3_600_000 } }], { retryInitial: 10, retryMax: 50, closeTimeout: opts.closeTimeout ?? 1000 }, silentLogger);
    cleanups.push(() => d.close());
    return d;
  }

  it('gives up, not sends as new, what a restart finds past max_age', async () => {
    const dir = tempDir();
    const outbox = NotificationOutbox.open(dir, { maxBytes: BIG }, silentLogger);
    outbox.append(notification(1, 'critical', Date.now() - 2 * 3_600_000));
    outbox.append(notification(2, 'critical'));
    await outbox.close();

    const sent: string[] = [];
    const d = await open(dir, { name: 'hook', deliver: async (e) => void sent.push(e.device) });
    await waitFor(() => (d.stats().hook!.delivered === 1 ? true : undefined), { what: 'the fresh one delivered' });
    expect(sent).toEqual(['pump-2']);
    expect(d.stats().hook).toMatchObject({ queued: 0, delivered: 1, expired: 1 });
  });

  it('sends again, with the same event id, what was on its way when the gateway stopped', async () => {
    const dir = tempDir();
    const attempts: string[] = [];
    const hanging = await open(dir, { name: 'hook', deliver: (_e, id) => (attempts.push(id), new Promise<void>(() => undefined)) }, { closeTimeout: 50 });
    hanging.send(event(1), ['hook']);
    await waitFor(() => (attempts.length === 1 ? true : undefined), { what: 'the attempt under way' });
    await hanging.close();

    const accepted: string[] = [];
    const d = await open(dir, { name: 'hook', deliver: async (_e, id) => void accepted.push(id) });
    await waitFor(() => (d.stats().hook!.delivered === 1 ? true : undefined), { what: 'the event sent again' });
    expect(accepted).toEqual(attempts);
  });

  it('counts an event it cannot store, and keeps going', async () => {
    const dir = tempDir();
    const sent: string[] = [];
    const d = await open(dir, { name: 'hook', deliver: async (e) => void sent.push(e.device) });
    // A message longer than a segment queue line can be: the append is refused.
    d.send({ ...event(1), message: 'x'.repeat(2 * 1024 ** 2) }, ['hook']);
    d.send(event(2), ['hook']);
    await waitFor(() => (d.stats().hook!.delivered === 1 ? true : undefined), { what: 'the storable one delivered' });
    expect(sent).toEqual(['pump-2']);
    expect(d.stats().hook).toMatchObject({ write_failures: 1, delivered: 1, queued: 0 });
  });

  it('reports an outbox left by a notifier that is no longer configured', async () => {
    const root = tempDir();
    mkdirSync(join(root, 'old-hook'));
    const lines: string[] = [];
    const log = createLogger({ sink: { write: (line) => lines.push(line) } });
    const d = await NotificationDispatcher.open([{ notifier: { name: 'hook', deliver: async () => undefined }, outbox: { dir: join(root, 'hook'), maxBytes: BIG, maxAge: 3_600_000 } }], { outboxRoot: root }, log);
    cleanups.push(() => d.close());
    const orphans = lines.filter((line) => line.includes('no longer configured'));
    expect(orphans).toHaveLength(1);
    expect(orphans[0]).toContain('notifier=old-hook');
  });
});
