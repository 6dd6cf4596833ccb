/**
 * What the kernel says about a process, read from /proc: the same measure for every process a bench compares (the
 * gateway, Mosquitto, Node-RED), whatever it is written in, and without anything loaded into it.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { setPriority } from 'node:os';

/** Linux reports process CPU times in USER_HZ ticks, 100 a second on every mainstream architecture. */
const TICKS_PER_SECOND = 100;

/** User + system CPU seconds the process has used so far, all its threads included (worker threads, libuv pool). */
export function cpuSeconds(pid: number): number {
  // utime and stime are the 12th and 13th fields after the parenthesised command name (which may hold spaces).
  const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]?.split(' ') ?? [];
  return (Number(fields[11]) + Number(fields[12])) / TICKS_PER_SECOND;
}

/** Resident memory now (VmRSS) and its high-water mark since the process started (VmHWM), in bytes. */
export function memory(pid: number): { rss: number; peakRss: number } {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  const kib = (key: string): number => Number(new RegExp(`^${key}:\\s+(\\d+)`, 'm').exec(status)?.[1] ?? NaN) * 1024;
  return { rss: kib('VmRSS'), peakRss: kib('VmHWM') };
}

/** The box's CPU time so far, in USER_HZ ticks over all CPUs: all of it, the idle part, and what the hypervisor took (steal). */
export interface BoxCpu {
  readonly total: number;
  readonly idle: number;
  readonly steal: number;
}

export function boxCpu(): BoxCpu {
  // The first line of /proc/stat: "cpu  user nice system idle iowait irq softirq steal guest guest_nice".
  const fields = readFileSync('/proc/stat', 'utf8').split('\n', 1)[0]!.trim().split(/\s+/).slice(1, 9).map(Number);
  return { total: fields.reduce((sum, ticks) => sum + ticks, 0), idle: (fields[3] ?? 0) + (fields[4] ?? 0), steal: fields[7] ?? 0 };
}

/**
 * The share of the box's CPU time a virtual machine's hypervisor gave to other guests between two readings: on a
 * shared host the same work then takes longer and costs more CPU time, so a run's figures are read beside it.
 */
export function stealShare(before: BoxCpu, after: BoxCpu): number {
  const total = after.total - before.total;
  return total > 0 ? (after.steal - before.steal) / total : 0;
}

/** The share of the box's CPU time something ran between two readings (not idle, not waiting for I/O, not stolen). */
export function busyShare(before: BoxCpu, after: BoxCpu): number {
  const total = after.total - before.total;
  return total > 0 ? (total - (after.idle - before.idle) - (after.steal - before.steal)) / total : 0;
}

/**
 * Seconds the process's main thread has spent runnable but waiting for a core, so far (/proc/PID/schedstat, the
 * kernel's run-queue wait). Whatever arrives meanwhile, an alarm too, waits as long: on a box whose cores are all busy
 * this, not the process's own work, is what lengthens a latency's tail.
 */
export function runQueueWaitSeconds(pid: number): number {
  // "time on a CPU, time waiting on a run queue, timeslices", in nanoseconds, for the thread whose id is the pid.
  return Number(readFileSync(`/proc/${pid}/schedstat`, 'utf8').split(' ')[1]) / 1e9;
}

/**
 * Sets the nice value of each of a process's threads; false where the bench may not (raising a priority needs root or
 * CAP_SYS_NICE). Linux keeps a priority per thread, and a process's helpers (V8's garbage-collection and compiler
 * threads, libuv's pool) start with it: renicing the pid alone would leave them behind, and the main thread may wait
 * for them at a collection. A systemd unit's `Nice=` is set before exec, so there every thread has it.
 */
export function setNice(pid: number, nice: number): boolean {
  try {
    for (const thread of readdirSync(`/proc/${pid}/task`)) setPriority(Number(thread), nice);
    return true;
  } catch {
    return false;
  }
}
