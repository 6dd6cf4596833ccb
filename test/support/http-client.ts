import { request as httpRequest } from 'node:http';

export interface HttpAnswer {
  readonly status: number;
  readonly headers: Record<string, string | string[] | undefined>;
  readonly body: string;
  json<T = unknown>(): T;
}

/** One request to a test gateway's HTTP server (node:http: no cookie jar, no redirects followed, nothing hidden). */
export function httpCall(url: string, opts: { method?: string; headers?: Record<string, string>; body?: string } = {}): Promise<HttpAnswer> {
  return new Promise((resolve, reject) => {
    const req = httpRequest(url, { method: opts.method ?? 'GET', headers: opts.headers }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (chunk: Buffer) => chunks.push(chunk));
      res.on('error', reject);
      res.on('end', () => {
        const body = Buffer.concat(chunks).toString('utf8');
        resolve({ status: res.statusCode ?? 0, headers: res.headers, body, json: <T>() => JSON.parse(body) as T });
      });
    });
    req.on('error', reject);
    req.end(opts.body);
  });
}

export function basicAuth(username: string, password: string): Record<string, string> {
  return { authorization: `Basic ${Buffer.from(`${username}:${password}`).toString('base64')}` };
}

export interface ServerSentEvent {
  readonly event: string;
  readonly data: string;
}

/** A live connection to /api/events, collecting every event it receives. */
export interface EventClient {
  readonly status: number;
  readonly events: ServerSentEvent[];
  close(): void;
}

export function openEvents(url: string, headers: Record<string, string>): Promise<EventClient> {
  return new Promise((resolve, reject) => {
    const events: ServerSentEvent[] = [];
    const req = httpRequest(url, { headers: { accept: 'text/event-stream', ...headers } }, (res) => {
      let buffered = '';
      res.setEncoding('utf8');
      res.on('data', (chunk: string) => {
        buffered += chunk;
        let end: number;
        while ((end = buffered.indexOf('\n\n')) >= 0) {
          const block = buffered.slice(0, end);
          buffered = buffered.slice(end + 2);
          const fields = block.split('\n');
          const event = fields.find((line) => line.startsWith('event: '))?.slice(7);
          const data = fields.find((line) => line.startsWith('data: '))?.slice(6);
          if (event !== undefined && data !== undefined) events.push({ event, data });
        }
      });
      res.on('error', () => {});
      resolve({ status: res.statusCode ?? 0, events, close: () => req.destroy() });
    });
    req.on('error', reject);
    req.end();
  });
}
