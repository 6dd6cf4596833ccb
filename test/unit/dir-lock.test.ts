/** The buffer's pid lock on a real file system: guards left behind by a dead claimant, and a full disk. */
import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { DirLock } from '../../gateway/buffer/dir-lock.js';
import { canMountTmpfs, fillDisk, mountTmpfs, unmountTmpfs } from '../support/tmpfs.js';

const dirs: string[] = [];
const mounts: string[] = [];

function tempDir(): string {
  const dir = mkdtempSync(join(tmpdir(), 'dir-lock-'));
  dirs.push(dir);
  return dir;
}

/** A pid that was just in use and is now free (its process has exited). */
function deadPid(): number {
  return spawnSync(process.execPath, ['-e', '']).pid!;
}

afterEach(() => {
  for (const dir of mounts.splice(0)) unmountTmpfs(dir);
  for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true });
});

describe('DirLock', () => {
  it('writes its pid when claimed, refuses a second claim, and is free again after release', () => {
    const dir = tempDir();
    const lock = DirLock.acquire(dir);
    expect(readFileSync(join(dir, 'lock'), 'utf8').trim()).toBe(String(process.pid));
    expect(() => DirLock.acquire(dir)).toThrow(`in use by process ${process.pid}`);
    lock.release();
    expect(readFileSync(join(dir, 'lock'), 'utf8').trim()).toBe('0');
    DirLock.acquire(dir).release();
  });

  it('clears at once a claim guard left by a process that died while claiming', () => {
    const dir = tempDir();
    writeFileSync(join(dir, 'lock'), String(deadPid()));
    writeFileSync(join(dir, 'lock.claim'), String(deadPid()));
    const started = performance.now();
    DirLock.acquire(dir).release();
    expect(performance.now() - started).toBeLessThan(1000);
  });

  it('clears a claim guard without a pid (written on a full disk) after a short wait', () => {
    const dir = tempDir();
    writeFileSync(join(dir, 'lock.claim'), '');
    const started = performance.now();
    DirLock.acquire(dir).release();
    const waited = performance.now() - started;
    expect(waited).toBeGreaterThanOrEqual(1900);
    expect(waited).toBeLessThan(10_000);
  });
});

describe.skipIf(!canMountTmpfs)('DirLock on a full disk (mounts a small tmpfs: needs root)', () => {
  it('takes a new lock and retakes a released one with not a byte free', () => {
    const disk = join(tempDir(), 'disk');
    mountTmpfs(disk, '256k');
    mounts.push(disk);
    const released = join(disk, 'released');
    mkdirSync(released);
    DirLock.acquire(released).release();
    const fresh = join(disk, 'fresh');
    mkdirSync(fresh);
    fillDisk(disk);

    const retaken = DirLock.acquire(released);
    expect(readFileSync(join(released, 'lock'), 'utf8').trim()).toBe(String(process.pid));
    retaken.release();
    // No block for its pid yet: claimed all the same, and removed on release so that it holds nothing.
    DirLock.acquire(fresh).release();
    expect(() => readFileSync(join(fresh, 'lock'))).toThrow(/ENOENT/);
  });
});
