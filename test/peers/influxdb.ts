import { spawn } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { freePort } from './net.js';
import { collectText, stopChild, waitServerReady, type RestartableServerOptions } from './process.js';

const INFLUXD = '/usr/bin/influxd';
/** influxd closes its shards and WAL on SIGTERM; give it longer than the default before SIGKILL. */
const STOP_GRACE_MS = 10_000;
const REQUEST_TIMEOUT_MS = 10_000;
const PORT_ATTEMPTS = 5;

export type InfluxDbOptions = RestartableServerOptions;

/** One series of an InfluxQL answer. With `epoch=ms`, the `time` column holds epoch milliseconds. */
export interface InfluxSeries {
  name: string;
  tags?: Record<string, string>;
  columns: string[];
  values: unknown[][];
}

/** A real InfluxDB 1.6.7 (Debian `influxdb`): the v1 `/write` and `/query` API, no `/api/v2/write`. */
export interface InfluxDb1 {
  /** http://127.0.0.1:PORT */
  readonly url: string;
  readonly port: number;
  /** The influxd process id (to freeze it with SIGSTOP and thaw it with SIGCONT). */
  readonly pid: number;
  /** Its temp dir: config, meta, data and WAL. Pass it back to startInfluxDb1 to restart on the same data. */
  readonly dataDir: string;
  /** The tail of its log (influxd logs to stderr). */
  readonly log: string;
  /** GET /query?db=..&q=..&epoch=ms; the series of all statements, in order. Throws on any error in the answer. */
  query(q: string, db?: string): Promise<InfluxSeries[]>;
  /** POST /query with q=CREATE DATABASE "name" (a no-op when it exists). */
  createDatabase(name: string): Promise<void>;
  /** POST /query with q=DROP DATABASE "name": its points go, and no compaction of them runs later. */
  dropDatabase(name: string): Promise<void>;
  /** SIGTERM, bounded wait, then SIGKILL. Keeps the data dir. Idempotent. */
  stop(): Promise<void>;
  /** SIGKILL (a power cut): the WAL is fsynced on every write, so acknowledged points survive. Idempotent. */
  kill(): Promise<void>;
  /** stop() and delete the data dir. Idempotent. */
  remove(): Promise<void>;
}

export async function startInfluxDb1(opts: InfluxDbOptions = {}): Promise<InfluxDb1> {
  const dataDir = opts.dataDir ?? (await mkdtemp(join(tmpdir(), 'influxdb-')));
  try {
    // Probing for free ports can race with another process: retry on "address in use", except on a port we were given.
    for (let attempt = 1; ; attempt++) {
      const port = opts.port ?? (await freePort());
      let rpcPort = await freePort();
      while (rpcPort === port) rpcPort = await freePort();
      try {
        return await launch(dataDir, port, rpcPort);
      } catch (error) {
        const clash = error instanceof Error ? /listen tcp4? (\S+): bind: address already in use/i.exec(error.message) : null;
        const retry = clash !== null && (opts.port === undefined || clash[1] !== `127.0.0.1:${port}`);
        if (!retry || attempt >= PORT_ATTEMPTS) throw error;
      }
    }
  } catch (error) {
    if (opts.dataDir === undefined) await rm(dataDir, { recursive: true, force: true });
    throw error;
  }
}

function configText(dataDir: string, port: number, rpcPort: number): string {
  return `# Written by test/peers/influxdb.ts
# Upstream 1.x spells it reporting-disabled; Debian's build reads reporting-enabled (default false) and ignores unknown keys.
reporting-disabled = true
reporting-enabled = false
bind-address = "127.0.0.1:${rpcPort}"

[meta]
  dir = ${JSON.stringify(join(dataDir, 'meta'))}

[data]
  dir = ${JSON.stringify(join(dataDir, 'data'))}
  wal-dir = ${JSON.stringify(join(dataDir, 'wal'))}
  wal-fsync-delay = "0s"
  query-log-enabled = false

[http]
  enabled = true
  bind-address = "127.0.0.1:${port}"
  log-enabled = false

[monitor]
  store-enabled = false

[continuous_queries]
  enabled = false

[subscriber]
  enabled = false
`;
}

async function launch(dataDir: string, port: number, rpcPort: number): Promise<InfluxDb1> {
  const configFile = join(dataDir, 'influxdb.conf');
  await writeFile(configFile, configText(dataDir, port, rpcPort));
  const url = `http://127.0.0.1:${port}`;

  const child = spawn(INFLUXD, ['-config', configFile], { stdio: ['ignore', 'ignore', 'pipe'] });
  const spawnFailed = new Promise<Error>((resolve) => child.once('error', resolve));
  const log = collectText(child.stderr);
  await waitServerReady({
    name: 'influxd',
    child,
    stderr: child.stderr,
    log,
    spawnFailed,
    what: '/ping answering 204',
    probe: async () => {
      const res = await fetch(`${url}/ping`, { signal: AbortSignal.timeout(2_000) });
      await res.arrayBuffer();
      return res.status === 204;
    },
  });

  let removed: Promise<void> | undefined;
  const stop = (): Promise<void> => stopChild(child, 'SIGTERM', STOP_GRACE_MS);
  return {
    url,
    port,
    pid: child.pid!,
    dataDir,
    get log() {
      return log.text;
    },
    async query(q, db) {
      const params = new URLSearchParams({ q, epoch: 'ms' });
      if (db !== undefined) params.set('db', db);
      const body = await influxJson(await fetch(`${url}/query?${params}`, { signal: AbortSignal.timeout(REQUEST_TIMEOUT_MS) }), q);
      return (body.results ?? []).flatMap((result) => result.series ?? []);
    },
    createDatabase: (name) => post(url, `CREATE DATABASE ${quoted(name)}`),
    dropDatabase: (name) => post(url, `DROP DATABASE ${quoted(name)}`),
    stop,
    kill: () => stopChild(child, 'SIGKILL'),
    async remove() {
      await stop();
      await (removed ??= rm(dataDir, { recursive: true, force: true }));
    },
  };
}

/** An InfluxQL identifier in double quotes. */
function quoted(name: string): string {
  return `"${name.replace(/["\\]/g, '\\$&')}"`;
}

/** POST /query: the statements that change something (GET takes only SELECT and SHOW). */
async function post(url: string, q: string): Promise<void> {
  const res = await fetch(`${url}/query`, { method: 'POST', body: new URLSearchParams({ q }), signal: AbortSignal.timeout(REQUEST_TIMEOUT_MS) });
  await influxJson(res, q);
}

interface QueryAnswer {
  error?: string;
  results?: { statement_id?: number; error?: string; series?: InfluxSeries[] }[];
}

/** The JSON of a /query answer; throws on an HTTP error or an error at the top or in any statement. */
async function influxJson(res: Response, q: string): Promise<QueryAnswer> {
  const text = await res.text();
  let body: QueryAnswer;
  try {
    body = JSON.parse(text) as QueryAnswer;
  } catch {
    throw new Error(`InfluxDB ${res.status} for ${JSON.stringify(q)}: ${text.slice(0, 500)}`);
  }
  const errors = [body.error, ...(body.results ?? []).map((result) => result.error)].filter((e) => e !== undefined);
  if (!res.ok || errors.length > 0) {
    throw new Error(`InfluxDB ${res.status} for ${JSON.stringify(q)}: ${errors.join('; ') || text.slice(0, 500)}`);
  }
  return body;
}

