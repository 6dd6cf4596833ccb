/**
 * Cuts a serial byte stream into lines. Pure: bytes in, events out, no I/O and no clock.
 *
 * Memory is bounded by max_line: a line that outgrows it is reported at once (with a sample of its start) and the
 * rest of it is skipped up to the next delimiter, where framing picks up again. Serial ports hand over whatever
 * arrived (half a line, or a dozen), so a delimiter may also be split across chunks.
 */

export type FrameEvent =
  | { readonly kind: 'line'; readonly text: string }
  /** A line longer than max_line, dropped; `sample` is its start, for the log. */
  | { readonly kind: 'overlong'; readonly sample: string };

export interface LineSplitterOptions {
  /** The bytes that end a line (a string of characters 0-255, one byte each). */
  readonly delimiter: string;
  /** Bytes a line may hold, its delimiter not counted. */
  readonly maxLine: number;
  /** Characters of an over-long line kept as its sample. */
  readonly sampleLength?: number;
}

const EMPTY = Buffer.alloc(0);

/** CR and LF left at either end when the delimiter is only one of them (a CRLF device configured with "\n"). */
const strayLineEnds = /^[\r\n]+|[\r\n]+$/g;

export class LineSplitter {
  private readonly delimiter: Buffer;
  private readonly maxLine: number;
  private readonly sampleLength: number;
  /** The start of a line whose delimiter has not arrived yet (or, while skipping, a possible partial delimiter). */
  private pending: Buffer = EMPTY;
  /** Inside an over-long line already reported: its bytes are dropped up to the next delimiter. */
  private skipping = false;

  constructor(opts: LineSplitterOptions) {
    if (opts.delimiter.length === 0) throw new Error('the delimiter must not be empty');
    this.delimiter = Buffer.from(opts.delimiter, 'latin1');
    this.maxLine = opts.maxLine;
    this.sampleLength = opts.sampleLength ?? 64;
  }

  /** Bytes held while waiting for a delimiter; never more than max_line plus the delimiter's length. */
  get buffered(): number {
    return this.pending.length;
  }

  /** Takes the next chunk of the stream; returns the lines (and over-long lines) it completes, in order. */
  push(chunk: Buffer): FrameEvent[] {
    const events: FrameEvent[] = [];
    const data = this.pending.length ? Buffer.concat([this.pending, chunk]) : chunk;
    let start = 0;
    for (let end = data.indexOf(this.delimiter, start); end !== -1; end = data.indexOf(this.delimiter, start)) {
      if (this.skipping) this.skipping = false;
      else this.complete(data.subarray(start, end), events);
      start = end + this.delimiter.length;
    }
    const rest = data.subarray(start);
    // Up to delimiter-length - 1 trailing bytes may be the start of a delimiter split across chunks.
    const partialDelimiter = this.delimiter.length - 1;
    if (!this.skipping && rest.length > this.maxLine + partialDelimiter) {
      events.push(this.overlong(rest));
      this.skipping = true;
    }
    // Copies, so that a large chunk is not kept alive by the few bytes still waiting for their delimiter.
    this.pending = Buffer.from(this.skipping ? rest.subarray(Math.max(0, rest.length - partialDelimiter)) : rest);
    return events;
  }

  /** Forgets a partial line, e.g. when the port was reopened and the stream starts afresh. */
  reset(): void {
    this.pending = EMPTY;
    this.skipping = false;
  }

  private complete(line: Buffer, events: FrameEvent[]): void {
    if (line.length > this.maxLine) {
      events.push(this.overlong(line));
      return;
    }
    const text = line.toString('utf8').replace(strayLineEnds, '');
    // Blank lines (a device printing an empty line between records) carry nothing and are no error.
    if (text.length) events.push({ kind: 'line', text });
  }

  private overlong(start: Buffer): FrameEvent {
    return { kind: 'overlong', sample: start.subarray(0, this.sampleLength).toString('utf8') };
  }
}
