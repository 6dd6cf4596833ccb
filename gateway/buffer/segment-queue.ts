import { closeSync, fsync, fsyncSync, ftruncateSync, mkdirSync, openSync, readdirSync, readFileSync, readSync, renameSync, unlinkSync, writeFileSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import type { Logger } from '../util/log.js';

export type FsyncPolicy = 'always' | 'interval' | 'never';

export interface SegmentQueueOptions {
  /** Total size of the segment files; beyond it whole segments are dropped, oldest first. */
  readonly maxBytes: number;
  readonly fsync: FsyncPolicy;
  readonly fsyncIntervalMs: number;
}

/** Lines read from the head of the queue; hand it back to `commit` once the receiver has them. */
export interface Batch {
  /** The lines joined by '\n', ready to send. */
  readonly text: string;
  readonly lines: number;
  readonly seq: number;
  readonly start: number;
  readonly end: number;
}

export interface SegmentQueueStats {
  /** Lines appended and not yet committed. */
  readonly backlogLines: number;
  readonly backlogBytes: number;
  readonly segments: number;
  readonly droppedLines: number;
  readonly appendedLines: number;
}

interface DataWaiter {
  readonly lines: number;
  readonly wake: () => void;
}

interface Segment {
  readonly seq: number;
  bytes: number;
  lines: number;
}

/** A batch never spans more than this many bytes, whatever its line count (keeps reads and requests bounded). */
const MAX_READ_BYTES = 4 * 1024 * 1024;
/** Characters of one line at most: even in 4-byte UTF-8 it fits a read. */
const MAX_LINE_CHARS = MAX_READ_BYTES / 4;
const SEGMENT_PATTERN = /^(\d{16})\.seg$/;

/**
 * A durable FIFO of text lines on disk: the store-and-forward buffer between the pipeline and a slow or absent
 * receiver. Lines are appended to segment files (`0000000000000001.seg`, ...), read from the oldest, and forgotten
 * only when `commit` says the receiver has them; the commit position is kept in `cursor`. After a crash (or kill -9)
 * the queue reopens where the last commit left it: a torn last line is cut off, and lines sent but not committed are
 * sent again (InfluxDB overwrites a point with the same series and timestamp, so a replay never duplicates data).
 *
 * Memory stays flat whatever the backlog: the lines live on disk and one batch is read at a time. Writes are
 * synchronous appends to the page cache (microseconds); `fsync` decides when they must reach the disk.
 */
export class SegmentQueue {
  private readonly segments: Segment[] = [];
  /** Commit position: segment seq, byte offset in it, and lines before that offset. */
  private cursor = { seq: 0, offset: 0, line: 0 };
  private fd: number;
  private dirty = false;
  private syncing: Promise<void> | undefined;
  private syncWaiters: (() => void)[] = [];
  private timer: NodeJS.Timeout | undefined;
  private dataWaiters: DataWaiter[] = [];
  private readBuffer: Buffer | undefined;
  private droppedLines = 0;
  private appendedLines = 0;
  private closed = false;
  private readonly segmentBytes: number;

  private constructor(
    readonly dir: string,
    private readonly opts: SegmentQueueOptions,
    private readonly log: Logger,
  ) {
    // Eight or more segments fit the limit, so dropping the oldest frees an eighth at most.
    this.segmentBytes = Math.max(16 * 1024, Math.min(64 * 1024 ** 2, Math.floor(opts.maxBytes / 8)));
    this.recover();
    const active = this.segments.at(-1) ?? this.newSegment();
    if (this.cursor.seq !== this.segments[0]!.seq) this.cursor = { seq: this.segments[0]!.seq, offset: 0, line: 0 };
    this.fd = openSync(this.pathOf(active.seq), 'a');
    if (opts.fsync === 'interval') {
      this.timer = setInterval(() => void this.sync(), opts.fsyncIntervalMs);
      this.timer.unref();
    }
  }

  /** Opens (creating it if needed) the queue in `dir`, recovering what a previous run left. */
  static open(dir: string, opts: SegmentQueueOptions, log: Logger): SegmentQueue {
    mkdirSync(dir, { recursive: true });
    lock(dir);
    try {
      return new SegmentQueue(dir, opts, log);
    } catch (error) {
      unlock(dir);
      throw error;
    }
  }

  /**
   * Appends lines (none may contain '\n'). They are in the OS once this returns; with fsync `always` the promise
   * resolves when they are on disk (appends made meanwhile share one fsync).
   */
  append(lines: readonly string[]): void | Promise<void> {
    if (lines.length === 0) return;
    if (this.closed) throw new Error('segment queue is closed');
    for (const line of lines) {
      // A line a batch read cannot hold would block the queue for good: refuse it here, loudly.
      if (line.length > MAX_LINE_CHARS) throw new RangeError(`a line of ${line.length} characters is longer than the buffer takes (${MAX_LINE_CHARS})`);
    }
    const text = lines.join('\n') + '\n';
    const bytes = Buffer.byteLength(text);
    let active = this.segments.at(-1)!;
    if (active.bytes > 0 && active.bytes + bytes > this.segmentBytes) active = this.roll();
    writeSync(this.fd, text);
    active.bytes += bytes;
    active.lines += lines.length;
    this.appendedLines += lines.length;
    this.dirty = true;
    this.enforceLimit();
    this.wakeReaders();
    if (this.opts.fsync === 'always') return this.sync();
  }

  /** Up to `maxLines` lines from the head of the queue (never across a segment end), or undefined when empty. */
  read(maxLines: number): Batch | undefined {
    this.skipFinishedSegments();
    const segment = this.segments[0];
    if (!segment || this.cursor.offset >= segment.bytes) return undefined;
    const want = Math.min(segment.bytes - this.cursor.offset, MAX_READ_BYTES);
    if (!this.readBuffer || this.readBuffer.length < want) this.readBuffer = Buffer.allocUnsafe(want);
    const fd = openSync(this.pathOf(segment.seq), 'r');
    let got: number;
    try {
      got = readSync(fd, this.readBuffer, 0, want, this.cursor.offset);
    } finally {
      closeSync(fd);
    }
    let end = 0;
    let lines = 0;
    for (let at = this.readBuffer.indexOf(10, 0); at !== -1 && at < got && lines < maxLines; at = this.readBuffer.indexOf(10, at + 1)) {
      end = at + 1;
      lines++;
    }
    if (lines === 0) return undefined;
    return { text: this.readBuffer.toString('utf8', 0, end - 1), lines, seq: segment.seq, start: this.cursor.offset, end: this.cursor.offset + end };
  }

  /** Forgets a batch the receiver has; batches are committed in the order they were read. */
  commit(batch: Batch): void {
    // The limit may have dropped the batch's segment while it was being sent: nothing is left to forget.
    if (batch.seq !== this.cursor.seq || batch.start !== this.cursor.offset) return;
    this.cursor = { seq: batch.seq, offset: batch.end, line: this.cursor.line + batch.lines };
    this.skipFinishedSegments();
    this.saveCursor();
  }

  /** Resolves once at least `lines` lines wait (at once if they do), after `timeoutMs`, or when the queue closes. */
  waitForBacklog(lines: number, timeoutMs: number): Promise<void> {
    if (this.closed || this.stats().backlogLines >= lines) return Promise.resolve();
    return new Promise((resolve) => {
      const waiter: DataWaiter = {
        lines,
        wake: () => {
          clearTimeout(timer);
          this.dataWaiters = this.dataWaiters.filter((w) => w !== waiter);
          resolve();
        },
      };
      const timer = setTimeout(waiter.wake, timeoutMs);
      this.dataWaiters.push(waiter);
    });
  }

  stats(): SegmentQueueStats {
    let lines = -this.cursor.line;
    let bytes = -this.cursor.offset;
    for (const segment of this.segments) {
      lines += segment.lines;
      bytes += segment.bytes;
    }
    return { backlogLines: lines, backlogBytes: bytes, segments: this.segments.length, droppedLines: this.droppedLines, appendedLines: this.appendedLines };
  }

  /** Flushes to disk and releases the files; the queue reopens from here next time. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    clearInterval(this.timer);
    this.wakeReaders();
    await this.syncing;
    if (this.opts.fsync !== 'never') fsyncSync(this.fd);
    closeSync(this.fd);
    this.saveCursor();
    unlock(this.dir);
  }

  /** fsync of the active segment; concurrent callers share the one in flight or the next. */
  private sync(): Promise<void> {
    if (!this.dirty && !this.syncing) return Promise.resolve();
    const waiter = new Promise<void>((resolve) => this.syncWaiters.push(resolve));
    if (!this.syncing) this.startSync();
    return waiter;
  }

  private startSync(): void {
    const waiters = this.syncWaiters;
    this.syncWaiters = [];
    this.dirty = false;
    const fd = this.fd;
    this.syncing = new Promise<void>((resolve) => {
      fsync(fd, (error) => {
        if (error) this.log.error('cannot fsync the buffer', { dir: this.dir, error });
        resolve();
      });
    }).then(() => {
      this.syncing = undefined;
      for (const resolve of waiters) resolve();
      if (this.syncWaiters.length) this.startSync();
    });
  }

  private roll(): Segment {
    // The finished segment reaches the disk before the next one takes appends (rare: once per segment).
    if (this.opts.fsync !== 'never') fsyncSync(this.fd);
    closeSync(this.fd);
    const segment = this.newSegment();
    this.fd = openSync(this.pathOf(segment.seq), 'a');
    return segment;
  }

  private newSegment(): Segment {
    const segment = { seq: (this.segments.at(-1)?.seq ?? this.cursor.seq) + 1, bytes: 0, lines: 0 };
    this.segments.push(segment);
    writeFileSync(this.pathOf(segment.seq), '');
    return segment;
  }

  /** Drops whole segments, oldest first, while the files exceed the limit (never the one taking appends). */
  private enforceLimit(): void {
    let total = 0;
    for (const segment of this.segments) total += segment.bytes;
    let dropped = 0;
    while (total > this.opts.maxBytes && this.segments.length > 1) {
      const oldest = this.segments.shift()!;
      total -= oldest.bytes;
      const unsent = oldest.seq === this.cursor.seq ? oldest.lines - this.cursor.line : oldest.lines;
      dropped += unsent;
      this.cursor = { seq: this.segments[0]!.seq, offset: 0, line: 0 };
      unlinkSync(this.pathOf(oldest.seq));
    }
    if (dropped > 0) {
      this.droppedLines += dropped;
      this.saveCursor();
      this.log.warn('buffer full: dropped the oldest readings', { dir: this.dir, dropped, total_dropped: this.droppedLines, max_bytes: this.opts.maxBytes });
    }
  }

  /** Moves the cursor past fully committed segments that no longer take appends, deleting them. */
  private skipFinishedSegments(): void {
    while (this.segments.length > 1) {
      const head = this.segments[0]!;
      if (head.seq === this.cursor.seq && this.cursor.offset < head.bytes) return;
      this.segments.shift();
      unlinkSync(this.pathOf(head.seq));
      this.cursor = { seq: this.segments[0]!.seq, offset: 0, line: 0 };
    }
  }

  private saveCursor(): void {
    const path = join(this.dir, 'cursor');
    writeFileSync(path + '.tmp', `${this.cursor.seq} ${this.cursor.offset}\n`);
    renameSync(path + '.tmp', path);
  }

  /** Rebuilds the segment list and cursor from the files, repairing what a crash may have left. */
  private recover(): void {
    const seqs = readdirSync(this.dir)
      .map((name) => SEGMENT_PATTERN.exec(name)?.[1])
      .filter((seq): seq is string => seq !== undefined)
      .map(Number)
      .sort((a, b) => a - b);
    const saved = this.readCursor();
    for (const seq of seqs) {
      if (seq < saved.seq) {
        // Committed before the crash, but not yet deleted.
        unlinkSync(this.pathOf(seq));
        continue;
      }
      this.segments.push(this.scan(seq, seq === seqs.at(-1)));
    }
    const head = this.segments[0];
    if (!head) {
      this.cursor = { seq: saved.seq, offset: 0, line: 0 };
      return;
    }
    const offset = head.seq === saved.seq ? Math.min(saved.offset, head.bytes) : 0;
    this.cursor = { seq: head.seq, offset, line: offset === 0 ? 0 : this.linesBefore(head.seq, offset) };
    const backlog = this.stats().backlogLines;
    if (backlog > 0) this.log.info('buffer holds readings from an earlier run; they are sent first', { dir: this.dir, readings: backlog, segments: this.segments.length });
  }

  /** Counts a segment's lines; the last segment loses a torn final line (a write cut short by a crash). */
  private scan(seq: number, last: boolean): Segment {
    const path = this.pathOf(seq);
    const content = readFileSync(path);
    let lines = 0;
    for (let at = content.indexOf(10); at !== -1; at = content.indexOf(10, at + 1)) lines++;
    const complete = content.lastIndexOf(10) + 1;
    if (complete < content.length) {
      const fd = openSync(path, 'r+');
      try {
        ftruncateSync(fd, complete);
      } finally {
        closeSync(fd);
      }
      this.log.warn('buffer: cut a torn last line (the gateway stopped mid-write)', { segment: path, bytes: content.length - complete, last });
    }
    return { seq, bytes: complete, lines };
  }

  private linesBefore(seq: number, offset: number): number {
    const content = readFileSync(this.pathOf(seq));
    let lines = 0;
    for (let at = content.indexOf(10); at !== -1 && at < offset; at = content.indexOf(10, at + 1)) lines++;
    return lines;
  }

  private readCursor(): { seq: number; offset: number } {
    try {
      const [seq, offset] = readFileSync(join(this.dir, 'cursor'), 'utf8').trim().split(' ').map(Number);
      if (Number.isSafeInteger(seq) && Number.isSafeInteger(offset)) return { seq: seq!, offset: offset! };
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error;
    }
    return { seq: 0, offset: 0 };
  }

  private wakeReaders(): void {
    if (this.dataWaiters.length === 0) return;
    const backlog = this.stats().backlogLines;
    for (const waiter of this.dataWaiters) if (this.closed || backlog >= waiter.lines) waiter.wake();
  }

  private pathOf(seq: number): string {
    return join(this.dir, `${String(seq).padStart(16, '0')}.seg`);
  }
}

/**
 * Two processes appending to one buffer would interleave and corrupt it: the `lock` file holds the owner's pid.
 * A lock whose process is gone (killed, power cut) is taken over.
 */
const heldLocks = new Set<string>();

function lock(dir: string): void {
  const path = join(dir, 'lock');
  for (;;) {
    try {
      writeFileSync(path, `${process.pid}\n`, { flag: 'wx' });
      heldLocks.add(path);
      return;
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
    }
    const owner = Number(readFileSync(path, 'utf8').trim());
    // Our own pid is in use only if this process holds the lock: after a power cut a new process may get the old pid.
    const inUse = owner === process.pid ? heldLocks.has(path) : Number.isSafeInteger(owner) && owner > 0 && isAlive(owner);
    if (inUse) {
      throw new Error(`the buffer in ${dir} is in use by process ${owner} (another gateway on the same data_dir?)`);
    }
    unlinkSync(path);
  }
}

function unlock(dir: string): void {
  const path = join(dir, 'lock');
  heldLocks.delete(path);
  unlinkSync(path);
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    // EPERM: it exists but belongs to someone else.
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}
