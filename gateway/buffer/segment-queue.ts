import { closeSync, fsync, fsyncSync, ftruncateSync, mkdirSync, openSync, readdirSync, readFileSync, readSync, unlinkSync, writeFileSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import type { Logger } from '../util/log.js';
import { CursorFile } from './cursor-file.js';
import { DirLock } from './dir-lock.js';
import { diskSpace, isNoSpace, NoSpaceError } from './no-space.js';

export type FsyncPolicy = 'always' | 'interval' | 'never';

export interface SegmentQueueOptions {
  /** Total size of the segment files; beyond it whole segments are dropped, oldest first. */
  readonly maxBytes: number;
  readonly fsync: FsyncPolicy;
  readonly fsyncIntervalMs: number;
}

/** Lines read from the head of the queue; hand it back to `commit` once the receiver has them. */
export interface Batch {
  /**
   * The lines joined by '\n' (UTF-8, as stored), ready to send: bytes the batch owns, not a string, since a batch of
   * thousands of lines made into one lands in the old generation and brings its next full collection nearer.
   */
  readonly data: Buffer;
  /** `data` as text, decoded the first time it is asked for. */
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
  /** Lines dropped unsent, for either reason below. */
  readonly droppedLines: number;
  /** Dropped because the files reached `maxBytes`. */
  readonly droppedMaxSizeLines: number;
  /** Dropped to make room when the disk was full. */
  readonly droppedDiskFullLines: number;
  /** The disk refused a write lately and has not got a segment's worth of room back since. */
  readonly diskFull: boolean;
  readonly appendedLines: number;
}

interface DataWaiter {
  readonly lines: number;
  readonly wake: () => void;
}

interface BatchPosition {
  readonly seq: number;
  readonly start: number;
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
/** The smallest read or append buffer, and the largest append buffer kept between appends (a larger one is one-off). */
const MIN_BUFFER_BYTES = 64 * 1024;
/** A batch read takes this much more than its lines' average size, so that lines longer than the average still fit. */
const READ_MARGIN = 1.5;
const MAX_KEPT_ENCODE_BYTES = 1024 * 1024;
const SEGMENT_PATTERN = /^(\d{16})\.seg$/;

/**
 * A durable FIFO of text lines on disk: the store-and-forward buffer between the pipeline and a slow or absent
 * receiver. Lines are appended to segment files (`0000000000000001.seg`, ...), read from the oldest, and forgotten
 * only when `commit` says the receiver has them; the commit position is kept in `cursor`. After a crash (or kill -9)
 * the queue reopens where the last commit left it: a torn last line is cut off, and lines sent but not committed are
 * sent again (InfluxDB overwrites a point with the same series and timestamp, so a replay never duplicates data).
 *
 * Memory stays flat whatever the backlog: the lines live on disk, and only the batches in flight are read. Writes are
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
  private encodeBuffer: Buffer | undefined;
  private readonly dropped = { maxSize: 0, diskFull: 0 };
  /** Batches read and not yet committed, oldest first: a drop of their segment counts them as dropped... */
  private inFlight: BatchPosition[] = [];
  /** ...and those of them committed after all (the receiver got them) are taken back off the count. */
  private orphans: (BatchPosition & { reason: keyof SegmentQueue['dropped'] })[] = [];
  private appendedLines = 0;
  private diskFull = false;
  private closed = false;
  private readonly segmentBytes: number;
  private readonly cursorFile: CursorFile;

  private constructor(
    readonly dir: string,
    private readonly opts: SegmentQueueOptions,
    private readonly log: Logger,
    private readonly lock: DirLock,
  ) {
    // Eight or more segments fit the limit and the disk, so that on either one dropping the oldest frees an eighth
    // at most — and on a disk smaller than the limit there is always an older segment to drop before it is full.
    this.segmentBytes = Math.max(16 * 1024, Math.min(64 * 1024 ** 2, Math.floor(Math.min(opts.maxBytes, diskSpace(dir).total) / 8)));
    this.cursorFile = CursorFile.open(join(dir, 'cursor'));
    this.recover();
    const active = this.segments.at(-1) ?? this.newSegment();
    if (this.cursor.seq !== this.segments[0]!.seq) this.cursor = { seq: this.segments[0]!.seq, offset: 0, line: 0 };
    this.fd = openSync(this.pathOf(active.seq), 'a');
    // On a disk that filled while we were away, these first writes may need the room of the oldest readings.
    this.withSpace(() => this.cursorFile.write(this.cursor));
    this.withSpace(() => lock.writeOwner());
    if (opts.fsync === 'interval') {
      this.timer = setInterval(() => void this.sync(), opts.fsyncIntervalMs);
      this.timer.unref();
    }
  }

  /** Opens (creating it if needed) the queue in `dir`, recovering what a previous run left. */
  static open(dir: string, opts: SegmentQueueOptions, log: Logger): SegmentQueue {
    mkdirSync(dir, { recursive: true });
    const lock = DirLock.acquire(dir);
    try {
      return new SegmentQueue(dir, opts, log, lock);
    } catch (error) {
      lock.release();
      throw error;
    }
  }

  /**
   * Appends lines (none may contain '\n'). They are in the OS once this returns; with fsync `always` the promise
   * resolves when they are on disk (appends made meanwhile share one fsync). On a full disk the oldest segments are
   * dropped (counted) to make room; when nothing of the buffer's own is left to drop it throws a NoSpaceError.
   */
  append(lines: readonly string[]): void | Promise<void> {
    if (lines.length === 0) return;
    if (this.closed) throw new Error('segment queue is closed');
    for (const line of lines) {
      // A line a batch read cannot hold would block the queue for good: refuse it here, loudly.
      if (line.length > MAX_LINE_CHARS) throw new RangeError(`a line of ${line.length} characters is longer than the buffer takes (${MAX_LINE_CHARS})`);
    }
    const text = this.encode(lines);
    this.withSpace(() => this.write(text, lines.length));
    this.appendedLines += lines.length;
    this.dirty = true;
    this.enforceLimit();
    this.wakeReaders();
    if (this.opts.fsync === 'always') return this.sync();
  }

  /**
   * Up to `maxLines` lines from the head of the queue, or from just after `after` (a batch still in flight, so that
   * the next one can go while the receiver acknowledges it); never across a segment end; undefined when there are none
   * yet. A read from the head starts over: batches read before are abandoned (to be read again).
   */
  read(maxLines: number, after?: Batch): Batch | undefined {
    this.skipFinishedSegments();
    if (!after) {
      this.inFlight = [];
      this.orphans = [];
    }
    const from = after ? this.positionAfter(after) : { seq: this.cursor.seq, offset: this.cursor.offset };
    const segment = from && this.segments.find((s) => s.seq === from.seq);
    if (!from || !segment || from.offset >= segment.bytes) return undefined;
    const left = Math.min(segment.bytes - from.offset, MAX_READ_BYTES);
    // About what `maxLines` lines of this segment take, not the rest of it: a batch of a large backlog read megabytes
    // to send a hundred kilobytes. A first line longer than that is read whole on a second try.
    const expected = Math.ceil((segment.bytes / Math.max(1, segment.lines)) * maxLines * READ_MARGIN);
    let want = Math.min(left, Math.max(MIN_BUFFER_BYTES, expected));
    let got = this.readAt(segment.seq, from.offset, want);
    let end = 0;
    let lines = 0;
    for (;;) {
      const buffer = this.readBuffer!;
      for (let at = buffer.indexOf(10, 0); at !== -1 && at < got && lines < maxLines; at = buffer.indexOf(10, at + 1)) {
        end = at + 1;
        lines++;
      }
      if (lines > 0 || want === left) break;
      want = left;
      got = this.readAt(segment.seq, from.offset, want);
    }
    if (lines === 0) return undefined;
    this.inFlight.push({ seq: segment.seq, start: from.offset });
    const data = Buffer.from(this.readBuffer!.subarray(0, end - 1));
    let text: string | undefined;
    return {
      data,
      get text() {
        return (text ??= data.toString('utf8'));
      },
      lines,
      seq: segment.seq,
      start: from.offset,
      end: from.offset + end,
    };
  }

  /** Where the lines after a batch start: its segment goes on, or the next one starts; a dropped one left the head. */
  private positionAfter(batch: Batch): { seq: number; offset: number } | undefined {
    const index = this.segments.findIndex((s) => s.seq === batch.seq);
    if (index === -1) return batch.seq < this.cursor.seq ? { seq: this.cursor.seq, offset: this.cursor.offset } : undefined;
    if (batch.end < this.segments[index]!.bytes) return { seq: batch.seq, offset: batch.end };
    const next = this.segments[index + 1];
    return next && { seq: next.seq, offset: 0 };
  }

  /** Reads `bytes` of a segment from `offset` into the read buffer; returns how many came. */
  private readAt(seq: number, offset: number, bytes: number): number {
    // Grown by doubling: a backlog that builds up gradually would otherwise mean a new buffer for nearly every read.
    if (!this.readBuffer || this.readBuffer.length < bytes) this.readBuffer = Buffer.allocUnsafe(Math.min(MAX_READ_BYTES, Math.max(bytes, this.readBuffer ? 2 * this.readBuffer.length : MIN_BUFFER_BYTES)));
    const fd = openSync(this.pathOf(seq), 'r');
    try {
      return readSync(fd, this.readBuffer, 0, bytes, offset);
    } finally {
      closeSync(fd);
    }
  }

  /** Forgets a batch the receiver has; batches are committed in the order they were read. */
  commit(batch: Batch): void {
    // The limit may have dropped the batch's segment while it was being sent: nothing is left to forget, and the
    // batch, counted as dropped then, has reached the receiver after all.
    if (batch.seq !== this.cursor.seq || batch.start !== this.cursor.offset) {
      const index = this.orphans.findIndex((o) => o.seq === batch.seq && o.start === batch.start);
      if (index !== -1) {
        const [orphan] = this.orphans.splice(index, 1);
        this.dropped[orphan!.reason] -= batch.lines;
        this.log.info('buffer: readings counted as dropped were delivered after all', { dir: this.dir, readings: batch.lines, total_dropped: this.dropped.maxSize, total_dropped_disk_full: this.dropped.diskFull });
      }
      return;
    }
    this.inFlight.shift();
    this.cursor = { seq: batch.seq, offset: batch.end, line: this.cursor.line + batch.lines };
    const active = this.segments.at(-1)!;
    // All sent: the room the sent lines take goes back to the disk now, not when the segment is full.
    if (this.segments.length === 1 && this.cursor.offset === active.bytes && active.bytes >= this.segmentBytes / 8) this.startSegment();
    this.skipFinishedSegments();
    this.cursorFile.write(this.cursor);
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
    return {
      backlogLines: lines,
      backlogBytes: bytes,
      segments: this.segments.length,
      droppedLines: this.dropped.maxSize + this.dropped.diskFull,
      droppedMaxSizeLines: this.dropped.maxSize,
      droppedDiskFullLines: this.dropped.diskFull,
      diskFull: this.stillFull(),
      appendedLines: this.appendedLines,
    };
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
    this.cursorFile.write(this.cursor);
    this.cursorFile.close();
    this.lock.release();
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

  /**
   * The lines as bytes, one '\n' after each, in a buffer kept from one append to the next (written synchronously):
   * a fresh one per batch, tens of kilobytes each, made a large share of the buffers the garbage collector sweeps.
   */
  private encode(lines: readonly string[]): Buffer {
    const text = lines.join('\n');
    const bytes = Buffer.byteLength(text) + 1;
    if (bytes > MAX_KEPT_ENCODE_BYTES) return Buffer.from(text + '\n');
    if (!this.encodeBuffer || this.encodeBuffer.length < bytes) this.encodeBuffer = Buffer.allocUnsafe(Math.min(MAX_KEPT_ENCODE_BYTES, Math.max(bytes, this.encodeBuffer ? 2 * this.encodeBuffer.length : MIN_BUFFER_BYTES)));
    this.encodeBuffer.write(text, 0);
    this.encodeBuffer[bytes - 1] = 0x0a;
    return this.encodeBuffer.subarray(0, bytes);
  }

  /** Appends whole lines to the active segment (rolling first if they would overfill it); all or nothing. */
  private write(text: Buffer, lines: number): void {
    let active = this.segments.at(-1)!;
    if (active.bytes > 0 && active.bytes + text.length > this.segmentBytes) active = this.roll();
    let written = 0;
    try {
      // A write may be short when the disk fills mid-way: go on until all of it is in, or the disk refuses.
      while (written < text.length) written += writeSync(this.fd, text, written);
    } catch (error) {
      // Cut what part of the lines got in, so the segment holds whole lines only and its count stays true.
      ftruncateSync(this.fd, active.bytes);
      throw error;
    }
    active.bytes += text.length;
    active.lines += lines;
  }

  /**
   * Runs a write; when the disk is full, drops the oldest segment (counted) and tries again, until it fits or
   * nothing of the buffer's own is left to drop (then NoSpaceError).
   */
  private withSpace<T>(write: () => T): T {
    for (;;) {
      try {
        return write();
      } catch (error) {
        if (!isNoSpace(error)) throw error;
        this.diskFull = true;
        if (!this.dropForSpace()) throw new NoSpaceError(this.dir, error);
      }
    }
  }

  /** Drops the oldest segment — the active one too when it is the only one — to make room; false when empty. */
  private dropForSpace(): boolean {
    const oldest = this.segments[0]!;
    if (this.segments.length === 1) {
      if (oldest.bytes === 0) return false;
      // A fresh file (and seq) takes the appends, so a batch read from the dropped one is never committed into it.
      this.startSegment();
    }
    const dropped = this.dropHead('diskFull');
    this.trySaveCursor();
    this.log.warn('data disk full: dropped the oldest readings to make room', { dir: this.dir, dropped, total_dropped_disk_full: this.dropped.diskFull });
    return true;
  }

  /** The disk-full flag stays up until a segment's worth of room is free again. */
  private stillFull(): boolean {
    if (this.diskFull && diskSpace(this.dir).free >= this.segmentBytes) this.diskFull = false;
    return this.diskFull;
  }

  /** Deletes the oldest segment (never the only one) and counts its unsent lines as dropped; returns that count. */
  private dropHead(reason: keyof SegmentQueue['dropped']): number {
    const oldest = this.segments.shift()!;
    unlinkSync(this.pathOf(oldest.seq));
    const unsent = oldest.seq === this.cursor.seq ? oldest.lines - this.cursor.line : oldest.lines;
    while (this.inFlight[0]?.seq === oldest.seq) this.orphans.push({ ...this.inFlight.shift()!, reason });
    this.cursor = { seq: this.segments[0]!.seq, offset: 0, line: 0 };
    this.dropped[reason] += unsent;
    return unsent;
  }

  /**
   * Saves the cursor after a drop. Not needed for safety — a saved cursor that names a deleted segment means "from
   * the oldest one left" — so a failure here is only logged.
   */
  private trySaveCursor(): void {
    try {
      this.cursorFile.write(this.cursor);
    } catch (error) {
      this.log.warn('cannot save the buffer cursor', { dir: this.dir, error });
    }
  }

  private roll(): Segment {
    // The finished segment reaches the disk before the next one takes appends (rare: once per segment).
    if (this.opts.fsync !== 'never') fsyncSync(this.fd);
    return this.startSegment();
  }

  /** A new, empty segment takes the appends from now on. */
  private startSegment(): Segment {
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
      total -= this.segments[0]!.bytes;
      dropped += this.dropHead('maxSize');
    }
    if (dropped > 0) {
      this.trySaveCursor();
      this.log.warn('buffer full: dropped the oldest readings', { dir: this.dir, dropped, total_dropped: this.dropped.maxSize, max_bytes: this.opts.maxBytes });
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

  /** The saved commit position; none or a damaged one means "from the oldest segment" (a replay, never a loss). */
  private readCursor(): { seq: number; offset: number } {
    const saved = this.cursorFile.read();
    if (!saved && readdirSync(this.dir).some((name) => SEGMENT_PATTERN.test(name))) {
      this.log.warn('buffer cursor missing or damaged: sending the buffer again from its oldest segment', { file: this.cursorFile.path });
    }
    return saved ?? { seq: 0, offset: 0 };
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
