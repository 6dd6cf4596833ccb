/**
 * How the forwarder treats each class of answer, against a plain node:http server playing InfluxDB's part with the
 * answers real servers give but the test servers cannot be made to give on demand (401, 429 with Retry-After, 503).
 * The real-server behaviour (writes, outages, field type conflicts) is covered in influx-forwarding.test.ts.
 */
import { once } from 'node:events';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { gunzipSync } from 'node:zlib';
import { afterEach, describe, expect, it } from 'vitest';
import { waitFor } from '../peers/net.js';
import { startGateway, type RunningGateway } from '../support/gateway.js';
import { influxHealth } from '../support/health.js';

interface Received {
  readonly at: number;
  readonly url: string;
  readonly authorization: string | undefined;
  readonly body: string;
}

/** Answers the i-th write with answers[i] (the last one from then on) and records every request. */
async function scriptedInflux(answers: readonly ((res: ServerResponse) => void)[]): Promise<{ server: Server; url: string; received: Received[] }> {
  const received: Received[] = [];
  const server = createServer((req: IncomingMessage, res: ServerResponse) => {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => {
      const raw = Buffer.concat(chunks);
      const body = req.headers['content-encoding'] === 'gzip' ? gunzipSync(raw).toString() : raw.toString();
      received.push({ at: Date.now(), url: req.url ?? '', authorization: req.headers.authorization, body });
      answers[Math.min(received.length - 1, answers.length - 1)]!(res);
    });
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const { port } = server.address() as { port: number };
  return { server, url: `http://127.0.0.1:${port}`, received };
}

const status = (code: number, headers: Record<string, string> = {}, body = '') => (res: ServerResponse) => {
  res.writeHead(code, { 'content-type': 'application/json', ...headers });
  res.end(body);
};

const reading = { device: 'pump-1', domain: 'water', metric: 'level', value: 1.25, ts: 1795405973402, quality: 'good' as const };

describe('InfluxDB answers by class', () => {
  let gw: RunningGateway | undefined;
  let server: Server | undefined;
  afterEach(async () => {
    await gw?.stop();
    server?.close();
    gw = undefined;
  });

  it('401: says so once, keeps the reading, and delivers it when the credentials are accepted', async () => {
    const influx = await scriptedInflux([status(401, {}, '{"error":"authorization failed"}'), status(401, {}, '{"error":"authorization failed"}'), status(401, {}, '{"error":"authorization failed"}'), status(204)]);
    server = influx.server;
    gw = await startGateway(`site: lab\ninflux:\n  url: ${influx.url}\n  api: v1\n  database: city\n  username: gw\n  password: "s3cret"\n  flush_interval: 20ms\n  retry_initial: 20ms\n  retry_max: 50ms\n`);
    gw.gateway.pipeline.publish([reading]);
    await waitFor(() => (influxHealth(gw!.gateway)!.state === 'ok' ? true : undefined), { what: 'the write accepted after the 401s' });
    expect(influx.received).toHaveLength(4);
    expect(new Set(influx.received.map((r) => r.body))).toEqual(new Set(['water,device=pump-1,site=lab level=1.25 1795405973402']));
    expect(influx.received[0]!.url).toBe('/write?db=city&precision=ms');
    expect(influx.received[0]!.authorization).toBe(`Basic ${Buffer.from('gw:s3cret').toString('base64')}`);
    expect(gw.logs.filter((l) => l.includes('refuses the credentials'))).toHaveLength(1);
    expect(gw.logs.some((l) => l.includes('authorization failed'))).toBe(true);
    expect(influxHealth(gw.gateway)).toMatchObject({ written: 1, backlog: 0, lastError: 'HTTP 401: authorization failed' });
  });

  it('429 with Retry-After: waits as long as the server asks before sending the same batch again', async () => {
    const influx = await scriptedInflux([status(429, { 'retry-after': '1' }), status(503), status(204)]);
    server = influx.server;
    gw = await startGateway(`site: lab\ninflux:\n  url: ${influx.url}\n  org: city\n  bucket: b\n  token: t0k\n  flush_interval: 20ms\n  retry_initial: 20ms\n  retry_max: 50ms\n`);
    gw.gateway.pipeline.publish([reading]);
    await waitFor(() => (influxHealth(gw!.gateway)!.written === 1 ? true : undefined), { what: 'the write accepted after 429 and 503' });
    const [first, second] = influx.received;
    expect(influx.received).toHaveLength(3);
    expect(second!.at - first!.at).toBeGreaterThanOrEqual(1000);
    expect(first!.url).toBe('/api/v2/write?org=city&bucket=b&precision=ms');
    expect(first!.authorization).toBe('Token t0k');
    expect(new Set(influx.received.map((r) => r.body)).size).toBe(1);
  });
});
