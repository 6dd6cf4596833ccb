import { statfsSync } from 'node:fs';

/** ENOSPC (the file system is full) or EDQUOT (the user's quota is): either way, no byte more fits. */
export function isNoSpace(error: unknown): boolean {
  const code = (error as NodeJS.ErrnoException | undefined)?.code;
  return code === 'ENOSPC' || code === 'EDQUOT';
}

/**
 * The buffer could not store anything: the disk is full and the buffer holds nothing of its own left to drop (the
 * space is taken by other files). A QoS 1 sender is told so and not acknowledged; it sends again later.
 */
export class NoSpaceError extends Error {
  readonly code = 'ENOSPC';

  constructor(dir: string, cause: unknown) {
    super(`cannot be stored: no space left on the data disk (${dir}), and the buffer holds nothing older to drop`, { cause });
    this.name = 'NoSpaceError';
  }
}

/** Size and free space of the file system holding `path`, in bytes. */
export function diskSpace(path: string): { total: number; free: number } {
  const stats = statfsSync(path);
  return { total: stats.blocks * stats.bsize, free: stats.bavail * stats.bsize };
}
