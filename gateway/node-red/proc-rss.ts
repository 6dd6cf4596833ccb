import { readFile } from 'node:fs/promises';

/** A process's resident memory in bytes, from /proc/<pid>/status (Linux); undefined when it cannot be read. */
export async function residentBytes(pid: number): Promise<number | undefined> {
  let status: string;
  try {
    status = await readFile(`/proc/${pid}/status`, 'utf8');
  } catch {
    // The process has just exited, or this is no Linux: there is no figure to give.
    return undefined;
  }
  const match = /^VmRSS:\s+(\d+)\s+kB$/m.exec(status);
  return match ? Number(match[1]) * 1024 : undefined;
}
