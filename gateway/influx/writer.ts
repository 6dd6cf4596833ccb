import { HttpError, InfluxDB, type Transport } from '@influxdata/influxdb-client';
import type { InfluxConfig } from './config.js';
import { WriteRecorder, type WriteStats } from './write-stats.js';

/** What became of one write request; the forwarder decides what to do about each kind. */
export type WriteOutcome =
  | { readonly kind: 'ok' }
  /** The server is down, overloaded or unreachable: send the same lines again later. */
  | { readonly kind: 'retry'; readonly reason: string; readonly retryAfterMs?: number }
  /** The credentials are refused: nothing will get through until someone fixes them. */
  | { readonly kind: 'unauthorized'; readonly reason: string }
  /** The database/bucket or the endpoint does not exist (e.g. a 1.x server before 1.8 asked for /api/v2/write). */
  | { readonly kind: 'not_found'; readonly reason: string }
  /** The server refuses these lines (a field type conflict, a parse error, too large): resending them is futile. */
  | { readonly kind: 'rejected'; readonly status: number; readonly reason: string };

/**
 * Sends line protocol to InfluxDB over the client library's transport (keep-alive, gzip, timeout), on either write
 * API: v2 `/api/v2/write` (org, bucket, token) or v1 `/write` (db, rp, user/password) for 1.x servers before 1.8.
 * It never retries by itself; the forwarder owns retries, backoff and the durable buffer.
 */
export class InfluxWriter {
  private readonly transport: Transport;
  private readonly path: string;
  private readonly headers: Record<string, string>;
  private readonly recorder = new WriteRecorder();

  constructor(private readonly config: InfluxConfig) {
    this.transport = new InfluxDB({ url: config.url, token: config.api === 'v2' ? config.token : undefined, timeout: config.timeout }).transport;
    this.path = config.api === 'v2' ? `/api/v2/write?${query({ org: config.org, bucket: config.bucket, precision: 'ms' })}` : `/write?${query({ db: config.database, rp: config.retention_policy, precision: 'ms' })}`;
    this.headers = { 'content-type': 'text/plain; charset=utf-8' };
    if (config.api === 'v1' && config.username) {
      this.headers.authorization = `Basic ${Buffer.from(`${config.username}:${config.password ?? ''}`).toString('base64')}`;
    }
  }

  /** Where the lines go, for logs (no credentials). */
  get target(): string {
    return this.config.api === 'v2' ? `${this.config.url} org=${this.config.org} bucket=${this.config.bucket}` : `${this.config.url} db=${this.config.database}`;
  }

  /** Latency and failures of the write requests so far. */
  stats(): WriteStats {
    return this.recorder.stats();
  }

  async write(body: Buffer | string, signal?: AbortSignal): Promise<WriteOutcome> {
    const started = performance.now();
    const outcome = await this.request(body, signal);
    this.recorder.record((performance.now() - started) / 1000, outcome.kind);
    return outcome;
  }

  private async request(body: Buffer | string, signal: AbortSignal | undefined): Promise<WriteOutcome> {
    try {
      const options = { method: 'POST', headers: this.headers, gzipThreshold: this.config.gzip ? 1024 : undefined, signal };
      // send(), not request(): request() would JSON-encode bytes. The Node transport copies the body with
      // Buffer.from(body, 'utf-8'), which takes bytes as they are, though its type names only strings.
      await new Promise<void>((resolve, reject) => this.transport.send(this.path, body as string, options, { complete: () => resolve(), error: reject }));
      return { kind: 'ok' };
    } catch (error) {
      const outcome = classify(error);
      // InfluxDB 1.x before 1.8 has no v2 endpoint: its router answers a bare "404 page not found".
      if (outcome.kind === 'not_found' && this.config.api === 'v2' && /page not found/i.test(outcome.reason)) {
        return { kind: 'not_found', reason: `${outcome.reason} (no /api/v2/write here: an InfluxDB 1.x older than 1.8? use api: v1 with database)` };
      }
      return outcome;
    }
  }

  /** v1 only: `CREATE DATABASE`, for servers where the gateway may create its own database. */
  async createDatabase(): Promise<WriteOutcome> {
    const body = new URLSearchParams({ q: `CREATE DATABASE "${(this.config.database ?? '').replace(/["\\]/g, '\\$&')}"` }).toString();
    try {
      await this.transport.request('/query', body, { method: 'POST', headers: { ...this.headers, 'content-type': 'application/x-www-form-urlencoded' } });
      return { kind: 'ok' };
    } catch (error) {
      return classify(error);
    }
  }
}

function classify(error: unknown): WriteOutcome {
  if (!(error instanceof HttpError)) {
    const { code, message } = error as { code?: string; message?: string };
    const text = message || String(error);
    return { kind: 'retry', reason: code && !text.includes(code) ? `${code} ${text}` : text };
  }
  const reason = `HTTP ${error.statusCode}: ${serverMessage(error)}`;
  const status = error.statusCode;
  if (status === 401 || status === 403) return { kind: 'unauthorized', reason };
  if (status === 404) return { kind: 'not_found', reason };
  if (status === 408 || status === 429 || status >= 500) {
    const retryAfter = error.retryAfter();
    return retryAfter > 0 ? { kind: 'retry', reason, retryAfterMs: retryAfter * 1000 } : { kind: 'retry', reason };
  }
  return { kind: 'rejected', status, reason };
}

/** InfluxDB 1.x says `{"error": ...}`, 2.x `{"code": .., "message": ...}`; the client only reads the latter. */
function serverMessage(error: HttpError): string {
  const json = error.json as { error?: unknown; message?: unknown } | undefined;
  if (json && typeof json.error === 'string') return json.error;
  if (json && typeof json.message === 'string') return json.message;
  if (error.body) {
    try {
      const parsed = JSON.parse(error.body) as { error?: unknown; message?: unknown };
      if (typeof parsed.error === 'string') return parsed.error;
      if (typeof parsed.message === 'string') return parsed.message;
    } catch {
      // Not JSON: the text itself is the message.
    }
    return error.body.trim().slice(0, 500);
  }
  return error.statusMessage ?? 'no message';
}

function query(params: Record<string, string | undefined>): string {
  const defined = Object.entries(params).filter((entry): entry is [string, string] => entry[1] !== undefined);
  return new URLSearchParams(defined).toString();
}
