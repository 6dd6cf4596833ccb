/**
 * A line-based serial device pulled under a fast stream: a writer process floods numbered lines through socat, and
 * socat (the adapter) is killed. The port must not spin on the vanished pty, must be reopened once the adapter is
 * back, and every line read must become a reading. A device that merely falls silent gets its port reopened too.
 * The gateway runs as its own process; a Modbus TCP device is the "other device" that must stay on schedule.
 */
import { mkdtemp, open, rm } from 'node:fs/promises';
import { constants } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startModbusSlave, type ModbusSlave } from '../peers/modbus-slave.js';
import { startPtyPair, type PtyPair } from '../peers/socat.js';
import { waitFor } from '../peers/net.js';
import { startTtyFlood, type TtyFlood } from '../peers/tty-flood.js';
import { cpuShareOver, largestGap, startFaultGateway, until, type FaultGateway, type Sample } from './driver-rig.js';

const TCP_INTERVAL = 200;
const PULLS = 3;

/** Readings of one flood run are numbered 0, 1, 2...: none may be missing between the first and the last seen. */
function gapsIn(samples: readonly Sample[]): number[] {
  const seqs = samples.map((s) => s.value as number);
  return seqs.slice(1).filter((seq, i) => seq !== seqs[i]! + 1);
}

describe('serial-line port pulled under a fast stream', () => {
  let dir: string;
  let probe: PtyPair;
  let quiet: PtyPair;
  let flood: TtyFlood;
  let tcpSlave: ModbusSlave;
  let gw: FaultGateway;

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'gw-line-pull-'));
    probe = await startPtyPair(join(dir));
    quiet = await startPtyPair(await mkdtemp(join(dir, 'quiet-')));
    tcpSlave = await startModbusSlave({ spec: { units: { 1: { holding: { 0: 7 } } } } });
    const csv = `{ type: csv, columns: { 1: { metric: seq } } }`;
    gw = await startFaultGateway(`devices:
  - { name: probe, driver: serial-line, port: ${probe.gatewayPath}, domain: water, reopen_max: 500ms, stale_after: 2s, parser: ${csv} }
  - { name: quiet, driver: serial-line, port: ${quiet.gatewayPath}, domain: water, reopen_max: 500ms, stale_after: 500ms, reopen_silent_after: 1s, parser: ${csv} }
  - { name: pump, driver: modbus-tcp, host: 127.0.0.1, port: ${tcpSlave.port}, domain: water, poll_interval: ${TCP_INTERVAL}ms, timeout: 500ms, points: [{ name: level, address: 0 }] }
`);
  });
  afterAll(async () => {
    await flood?.stop();
    await gw?.stop();
    await tcpSlave?.stop();
    await probe?.stop();
    await quiet?.stop();
    await rm(dir, { recursive: true, force: true });
  });

  it('reopens the port after each pull without spinning, and loses no line it read', async () => {
    const runs: Sample[][] = [];
    const cpu: number[] = [];
    const resumedAfter: number[] = [];
    const started = Date.now();
    // Faster than the gateway takes the lines: the pty's buffer is full when the adapter goes, as with a chatty
    // device at a high baud rate (the case where the read loop spun).
    flood = startTtyFlood(probe.devicePath, { format: 'S,{seq}\\n', batch: 50, pauseMs: 1 });
    for (let pull = 1; pull <= PULLS; pull++) {
      const from = gw.samples('probe', 'seq').length;
      await until(() => (gw.samples('probe', 'seq').length >= from + 500 ? true : undefined), `the flood flowing through the gateway (pull ${pull})`, 30_000);
      await probe.kill();
      await flood.ended;
      await until(() => (gw.state('probe') === 'offline' ? true : undefined), `probe offline after pull ${pull}`);
      // Measured once the lines read before the pull have all been published: the port is gone, nothing arrives.
      let last = -1;
      const settled = () => {
        const now = gw.samples('probe', 'seq').length;
        const still = now === last;
        last = now;
        return still ? true : undefined;
      };
      await waitFor(settled, { intervalMs: 300, what: 'the last lines before the pull published' });
      runs.push(gw.samples('probe', 'seq').slice(from));
      cpu.push(await cpuShareOver(gw, 2000));
      gw.expectAlive();
      const replugged = Date.now();
      probe = await startPtyPair(dir);
      flood = startTtyFlood(probe.devicePath, { format: 'S,{seq}\\n', batch: 50, pauseMs: 1 });
      const seen = gw.samples('probe', 'seq').length;
      const back = await until(() => gw.samples('probe', 'seq')[seen], `readings resumed after replug ${pull} (CPU while the port was gone: ${cpu.at(-1)!.toFixed(1)}% of a core)`, 30_000);
      resumedAfter.push(back.seenAt - replugged);
    }
    const ended = Date.now();
    const pumpGap = largestGap(gw.samples('pump', 'level'), started, ended);
    console.info(
      `serial-line pulls under a flood: ${runs.map((r) => r.length).join(', ')} lines read before each pull; gateway CPU while the port was gone ` +
        `${cpu.map((c) => c.toFixed(1)).join(', ')}% of a core (2 s each); readings resumed ${resumedAfter.join(', ')} ms after each replug; ` +
        `other device's largest gap ${pumpGap} ms (interval ${TCP_INTERVAL} ms)`,
    );
    gw.expectAlive();
    // The spinning read loop took 85-90 %.
    for (const share of cpu) expect(share).toBeLessThan(30);
    // Every line of each run that reached the gateway became a reading, in order.
    for (const run of runs) expect(gapsIn(run)).toEqual([]);
    expect(pumpGap).toBeLessThan(TCP_INTERVAL * 5);
    await until(() => (gw.state('probe') === 'online' ? true : undefined), 'probe online again');
  });

  it('closes and reopens the port of a device that has been silent for reopen_silent_after', async () => {
    const end = await open(quiet.devicePath, constants.O_WRONLY | constants.O_NOCTTY);
    // The quiet port is closed and reopened every reopen_silent_after, and a line written while it is closed is
    // flushed when it opens again: the device repeats its line until the gateway has read it, as a meter would.
    const sayUntilRead = async (seq: number, what: string): Promise<void> => {
      const read = () => gw.samples('quiet', 'seq').some((sample) => sample.value === seq);
      await until(async () => {
        if (read()) return true;
        await end.write(`S,${seq}\n`);
        await new Promise((done) => setTimeout(done, 200));
        return read() ? true : undefined;
      }, what);
    };
    try {
      await sayUntilRead(1, "the quiet device's line");
      const opensBefore = gw.process.output().match(/"port open" device=quiet/g)?.length ?? 0;
      await until(() => (gw.process.output().includes('no data for 1 s') ? true : undefined), 'the silence noticed');
      await until(() => ((gw.process.output().match(/"port open" device=quiet/g)?.length ?? 0) > opensBefore ? true : undefined), 'the port reopened');
      await sayUntilRead(2, 'a line read through the reopened port');
    } finally {
      await end.close();
    }
    gw.expectAlive();
  });
});
