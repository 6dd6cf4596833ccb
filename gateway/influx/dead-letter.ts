import { appendFileSync, mkdirSync, renameSync, statSync } from 'node:fs';
import { dirname } from 'node:path';

/** Past this size the file is rotated to `<file>.1` (replacing the previous one), so it cannot fill the disk. */
const ROTATE_BYTES = 16 * 1024 * 1024;

/**
 * Lines InfluxDB refused for good (a field type conflict, a parse error), set aside with the server's reason so the
 * stream moves on and an operator can still see, fix and replay them. One JSON object per line:
 * `{"at":<epoch ms>,"status":400,"reason":"...","line":"<line protocol>"}`.
 */
export class DeadLetterFile {
  private bytes: number;

  constructor(readonly path: string) {
    mkdirSync(dirname(path), { recursive: true });
    this.bytes = sizeOf(path);
  }

  add(line: string, status: number, reason: string): void {
    const record = JSON.stringify({ at: Date.now(), status, reason, line }) + '\n';
    if (this.bytes + record.length > ROTATE_BYTES && this.bytes > 0) {
      renameSync(this.path, `${this.path}.1`);
      this.bytes = 0;
    }
    appendFileSync(this.path, record);
    this.bytes += Buffer.byteLength(record);
  }
}

function sizeOf(path: string): number {
  try {
    return statSync(path).size;
  } catch {
    return 0;
  }
}
