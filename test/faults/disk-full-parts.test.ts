/**
 * The parts that write under `data_dir`, each on a real full file system (a 2 MB tmpfs): the InfluxDB sink (buffer and
 * forwarder, against a real InfluxDB 1.6.7) and the alert store. In-process, so their health and logs can be read
 * exactly; test/faults/disk-full.test.ts runs the whole gateway.
 */
import { existsSync, mkdtempSync, readFileSync, rmSync, unlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { AlertStore } from '../../gateway/alerts/alert-store.js';
import type { ActiveAlert } from '../../gateway/alerts/engine.js';
import { NoSpaceError } from '../../gateway/buffer/no-space.js';
import type { InfluxConfig } from '../../gateway/influx/config.js';
import { InfluxSink } from '../../gateway/influx/influx-sink.js';
import type { Reading } from '../../gateway/model.js';
import { createLogger } from '../../gateway/util/log.js';
import { startInfluxDb1, type InfluxDb1 } from '../peers/influxdb.js';
import { freePort, waitFor } from '../peers/net.js';
import { canMountTmpfs, fillDisk, mountTmpfs, unmountTmpfs } from '../support/tmpfs.js';

let dir = '';
let dataDir = '';
let influx: InfluxDb1 | undefined;
let sink: InfluxSink | undefined;
const logs: string[] = [];
const log = createLogger({ level: 'debug', sink: { write: (line) => logs.push(line) } });

beforeEach(() => {
  if (!canMountTmpfs) return;
  dir = mkdtempSync(join(tmpdir(), 'gw-full-parts-'));
  dataDir = join(dir, 'data');
  mountTmpfs(dataDir, '2m');
  logs.length = 0;
});
afterEach(async () => {
  try {
    await sink?.close();
  } finally {
    sink = undefined;
    await influx?.remove();
    influx = undefined;
    if (canMountTmpfs) {
      unmountTmpfs(dataDir);
      rmSync(dir, { recursive: true, force: true });
    }
  }
});

describe.skipIf(!canMountTmpfs)('the InfluxDB sink on a full data disk (mounts a 2 MB tmpfs: needs root)', () => {
  let port = 0;
  beforeAll(async () => {
    port = await freePort();
  });

  const config = (): InfluxConfig => ({
    url: `http://127.0.0.1:${port}`,
    api: 'v1',
    database: 'city',
    create_database: true,
    batch_size: 1000,
    flush_interval: 50,
    timeout: 5000,
    gzip: true,
    retry_initial: 50,
    retry_max: 300,
    buffer: { max_size: 512 * 1024 ** 2, fsync: 'interval', fsync_interval: 1000 },
  });
  let ts = Date.now() - 3_600_000;
  /** `count` readings of distinct timestamps, each ~70 bytes of line protocol. */
  const readings = (count: number): Reading[] => Array.from({ length: count }, () => ({ device: 'gauge-1', domain: 'water', metric: 'level', value: 1.5, ts: ts++, quality: 'good' as const }));
  const stored = async (): Promise<number> => ((await influx!.query('SELECT COUNT(level) FROM water', 'city'))[0]?.values[0]?.[1] as number | undefined) ?? 0;

  it('commits progress on a full disk: the backlog drains and the forwarder never stops', { timeout: 120_000 }, async () => {
    sink = InfluxSink.start(config(), 'lab', dataDir, log); // InfluxDB is down: nothing listens on the port yet
    for (let i = 0; i < 50; i++) await sink.write(readings(100));
    fillDisk(dataDir); // another program takes every byte left

    influx = await startInfluxDb1({ port });
    await waitFor(async () => (sink!.health().backlog === 0 && (await stored()) === 5000 ? true : undefined), { what: '5,000 readings in InfluxDB', timeoutMs: 60_000 });
    expect(sink.health()).toMatchObject({ state: 'ok', unexpectedErrors: 0, dropped: 0 });
  });

  it('drops the oldest to make room (counted, by reason), resumes by itself, and refuses (counted) when nothing is left to drop', { timeout: 120_000 }, async () => {
    sink = InfluxSink.start(config(), 'lab', dataDir, log);
    // 60,000 readings (~4 MB) into 2 MB while InfluxDB is down.
    let written = 0;
    for (let i = 0; i < 600; i++, written += 100) await sink.write(readings(100));
    const during = sink.health();
    expect(during.droppedBy.diskFull).toBeGreaterThan(0);
    expect(during).toMatchObject({ diskFull: true, dropped: during.droppedBy.diskFull, notStored: 0 });
    expect(logs.some((line) => line.includes('data disk full: dropped the oldest readings to make room'))).toBe(true);

    influx = await startInfluxDb1({ port });
    await waitFor(async () => (sink!.health().backlog === 0 && (await stored()) + sink!.health().droppedBy.diskFull === written ? true : undefined), {
      what: 'every reading in InfluxDB or counted as dropped',
      timeoutMs: 60_000,
    });
    expect(sink.health()).toMatchObject({ state: 'ok', unexpectedErrors: 0, diskFull: false });

    // The buffer is empty and has given its room back; another program takes it all: nothing can be stored.
    fillDisk(dataDir, 'filler-2');
    expect(() => sink!.write(readings(100))).toThrow(NoSpaceError);
    expect(sink.health()).toMatchObject({ notStored: 100, diskFull: true });
  });
});

describe.skipIf(!canMountTmpfs)('the alert store on a full data disk (mounts a 2 MB tmpfs: needs root)', () => {
  const alert = (id: string): ActiveAlert => ({ id, rule: 'high', device: 'gauge-1', metric: 'level', domain: 'water', unit: 'm', tags: undefined, state: 'firing', since: 1, value: 3, acknowledged: undefined }) as ActiveAlert;

  it('keeps the alerts in memory, logs the failure once per interval, and catches up once there is room', { timeout: 60_000 }, async () => {
    // Short retries: however long this box stalls before the disk has room again (the backoff grows meanwhile; it
    // reached past the 10 s below in a CI run with the default minute-long bound), the next try comes within 400 ms.
    const store = new AlertStore(join(dataDir, 'alerts', 'active.json'), log, { initialMs: 50, maxMs: 400 });
    const filler = fillDisk(dataDir);
    let active: ActiveAlert[] = [];
    for (let i = 0; i < 20; i++) {
      active = [...active, alert(`a${i}`)];
      store.save(() => active);
      await new Promise((resolve) => setImmediate(resolve));
    }
    // One save per turn: the first fails, the rest wait for its retry; the failure is told once per interval.
    const failures = (): string[] => logs.filter((line) => line.includes('cannot save the active alerts'));
    await waitFor(() => (failures().length > 0 ? true : undefined), { what: 'the failed save logged', timeoutMs: 10_000 });
    expect(failures()).toHaveLength(1);
    expect(existsSync(store.path)).toBe(false);

    unlinkSync(filler);
    // The recovery is logged once the renamed file is in place; waiting for the file alone raced the log line.
    const recovered = (): boolean => logs.some((line) => line.includes('active alerts saved again'));
    await waitFor(() => (recovered() ? true : undefined), { what: 'the alerts saved once there is room', timeoutMs: 10_000 });
    expect(existsSync(store.path)).toBe(true);
    expect((JSON.parse(readFileSync(store.path, 'utf8')) as ActiveAlert[]).map((a) => a.id)).toEqual(active.map((a) => a.id));
    expect(recovered()).toBe(true);
  });
});
