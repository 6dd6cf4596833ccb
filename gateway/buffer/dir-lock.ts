/**
 * Our own pid lock rather than proper-lockfile (npm), weighed against it on this machine kind (2026-12):
 * - proper-lockfile locks by creating a directory: on a full ext4 data disk that mkdir fails with ENOSPC, so a
 *   gateway restarted on a full disk could not start. This lock is a file rewritten in place: it needs no new block.
 * - It finds a stale lock by its mtime (default 10 s, refreshed by a timer): after a kill -9 a restart is refused
 *   for those 10 s (measured: taken again 9.8 s after the kill); a box without a real-time clock that boots with its
 *   clock behind sees the lock "from the future" and is refused until the clock catches up (faketime -1 h: refused);
 *   an event loop stalled beyond the threshold (a slow SD card) counts the lock as compromised and throws.
 *   A pid lock knows at once whether its owner is alive, whatever the clock says.
 * - Its stale-lock removal (remove, then create) has the same race between two starters as the lock it would replace.
 * The kernel's own locks (flock), which die with their process, are not reachable from Node 20 without a native addon.
 */
import { closeSync, openSync, readFileSync, rmSync, unlinkSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import { isNoSpace } from './no-space.js';

/** Locks held by this process: after a power cut a new process may get the old owner's pid. */
const held = new Set<string>();
/** Room for any pid; the record keeps this size so that rewriting it needs no free space. */
const RECORD_BYTES = 16;
/**
 * A claim holds its guard for microseconds; one that stays this long was left by a process that died while
 * claiming (or wrote no pid on a full disk) and is cleared.
 */
const GUARD_WAIT_MS = 2000;
const GUARD_POLL_MS = 10;

/**
 * Two processes appending to one buffer would interleave and corrupt it: the `lock` file holds the owner's pid. A
 * lock whose process is gone (killed, power cut) or that says 0 (released) is taken over. The file stays after
 * release and is rewritten in place, so a gateway restarted on a full disk can still take it.
 *
 * Reading the record and writing one's own is not atomic: two gateways starting at once could both read a free
 * record (or the empty one of a lock just created) and both take it. So every claim runs while holding a guard
 * file, `lock.claim`, created exclusively (O_EXCL) and removed right after the claim. What is left open: two
 * starters clearing the same abandoned guard at one instant (a claimant must first die inside its microseconds of
 * claiming), and a lock created on a full disk, whose record stays empty until the buffer has made room.
 */
export class DirLock {
  private constructor(
    private readonly path: string,
    private readonly fd: number,
  ) {}

  /** Claims the lock of `dir` and writes this process's pid into it when there is room; `writeOwner` retries that. */
  static acquire(dir: string): DirLock {
    const path = join(dir, 'lock');
    const guard = claimGuard(`${path}.claim`);
    try {
      const lock = new DirLock(path, openFree(path, dir));
      held.add(path);
      try {
        lock.writeOwner();
      } catch (error) {
        // A new lock on a full disk gets its pid once the buffer has made room (SegmentQueue does so).
        if (!isNoSpace(error)) {
          lock.release();
          throw error;
        }
      }
      return lock;
    } finally {
      rmSync(guard, { force: true });
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

/** Opens the lock file when it is free (new, released, or its owner gone); throws when a live process holds it. */
function openFree(path: string, dir: string): number {
  for (;;) {
    try {
      return openSync(path, 'wx');
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
    }
    const owner = readPid(path);
    // Released and removed between our two looks: try again.
    if (owner === undefined) continue;
    const inUse = owner === process.pid ? held.has(path) : owner > 0 && isAlive(owner);
    if (inUse) throw new Error(`the buffer in ${dir} is in use by process ${owner} (another gateway on the same data_dir?)`);
    return openSync(path, 'r+');
  }
}

/** Creates the guard file exclusively, waiting while another process claims; returns its path. */
function claimGuard(guard: string): string {
  const deadline = performance.now() + GUARD_WAIT_MS;
  for (;;) {
    try {
      const fd = openSync(guard, 'wx');
      try {
        writeSync(fd, String(process.pid));
      } catch (error) {
        // Without room for the pid, the guard still excludes; only its staleness shows later.
        if (!isNoSpace(error)) throw error;
      } finally {
        closeSync(fd);
      }
      return guard;
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
    }
    const owner = readPid(guard);
    if (owner === undefined) continue;
    // Our own pid on a guard can only be a predecessor's (a claim never outlives the call that made it).
    const abandoned = owner === process.pid || (owner > 0 && !isAlive(owner)) || performance.now() > deadline;
    if (abandoned) rmSync(guard, { force: true });
    else sleepSync(GUARD_POLL_MS);
  }
}

/** The pid a lock or guard file names (0 when released, empty or unreadable), or undefined when it is gone. */
function readPid(path: string): number | undefined {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw error;
  }
  const pid = Number(text.trim());
  return Number.isSafeInteger(pid) && pid > 0 ? pid : 0;
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

/** Blocks the thread: a claim is synchronous, and waits only while another process is inside its few microseconds. */
function sleepSync(ms: number): void {
  Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, ms);
}
