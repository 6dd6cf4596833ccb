import { closeSync, openSync, readSync, writeSync } from 'node:fs';
import { crc32 } from 'node:zlib';

export interface SavedCursor {
  readonly seq: number;
  readonly offset: number;
}

/** One record, well inside a disk sector, so a power cut leaves the old record or the new one, never a mix. */
const RECORD_BYTES = 64;

/**
 * The commit position of a SegmentQueue (`cursor`): one fixed-size record `seq offset crc32`, rewritten in place.
 * Rewriting bytes the file already has needs no free space, so progress can be committed on a full disk — a
 * write-then-rename would need a fresh block for the new file, which is exactly what a full disk refuses.
 */
export class CursorFile {
  private constructor(
    readonly path: string,
    private readonly fd: number,
  ) {}

  /** Opens (creating it empty if missing) the file; creating an empty file takes no data block. */
  static open(path: string): CursorFile {
    let fd: number;
    try {
      fd = openSync(path, 'r+');
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error;
      fd = openSync(path, 'w+');
    }
    return new CursorFile(path, fd);
  }

  /** The saved position; undefined when there is none or the record is damaged. */
  read(): SavedCursor | undefined {
    const buffer = Buffer.alloc(RECORD_BYTES);
    const length = readSync(this.fd, buffer, 0, RECORD_BYTES, 0);
    const fields = buffer.toString('utf8', 0, length).trim().split(/\s+/);
    const [seq, offset] = fields.slice(0, 2).map(Number);
    if (!Number.isSafeInteger(seq) || !Number.isSafeInteger(offset)) return undefined;
    // Two fields: the format before the checksum, written by write-then-rename (never torn).
    if (fields.length === 2 || (fields.length === 3 && fields[2] === checksum(seq!, offset!))) return { seq: seq!, offset: offset! };
    return undefined;
  }

  /** Rewrites the record in place; the file keeps its size, so this needs no free space once written first. */
  write(cursor: SavedCursor): void {
    const record = `${cursor.seq} ${cursor.offset} ${checksum(cursor.seq, cursor.offset)}`.padEnd(RECORD_BYTES - 1) + '\n';
    writeSync(this.fd, record, 0, 'utf8');
  }

  close(): void {
    closeSync(this.fd);
  }
}

function checksum(seq: number, offset: number): string {
  return crc32(`${seq} ${offset}`).toString(16);
}
