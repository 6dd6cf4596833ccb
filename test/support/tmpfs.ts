import { execFileSync } from 'node:child_process';
import { closeSync, mkdirSync, openSync, writeSync } from 'node:fs';
import { join } from 'node:path';

/** Mounting a tmpfs needs root (as here and in CI); the full-disk tests skip, saying so, without it. */
export const canMountTmpfs = process.getuid?.() === 0;

/** A real small file system, so writes meet a real ENOSPC: `mount -t tmpfs -o size=SIZE tmpfs DIR`. */
export function mountTmpfs(dir: string, size: string): void {
  mkdirSync(dir, { recursive: true });
  execFileSync('mount', ['-t', 'tmpfs', '-o', `size=${size}`, 'tmpfs', dir]);
}

/** Lazily, so a teardown after a failed test (files still open) does not leave the mount behind. */
export function unmountTmpfs(dir: string): void {
  execFileSync('umount', ['--lazy', dir]);
}

/** Fills what is left of the file system with one file (another program's data, say); returns its path. */
export function fillDisk(dir: string, name = 'filler'): string {
  const path = join(dir, name);
  const fd = openSync(path, 'w');
  const chunk = Buffer.alloc(4096, 1);
  try {
    for (;;) writeSync(fd, chunk);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'ENOSPC') throw error;
  } finally {
    closeSync(fd);
  }
  return path;
}
