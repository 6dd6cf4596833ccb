import { closeSync, openSync, readFileSync, unlinkSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import { isNoSpace } from './no-space.js';

/** Locks held by this process: after a power cut a new process may get the old owner's pid. */
const held = new Set<string>();
/** Room for any pid; the record keeps this size so that rewriting it needs no free space. */
const RECORD_BYTES = 16;

/**
 * Two processes appending to one buffer would interleave and corrupt it: the `lock` file holds the owner's pid. A
 * lock whose process is gone (killed, power cut) or that says 0 (released) is taken over. The file stays after
 * release and is rewritten in place, so a gateway restarted on a full disk can still take it.
 */
export class DirLock {
  private constructor(
    private readonly path: string,
    private readonly fd: number,
  ) {}

  /** Claims the lock of `dir`; the caller then writes its pid with `writeOwner` (which may need space). */
  static acquire(dir: string): DirLock {
    const path = join(dir, 'lock');
    for (;;) {
      try {
        const lock = new DirLock(path, openSync(path, 'wx'));
        held.add(path);
        return lock;
      } catch (error) {
        if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
      }
      let owner: number;
      try {
        owner = Number(readFileSync(path, 'utf8').trim());
      } catch (error) {
        // Released and removed between our two looks: try again.
        if ((error as NodeJS.ErrnoException).code === 'ENOENT') continue;
        throw error;
      }
      const inUse = owner === process.pid ? held.has(path) : Number.isSafeInteger(owner) && owner > 0 && isAlive(owner);
      if (inUse) throw new Error(`the buffer in ${dir} is in use by process ${owner} (another gateway on the same data_dir?)`);
      held.add(path);
      return new DirLock(path, openSync(path, 'r+'));
    }
  }

  writeOwner(): void {
    this.writeRecord(String(process.pid));
  }

  /** Marks the lock free (in place) and closes it. */
  release(): void {
    held.delete(this.path);
    try {
      this.writeRecord('0');
    } catch (error) {
      // A lock created on a full disk may never have got its first block: removing it frees it just as well.
      if (!isNoSpace(error)) throw error;
      unlinkSync(this.path);
    } finally {
      closeSync(this.fd);
    }
  }

  private writeRecord(text: string): void {
    writeSync(this.fd, text.padEnd(RECORD_BYTES - 1) + '\n', 0, 'utf8');
  }
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
