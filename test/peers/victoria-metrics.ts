import { spawn } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { freePort } from './net.js';
import { collectText, stopChild, waitServerReady, type RestartableServerOptions } from './process.js';

const VICTORIA_METRICS = '/usr/bin/victoria-metrics';
const STOP_GRACE_MS = 10_000;
const REQUEST_TIMEOUT_MS = 10_000;
const PORT_ATTEMPTS = 5;

export type VictoriaMetricsOptions = RestartableServerOptions;

/** One line of /api/v1/export. */
export interface VmSeries {
  /** `__name__` (`<measurement>_<field>` for Influx line protocol) and the labels. */
  metric: Record<string, string>;
  values: number[];
  /** Epoch milliseconds, ascending. */
  timestamps: number[];
}

/** A real VictoriaMetrics 1.79 (Debian `victoria-metrics`): accepts the InfluxDB v2 write API (`/api/v2/write`). */
export interface VictoriaMetrics {
  /** http://127.0.0.1:PORT */
  readonly url: string;
  readonly port: number;
  /** Its -storageDataPath, a temp dir. Pass it back to startVictoriaMetrics to restart on the same data. */
  readonly dataDir: string;
  /** The tail of its log (stderr). Rows it drops (outside retention, unparsable) are only reported here. */
  readonly log: string;
  /**
   * GET /api/v1/export?match[]=SELECTOR, parsed JSON lines. Calls flush() first unless `{ flush: false }`: a new
   * series otherwise takes up to ~10 s to become visible. Points still need a moment: poll with waitFor.
   */
  exportSeries(selector: string, opts?: { flush?: boolean }): Promise<VmSeries[]>;
  /** GET /internal/force_flush: makes recently written rows searchable sooner. */
  flush(): Promise<void>;
  /** SIGTERM, bounded wait, then SIGKILL. Keeps the data dir. Idempotent. */
  stop(): Promise<void>;
  /** SIGKILL: rows not yet flushed to disk (the last second or two) are lost. Idempotent. */
  kill(): Promise<void>;
  /** stop() and delete the data dir. Idempotent. */
  remove(): Promise<void>;
}

export async function startVictoriaMetrics(opts: VictoriaMetricsOptions = {}): Promise<VictoriaMetrics> {
  const dataDir = opts.dataDir ?? (await mkdtemp(join(tmpdir(), 'victoria-metrics-')));
  try {
    // Probing for a free port can race with another process: retry on "address in use" unless the port was given.
    for (let attempt = 1; ; attempt++) {
      const port = opts.port ?? (await freePort());
      try {
        return await launch(dataDir, port);
      } catch (error) {
        const inUse = error instanceof Error && /address already in use/i.test(error.message);
        if (!inUse || opts.port !== undefined || attempt >= PORT_ATTEMPTS) throw error;
      }
    }
  } catch (error) {
    if (opts.dataDir === undefined) await rm(dataDir, { recursive: true, force: true });
    throw error;
  }
}

async function launch(dataDir: string, port: number): Promise<VictoriaMetrics> {
  const url = `http://127.0.0.1:${port}`;
  const args = [
    `-httpListenAddr=127.0.0.1:${port}`,
    `-storageDataPath=${dataDir}`,
    // The default retention (1 month) silently drops older rows (HTTP 204, a warning in the log): tests use fixed
    // timestamps, so keep everything.
    '-retentionPeriod=100y',
    // Serve the newest points at once instead of hiding the last 30 s, and never from a stale response cache.
    '-search.latencyOffset=0s',
    '-search.disableCache',
  ];
  const child = spawn(VICTORIA_METRICS, args, { stdio: ['ignore', 'ignore', 'pipe'] });
  const spawnFailed = new Promise<Error>((resolve) => child.once('error', resolve));
  const log = collectText(child.stderr);
  await waitServerReady({
    name: 'victoria-metrics',
    child,
    stderr: child.stderr,
    log,
    spawnFailed,
    what: '/health answering OK',
    probe: async () => {
      const res = await fetch(`${url}/health`, { signal: AbortSignal.timeout(2_000) });
      return res.status === 200 && (await res.text()).trim() === 'OK';
    },
  });

  const get = async (path: string): Promise<string> => {
    const res = await fetch(`${url}${path}`, { signal: AbortSignal.timeout(REQUEST_TIMEOUT_MS) });
    const text = await res.text();
    if (!res.ok) throw new Error(`VictoriaMetrics ${res.status} for ${path}: ${text.slice(0, 500)}`);
    return text;
  };
  const flush = async (): Promise<void> => {
    await get('/internal/force_flush');
  };
  let removed: Promise<void> | undefined;
  const stop = (): Promise<void> => stopChild(child, 'SIGTERM', STOP_GRACE_MS);
  return {
    url,
    port,
    dataDir,
    get log() {
      return log.text;
    },
    async exportSeries(selector, { flush: flushFirst = true } = {}) {
      if (flushFirst) await flush();
      const text = await get(`/api/v1/export?${new URLSearchParams({ 'match[]': selector })}`);
      return text
        .split('\n')
        .filter((line) => line.trim() !== '')
        .map((line) => JSON.parse(line) as VmSeries);
    },
    flush,
    stop,
    kill: () => stopChild(child, 'SIGKILL'),
    async remove() {
      await stop();
      await (removed ??= rm(dataDir, { recursive: true, force: true }));
    },
  };
}
