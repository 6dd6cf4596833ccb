/**
 * Delivers an alert event as an HTTP(S) POST of its JSON, e.g. to a duty-roster or chat bridge.
 *
 * Signature, when a secret is configured — how a receiver verifies a request:
 *
 *     X-Gateway-Timestamp: 1795405973                  (Unix time in seconds when the request was made)
 *     X-Gateway-Signature: sha256=<hex>                 (HMAC-SHA256 keyed with the secret)
 *
 *   1. Take the raw request body bytes exactly as received, before any JSON parsing.
 *   2. Compute hex(HMAC-SHA256(secret, `${timestamp}.${body}`)) with the header's timestamp.
 *   3. Compare with the header's hex in constant time (crypto.timingSafeEqual); refuse on mismatch.
 *   4. Refuse a timestamp more than a few minutes from the receiver's clock: a captured request cannot be replayed
 *      later. Every retry is signed afresh, so a late retry still carries a current timestamp.
 *
 * The body is the event with its `event_id` first. Retries, and a restart between the receiver's answer and the
 * gateway noting it, can deliver the same event twice: `event_id` is the same each time, so a receiver deduplicates on it.
 */
import { createHmac } from 'node:crypto';
import { exactJson } from '../../contract/json.js';
import type { AlertEvent, Notifier } from '../alert.js';

export const TIMESTAMP_HEADER = 'X-Gateway-Timestamp';
export const SIGNATURE_HEADER = 'X-Gateway-Signature';

export interface WebhookOptions {
  /** http(s) URL; `user:password@` in it becomes HTTP Basic authentication. */
  readonly url: string;
  readonly secret?: string | undefined;
  /** Bound of one request in milliseconds, connection and answer included. */
  readonly timeout: number;
  readonly headers?: Readonly<Record<string, string>> | undefined;
}

/** How long an error body may be in an error message: enough for a receiver's reason, not a whole HTML page. */
const ERROR_BODY_CHARS = 200;

export class WebhookNotifier implements Notifier {
  private readonly target: URL;
  /** The URL as messages show it: no credentials, no query (receivers often take tokens there). */
  private readonly shownUrl: string;
  private readonly authorization: string | undefined;

  constructor(
    readonly name: string,
    private readonly options: WebhookOptions,
    private readonly now: () => number = Date.now,
  ) {
    this.target = new URL(options.url);
    if (this.target.username !== '' || this.target.password !== '') {
      // fetch refuses URLs with credentials: send them as the header a browser would.
      const credentials = `${decodeURIComponent(this.target.username)}:${decodeURIComponent(this.target.password)}`;
      this.authorization = `Basic ${Buffer.from(credentials).toString('base64')}`;
      this.target.username = '';
      this.target.password = '';
    }
    this.shownUrl = `${this.target.origin}${this.target.pathname}`;
  }

  async deliver(event: AlertEvent, eventId: string): Promise<void> {
    const body = webhookBody(event, eventId);
    const headers = this.headersFor(body);
    let response: Response;
    try {
      response = await fetch(this.target, {
        method: 'POST',
        headers,
        body,
        signal: AbortSignal.timeout(this.options.timeout),
        // A redirected POST turns into a GET (and would carry the signature elsewhere): report it instead.
        redirect: 'manual',
      });
    } catch (error) {
      throw new Error(`webhook ${this.name}: POST ${this.shownUrl} failed: ${describeFetchError(error, this.options.timeout)}`, { cause: error });
    }
    if (response.status >= 200 && response.status < 300) {
      // Accepted once the status says so; the body is not needed, and cancelling it frees the connection.
      await response.body?.cancel();
      return;
    }
    const reason = await errorBodyOf(response);
    throw new Error(`webhook ${this.name}: POST ${this.shownUrl} answered HTTP ${response.status}${reason ? `: ${reason}` : ''}`);
  }

  private headersFor(body: string): Headers {
    const headers = new Headers(this.options.headers);
    headers.set('content-type', 'application/json');
    if (this.authorization !== undefined) headers.set('authorization', this.authorization);
    if (this.options.secret !== undefined) {
      const timestamp = String(Math.floor(this.now() / 1000));
      headers.set(TIMESTAMP_HEADER, timestamp);
      headers.set(SIGNATURE_HEADER, `sha256=${signWebhookBody(this.options.secret, timestamp, body)}`);
    }
    return headers;
  }
}

/** The JSON a receiver gets: `event_id`, then the event's own fields. */
export function webhookBody(event: AlertEvent, eventId: string): string {
  return exactJson({ event_id: eventId, ...event });
}

/** hex(HMAC-SHA256(secret, "<timestamp>.<body>")): what X-Gateway-Signature carries after "sha256=". */
export function signWebhookBody(secret: string, timestamp: string, body: string): string {
  return createHmac('sha256', secret).update(`${timestamp}.${body}`).digest('hex');
}

/** fetch says "fetch failed" and hides the reason (ECONNREFUSED, a DNS failure...) in `cause`. */
function describeFetchError(error: unknown, timeoutMs: number): string {
  if (error instanceof DOMException && error.name === 'TimeoutError') return `no answer within ${timeoutMs} ms`;
  const cause = error instanceof Error && error.cause instanceof Error ? error.cause : error;
  if (!(cause instanceof Error)) return String(cause);
  // Happy-eyeballs failures are AggregateErrors with an empty message but a code.
  const code = (cause as NodeJS.ErrnoException).code;
  return cause.message || code || cause.name;
}

async function errorBodyOf(response: Response): Promise<string> {
  const text = await response.text().catch((error: unknown) => `(body unreadable: ${error instanceof Error ? error.message : String(error)})`);
  const oneLine = text.replace(/\s+/g, ' ').trim();
  return oneLine.length > ERROR_BODY_CHARS ? `${oneLine.slice(0, ERROR_BODY_CHARS)}…` : oneLine;
}
