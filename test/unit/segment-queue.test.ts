import { appendFileSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { SegmentQueue, type SegmentQueueOptions } from '../../gateway/buffer/segment-queue.js';
import { silentLogger } from '../../gateway/util/log.js';

const dirs: string[] = [];
const queues: SegmentQueue[] = [];
afterEach(async () => {
  for (const queue of queues.splice(0)) await queue.close();
  for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true });
});

function tempDir(): string {
  const dir = mkdtempSync(join(tmpdir(), 'gw-queue-'));
  dirs.push(dir);
  return dir;
}

function open(dir: string, opts: Partial<SegmentQueueOptions> = {}): SegmentQueue {
  const queue = SegmentQueue.open(dir, { maxBytes: 1024 ** 2, fsync: 'never', fsyncIntervalMs: 1000, ...opts }, silentLogger);
  queues.push(queue);
  return queue;
}

const lines = (from: number, count: number): string[] => Array.from({ length: count }, (_, i) => `water,device=d level=${from + i} ${from + i}`);

/** Everything left in the queue, committing as it goes. */
function drain(queue: SegmentQueue, batch = 7): string[] {
  const out: string[] = [];
  for (let read = queue.read(batch); read; read = queue.read(batch)) {
    out.push(...read.text.split('\n'));
    queue.commit(read);
  }
  return out;
}

describe('SegmentQueue', () => {
  it("hands a batch as the stored bytes, its own: the next read does not touch them, and its text is theirs", async () => {
    const queue = open(tempDir());
    const stored = ['water,device=pompe-é level=1 1', 'water,device=d level=2 2', 'water,device=d level=3 3'];
    await queue.append(stored);
    const first = queue.read(2)!;
    queue.commit(first);
    const second = queue.read(2)!;
    expect(first.data.toString('utf8')).toBe(stored.slice(0, 2).join('\n'));
    expect(first.data.length).toBe(Buffer.byteLength(stored.slice(0, 2).join('\n')));
    expect(first.text).toBe(stored.slice(0, 2).join('\n'));
    expect(second.text).toBe(stored[2]);
  });

  it('gives lines back in order, in batches of at most the asked size, and forgets what is committed', async () => {
    const queue = open(tempDir());
    await queue.append(lines(0, 10));
    await queue.append(lines(10, 5));
    const first = queue.read(4)!;
    expect(first.lines).toBe(4);
    expect(first.text.split('\n')).toEqual(lines(0, 4));
    // Not committed: the same lines again.
    expect(queue.read(4)!.text).toBe(first.text);
    queue.commit(first);
    expect(queue.stats().backlogLines).toBe(11);
    expect(drain(queue)).toEqual(lines(4, 11));
    expect(queue.stats().backlogLines).toBe(0);
    expect(queue.read(4)).toBeUndefined();
  });

  it('keeps lines of any UTF-8 byte for byte, a short batch after a long one and a batch over a megabyte', async () => {
    const dir = tempDir();
    const queue = open(dir, { maxBytes: 64 * 1024 ** 2 });
    const wide = ['temp,device=ü°C value=1 1', 'flow,device=水道 value=2 2', 'x,device=🚦 value=3 3'];
    const long = Array.from({ length: 300 }, (_, i) => `${wide[i % 3]!}${'é'.repeat(i)}`);
    const huge = Array.from({ length: 20 }, (_, i) => `big,n=${i} v="${'z'.repeat(60_000)}" ${i}`);
    const batches = [long, wide.slice(0, 1), huge, wide];
    for (const batch of batches) await queue.append(batch);
    // What is on disk is exactly the lines, so a restart reads the same.
    const onDisk = readdirSync(dir).filter((name) => name.endsWith('.seg')).sort().map((name) => readFileSync(join(dir, name), 'utf8')).join('');
    expect(onDisk).toBe(batches.flat().join('\n') + '\n');
    expect(drain(queue, 10_000)).toEqual(batches.flat());
  });

  it('reopens where the last commit left it, across many segments, and deletes committed segments', async () => {
    const dir = tempDir();
    const queue = open(dir, { maxBytes: 160 * 1024 });
    for (let i = 0; i < 100; i++) await queue.append(lines(i * 20, 20));
    expect(queue.stats().segments).toBeGreaterThan(2);
    expect(queue.stats().droppedLines).toBe(0);
    let committed = 0;
    while (committed < 1000) {
      const batch = queue.read(50)!;
      queue.commit(batch);
      committed += batch.lines;
    }
    const sent = queue.read(10)!; // read but never committed: must come again
    await queue.close();
    queues.pop();
    const again = open(dir, { maxBytes: 160 * 1024 });
    expect(again.stats().backlogLines).toBe(1000);
    expect(again.read(10)!.text).toBe(sent.text);
    expect(drain(again)).toEqual(lines(1000, 1000));
    expect(readdirSync(dir).filter((f) => f.endsWith('.seg'))).toHaveLength(1);
  });

  it('cuts a torn last line left by a crash and keeps appending after it', async () => {
    const dir = tempDir();
    const queue = open(dir);
    await queue.append(lines(0, 3));
    await queue.close();
    queues.pop();
    const segment = readdirSync(dir).find((f) => f.endsWith('.seg'))!;
    appendFileSync(join(dir, segment), 'water,device=d level=9');
    const again = open(dir);
    expect(again.stats().backlogLines).toBe(3);
    await again.append(lines(3, 2));
    expect(drain(again)).toEqual(lines(0, 5));
  });

  it('drops whole segments, oldest first, beyond the size limit, and counts the unsent lines dropped', async () => {
    const queue = open(tempDir(), { maxBytes: 128 * 1024 });
    const inFlight = queue.read(1);
    expect(inFlight).toBeUndefined();
    for (let i = 0; i < 500; i++) await queue.append(lines(i * 10, 10));
    const stats = queue.stats();
    const total = 5000;
    expect(stats.droppedLines).toBeGreaterThan(0);
    expect(stats.backlogLines + stats.droppedLines).toBe(total);
    expect(stats.backlogBytes).toBeLessThanOrEqual(128 * 1024);
    const kept = drain(queue, 100);
    expect(kept).toEqual(lines(total - kept.length, kept.length));
  });

  it('ignores the commit of a batch whose segment was dropped while it was being sent', async () => {
    const queue = open(tempDir(), { maxBytes: 64 * 1024 });
    await queue.append(lines(0, 10));
    const batch = queue.read(10)!;
    for (let i = 0; i < 300; i++) await queue.append(lines(10 + i * 10, 10));
    const before = queue.stats().backlogLines;
    queue.commit(batch);
    expect(queue.stats().backlogLines).toBe(before);
  });

  it('reads on behind batches in flight, across segment ends, and takes their commits in order', async () => {
    const queue = open(tempDir(), { maxBytes: 160 * 1024 });
    for (let i = 0; i < 100; i++) await queue.append(lines(i * 20, 20));
    expect(queue.stats().segments).toBeGreaterThan(2);
    const inFlight = [queue.read(30)!];
    for (let next = queue.read(30, inFlight.at(-1)); next; next = queue.read(30, inFlight.at(-1))) inFlight.push(next);
    expect(inFlight.flatMap((batch) => batch.text.split('\n'))).toEqual(lines(0, 2000));
    // Nothing after the last one yet; a line appended is.
    await queue.append(lines(2000, 1));
    inFlight.push(queue.read(30, inFlight.at(-1))!);
    expect(inFlight.at(-1)!.text).toBe(lines(2000, 1)[0]);
    for (const [i, batch] of inFlight.entries()) {
      queue.commit(batch);
      expect(queue.stats().backlogLines).toBe(2001 - inFlight.slice(0, i + 1).reduce((sum, b) => sum + b.lines, 0));
    }
    expect(queue.read(30)).toBeUndefined();
    expect(queue.stats().segments).toBe(1);
  });

  it('counts batches in flight in a dropped segment as dropped, takes them back once delivered, and reads on from the oldest kept', async () => {
    const queue = open(tempDir(), { maxBytes: 64 * 1024 });
    await queue.append(lines(0, 10));
    const first = queue.read(5)!;
    const second = queue.read(5, first)!;
    for (let i = 0; i < 300; i++) await queue.append(lines(10 + i * 10, 10));
    const dropped = queue.stats().droppedLines;
    expect(dropped).toBeGreaterThanOrEqual(10);
    const next = queue.read(10, second)!;
    const kept = queue.stats().backlogLines;
    expect(next.text.split('\n')).toEqual(lines(3010 - kept, 10));
    queue.commit(first);
    queue.commit(second);
    expect(queue.stats().droppedLines).toBe(dropped - 10);
    queue.commit(next);
    expect(queue.stats().backlogLines).toBe(kept - 10);
  });

  it('reads about what a batch takes, not the rest of a large segment', async () => {
    const queue = open(tempDir(), { maxBytes: 64 * 1024 ** 2 });
    for (let i = 0; i < 50; i++) await queue.append(lines(i * 1000, 1000));
    expect(queue.stats().backlogBytes).toBeGreaterThan(1024 ** 2);
    expect(queue.stats().segments).toBe(1);
    // This thread's own count of bytes read by system calls (Linux), the /proc read itself included.
    const bytesRead = (): number => Number(/rchar: (\d+)/.exec(readFileSync('/proc/thread-self/io', 'utf8'))![1]);
    const before = bytesRead();
    const batch = queue.read(100)!;
    const read = bytesRead() - before;
    expect(batch.text.split('\n')).toEqual(lines(0, 100));
    expect(read).toBeLessThan(256 * 1024);
  });

  it('with fsync always, append resolves once the lines are on disk', async () => {
    const queue = open(tempDir(), { fsync: 'always' });
    const pending = queue.append(lines(0, 3));
    expect(pending).toBeInstanceOf(Promise);
    await Promise.all([pending, queue.append(lines(3, 3))]);
    expect(drain(queue)).toEqual(lines(0, 6));
  });

  it('waitForBacklog wakes on enough lines, or at the timeout', async () => {
    const queue = open(tempDir());
    const waiting = queue.waitForBacklog(5, 60_000);
    await queue.append(lines(0, 2));
    await queue.append(lines(2, 3));
    await waiting;
    const started = Date.now();
    await queue.waitForBacklog(100, 20);
    expect(Date.now() - started).toBeGreaterThanOrEqual(15);
  });

  it('refuses a line too long for a batch read', () => {
    const queue = open(tempDir());
    expect(() => queue.append(['x'.repeat(2 * 1024 * 1024)])).toThrow(RangeError);
  });
});

describe('SegmentQueue cursor', () => {
  it('is one fixed-size record rewritten in place, so a commit needs no free space', async () => {
    const dir = tempDir();
    const queue = open(dir);
    await queue.append(lines(0, 3));
    queue.commit(queue.read(2)!);
    expect(statSync(join(dir, 'cursor')).size).toBe(64);
    expect(readdirSync(dir).filter((name) => name.endsWith('.tmp'))).toEqual([]);
  });

  it('reads the format before the checksum, and replays from the oldest segment when the record is damaged', async () => {
    const dir = tempDir();
    const first = open(dir);
    await first.append(lines(0, 4));
    first.commit(first.read(1)!);
    await first.close();
    queues.pop();
    const [seq, offset] = readFileSync(join(dir, 'cursor'), 'utf8').trim().split(/\s+/);
    writeFileSync(join(dir, 'cursor'), `${seq} ${offset}\n`); // as an older gateway wrote it
    const legacy = open(dir);
    expect(drain(legacy)).toEqual(lines(1, 3));
    await legacy.close();
    queues.pop();

    writeFileSync(join(dir, 'cursor'), `${seq} 9999 deadbeef`.padEnd(63) + '\n'); // torn or corrupted
    const again = open(dir);
    await again.append(lines(10, 1));
    // Sent again rather than lost: InfluxDB overwrites a point with the same series and timestamp.
    expect(drain(again)).toEqual([...lines(0, 4), ...lines(10, 1)]);
  });
});

describe('SegmentQueue lock', () => {
  it('refuses a second opener while the first holds the buffer, and frees it on close', async () => {
    const dir = tempDir();
    const first = open(dir);
    expect(() => SegmentQueue.open(dir, { maxBytes: 1024 ** 2, fsync: "never", fsyncIntervalMs: 1000 }, silentLogger)).toThrow(/in use by process/);
    await first.close();
    queues.pop();
    open(dir);
  });
});
