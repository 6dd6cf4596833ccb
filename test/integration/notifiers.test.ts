/**
 * The alert notifiers against real receivers: a node:http server in the part of a webhook receiver, and the
 * `smtp-server` package in the part of a mail relay. The dispatcher is exercised with those same peers, including a
 * receiver that never answers and a port where nothing listens, to show that neither delays a healthy receiver, and
 * with its outboxes in temp dirs: bounded in bytes, critical alerts first when a receiver comes back.
 */
import { createHmac, randomUUID, timingSafeEqual } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import type { ServerResponse } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import type { AlertEvent, Notifier, Severity } from '../../gateway/alerts/alert.js';
import { notifierSchema, createNotifier } from '../../gateway/alerts/notify/config.js';
import { NotificationDispatcher, type DispatcherOptions } from '../../gateway/alerts/notify/dispatcher.js';
import { WebhookNotifier } from '../../gateway/alerts/notify/webhook.js';
import { createLogger, type Logger } from '../../gateway/util/log.js';
import { freePort, waitFor } from '../peers/net.js';
import { parseMail } from '../peers/mail.js';
import { neverAnswer, startSmtpRelay, startWebhookReceiver, status, type Answer, type Receiver, type SmtpRelay } from '../peers/receivers.js';

const firing: AlertEvent = {
  id: 'reservoir-level-high/pump-3/level',
  site: 'district-7',
  rule: 'reservoir-level-high',
  device: 'pump-3',
  metric: 'level',
  domain: 'water',
  kind: 'firing',
  severity: 'critical',
  message: 'pump-3 level = 4.81 m',
  value: 4.81,
  unit: 'm',
  since: Date.UTC(2026, 10, 23, 8, 15, 0),
  ts: Date.UTC(2026, 10, 23, 8, 15, 2),
  acknowledged: undefined,
};

/** The n-th of a run of events, told apart by device. */
const numbered = (n: number): AlertEvent => ({ ...firing, id: `reservoir-level-high/pump-${n}/level`, device: `pump-${n}`, message: `pump-${n} level = 4.81 m` });

const cleanups: (() => Promise<void> | void)[] = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

/** A webhook receiver closed after the test. */
async function webhookReceiver(...answers: Answer[]): Promise<Receiver> {
  const receiver = await startWebhookReceiver(...answers);
  cleanups.push(() => receiver.close());
  return receiver;
}

/** A mail relay closed after the test. */
async function smtpRelay(): Promise<SmtpRelay> {
  const relay = await startSmtpRelay();
  cleanups.push(() => relay.close());
  return relay;
}

function capturedLogs(): { log: Logger; lines: string[] } {
  const lines: string[] = [];
  return { log: createLogger({ level: 'debug', component: 'notify', sink: { write: (line) => lines.push(line) } }), lines };
}

interface OutboxLimits {
  readonly maxBytes?: number;
  readonly maxAge?: number;
}

/** A dispatcher over `notifiers`, their outboxes in a temp dir; closed (and the dir removed) after the test. */
async function dispatcher(notifiers: readonly Notifier[], opts: DispatcherOptions & OutboxLimits, log: Logger): Promise<NotificationDispatcher> {
  const dir = mkdtempSync(join(tmpdir(), 'gw-outbox-'));
  cleanups.push(() => rmSync(dir, { recursive: true, force: true }));
  const outbox = (name: string) => ({ dir: join(dir, name), maxBytes: opts.maxBytes ?? 1024 ** 2, maxAge: opts.maxAge ?? 24 * 3_600_000 });
  const d = await NotificationDispatcher.open(
    notifiers.map((notifier) => ({ notifier, outbox: outbox(notifier.name) })),
    { retryInitial: 20, retryMax: 100, ...opts },
    log,
  );
  cleanups.push(() => d.close());
  return d;
}

const EVENT_ID = '6f1c2d3e-0000-4000-8000-000000000001';

/** Bytes of one notification of `event` as the outbox stores it (a line of JSON), to set bounds in events. */
const storedBytes = (event: AlertEvent) => Buffer.byteLength(JSON.stringify({ event_id: randomUUID(), queued_at: Date.now(), event })) + 1;

const webhook = (name: string, url: string, extra: Record<string, unknown> = {}) =>
  createNotifier(name, notifierSchema.parse({ type: 'webhook', url, ...extra }));

describe('webhook notifier', () => {
  it('posts the event as JSON, signed so that a receiver can verify it', async () => {
    const receiver = await webhookReceiver(status(204));
    const secret = 'a shared secret of the water team';
    await webhook('duty-webhook', receiver.url, { secret, headers: { 'X-Team': 'water' } }).deliver(firing, EVENT_ID);

    expect(receiver.received).toHaveLength(1);
    const { headers, body, url } = receiver.received[0]!;
    expect(url).toBe('/hook');
    expect(headers['content-type']).toBe('application/json');
    expect(headers['x-team']).toBe('water');
    expect(JSON.parse(body)).toEqual({ event_id: EVENT_ID, ...JSON.parse(JSON.stringify(firing)) });

    // Exactly what a receiver does: HMAC over "<timestamp>.<raw body>", constant-time compare, recent timestamp.
    const timestamp = String(headers['x-gateway-timestamp']);
    const signature = String(headers['x-gateway-signature']);
    expect(signature).toMatch(/^sha256=[0-9a-f]{64}$/);
    const expected = createHmac('sha256', secret).update(`${timestamp}.${body}`).digest();
    expect(timingSafeEqual(Buffer.from(signature.slice('sha256='.length), 'hex'), expected)).toBe(true);
    expect(Math.abs(Date.now() / 1000 - Number(timestamp))).toBeLessThan(300);
    const forged = createHmac('sha256', 'another secret').update(`${timestamp}.${body}`).digest();
    expect(timingSafeEqual(Buffer.from(signature.slice('sha256='.length), 'hex'), forged)).toBe(false);
  });

  it('sends no signature headers without a secret', async () => {
    const receiver = await webhookReceiver(status(200));
    await webhook('duty-webhook', receiver.url).deliver(firing, EVENT_ID);
    expect(receiver.received[0]!.headers['x-gateway-signature']).toBeUndefined();
    expect(receiver.received[0]!.headers['x-gateway-timestamp']).toBeUndefined();
  });

  it('turns URL credentials into Basic auth, and names the URL without credentials or query when refused', async () => {
    const receiver = await webhookReceiver(status(500, 'database locked'));
    const withCredentials = receiver.url.replace('http://', 'http://gw:s3cret@') + '?token=t0k3n';
    const error = await webhook('duty-webhook', withCredentials).deliver(firing, EVENT_ID).then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(error).toBeInstanceOf(Error);
    const message = (error as Error).message;
    expect(message).toBe(`webhook duty-webhook: POST ${receiver.url} answered HTTP 500: database locked`);
    expect(receiver.received[0]!.headers.authorization).toBe(`Basic ${Buffer.from('gw:s3cret').toString('base64')}`);
    expect(receiver.received[0]!.url).toBe('/hook?token=t0k3n');
  });

  it('names the cause when nothing listens', async () => {
    const port = await freePort();
    await expect(webhook('duty-webhook', `http://127.0.0.1:${port}/hook`).deliver(firing, EVENT_ID)).rejects.toThrow(/POST http:\/\/127\.0\.0\.1:\d+\/hook failed: .*ECONNREFUSED/);
  });

  it('signs with the clock of the moment of the request', async () => {
    const receiver = await webhookReceiver(status(200));
    const notifier = new WebhookNotifier('duty-webhook', { url: receiver.url, secret: 's', timeout: 5000 }, () => 1_795_405_973_402);
    await notifier.deliver(firing, EVENT_ID);
    expect(receiver.received[0]!.headers['x-gateway-timestamp']).toBe('1795405973');
  });
});

describe('email notifier', () => {
  it('sends a plain-text mail naming the alert to every recipient', async () => {
    const relay = await smtpRelay();
    const config = notifierSchema.parse({
      type: 'email',
      host: '127.0.0.1',
      port: relay.port,
      require_tls: false,
      from: 'gateway@district-7.example',
      to: ['duty@example.org', 'Water Duty <water@example.org>'],
      timeout: '5s',
    });
    const notifier = createNotifier('duty-mail', config);
    cleanups.push(() => notifier.close?.());
    await notifier.deliver({ ...firing, acknowledged: { by: 'alice', at: Date.UTC(2026, 10, 23, 8, 20, 0) } }, EVENT_ID);

    expect(relay.mails).toHaveLength(1);
    const { mailFrom, rcptTo, raw } = relay.mails[0]!;
    expect(mailFrom).toBe('gateway@district-7.example');
    expect(rcptTo).toEqual(['duty@example.org', 'water@example.org']);

    const mail = parseMail(raw);
    expect(mail.headers.get('subject')).toBe('[CRITICAL] district-7: reservoir-level-high firing — pump-3 level = 4.81 m');
    expect(mail.headers.get('from')).toBe('gateway@district-7.example');
    expect(mail.headers.get('to')).toBe('duty@example.org, Water Duty <water@example.org>');
    expect(mail.headers.get('content-type')).toMatch(/^text\/plain/);
    expect(mail.body).toContain('reservoir-level-high');
    expect(mail.body).toMatch(/Device: +pump-3/);
    expect(mail.body).toMatch(/Value: +4\.81 m/);
    expect(mail.body).toMatch(/Since: +2026-11-23T08:15:00\.000Z/);
    expect(mail.body).toMatch(/State: +firing/);
    expect(mail.body).toMatch(/Acknowledged: +by alice at 2026-11-23T08:20:00\.000Z/);
    // The same Message-ID when the mail is sent again after a crash: mail systems show it once.
    expect(mail.headers.get('message-id')).toBe(`<${EVENT_ID}@district-7.example>`);
    expect(mail.body).toMatch(new RegExp(`Event id: +${EVENT_ID}`));
  });

  it('rejects naming the relay when it cannot be reached', async () => {
    const port = await freePort();
    const notifier = createNotifier('duty-mail', notifierSchema.parse({ type: 'email', host: '127.0.0.1', port, require_tls: false, from: 'gw@example.org', to: ['duty@example.org'] }));
    cleanups.push(() => notifier.close?.());
    await expect(notifier.deliver(firing, EVENT_ID)).rejects.toThrow(`email duty-mail: sending through 127.0.0.1:${port} failed`);
  });
});

describe('notification dispatcher', () => {
  it('retries a receiver answering 500 until it recovers, and logs the outage once each way', async () => {
    const receiver = await webhookReceiver(status(500, 'starting up'), status(500, 'starting up'), status(200));
    const { log, lines } = capturedLogs();
    const d = await dispatcher([webhook('duty-webhook', receiver.url)], {}, log);
    d.send(firing, ['duty-webhook']);

    await waitFor(() => (d.stats()['duty-webhook']!.delivered === 1 ? true : undefined), { what: 'delivery after two 500s' });
    expect(receiver.received).toHaveLength(3);
    // Every retry carries the same event id, so a receiver that got an earlier attempt can tell.
    const bodies = new Set(receiver.received.map((r) => r.body));
    expect(bodies.size).toBe(1);
    expect(JSON.parse([...bodies][0]!)).toEqual({ event_id: expect.stringMatching(/^[0-9a-f-]{36}$/), ...JSON.parse(JSON.stringify(firing)) });
    expect(d.stats()['duty-webhook']).toMatchObject({ queued: 0, delivered: 1, failed_attempts: 2, dropped: 0, expired: 0 });
    expect(d.stats()['duty-webhook']!.last_error).toContain('answered HTTP 500: starting up');
    expect(d.stats()['duty-webhook']!.last_success).toBeTypeOf('number');
    expect(lines.filter((l) => l.includes('notifier failing'))).toHaveLength(1);
    expect(lines.filter((l) => l.includes('notifier working again'))).toHaveLength(1);
  });

  it('keeps delivering to a healthy receiver while another hangs and a third refuses connections', async () => {
    const healthy = await webhookReceiver(status(204));
    const hanging = await webhookReceiver(neverAnswer);
    const refusedUrl = `http://127.0.0.1:${await freePort()}/hook`;
    const { log, lines } = capturedLogs();
    const d = await dispatcher(
      [webhook('hanging', hanging.url, { timeout: '5m' }), webhook('refused', refusedUrl), webhook('healthy', healthy.url)],
      { closeTimeout: 500 },
      log,
    );
    const targets = ['hanging', 'refused', 'healthy'];

    d.send(numbered(1), targets);
    await waitFor(() => (healthy.received.length === 1 && hanging.received.length === 1 && d.stats().refused!.failed_attempts >= 2 ? true : undefined), {
      what: 'the first event at the healthy receiver, stuck at the hanging one, refused by the third',
    });
    for (let n = 2; n <= 5; n++) {
      d.send(numbered(n), targets);
      await waitFor(() => (healthy.received.length === n ? true : undefined), { what: `event ${n} at the healthy receiver` });
    }

    expect(healthy.devices()).toEqual(['pump-1', 'pump-2', 'pump-3', 'pump-4', 'pump-5']);
    // One at a time per notifier: the hanging receiver still holds the first event, the rest wait behind it.
    expect(hanging.devices()).toEqual(['pump-1']);
    expect(d.stats()).toMatchObject({
      healthy: { queued: 0, delivered: 5, failed_attempts: 0 },
      hanging: { queued: 5, delivered: 0, failed_attempts: 0 },
      refused: { queued: 5, delivered: 0 },
    });
    expect(d.stats().refused!.last_error).toMatch(/ECONNREFUSED/);
    expect(lines.filter((l) => l.includes('notifier failing') && l.includes('notifier=refused'))).toHaveLength(1);

    // close() is bounded even though the hanging attempt never settles.
    await d.close();
    expect(lines.some((l) => l.includes('still busy at shutdown') && l.includes('hanging'))).toBe(true);
  });

  it('bounds each outbox in bytes: beyond it the oldest are dropped and counted, the one in flight still lands', async () => {
    const held: ServerResponse[] = [];
    let open = false;
    const answerWhenOpen: Answer = (res) => {
      if (open) status(200)(res);
      else held.push(res);
    };
    const receiver = await webhookReceiver(answerWhenOpen);
    const { log, lines } = capturedLogs();
    // Room for three and a half notifications as stored.
    const d = await dispatcher([webhook('duty-webhook', receiver.url)], { maxBytes: Math.floor(3.5 * storedBytes(numbered(1))) }, log);

    d.send(numbered(1), ['duty-webhook']);
    await waitFor(() => (receiver.received.length === 1 ? true : undefined), { what: 'the first event in flight' });
    for (let n = 2; n <= 9; n++) d.send(numbered(n), ['duty-webhook']);
    // pump-1 (on its way) and pump-2..6 made room; pump-1's outcome is not known yet, so five are counted.
    expect(d.stats()['duty-webhook']).toMatchObject({ queued: 3, dropped: 5 });
    // Rate-limited: one line for the burst.
    expect(lines.filter((l) => l.includes('outbox full'))).toHaveLength(1);

    open = true;
    for (const res of held.splice(0)) status(200)(res);
    await waitFor(() => (d.stats()['duty-webhook']!.delivered === 4 ? true : undefined), { what: 'the kept events delivered' });
    // The one in flight was accepted, so it counts as delivered; of the others the newest survive.
    expect(receiver.devices()).toEqual(['pump-1', 'pump-7', 'pump-8', 'pump-9']);
    expect(d.stats()['duty-webhook']).toMatchObject({ queued: 0, delivered: 4, dropped: 5 });
  });

  it('sheds the least severe first, and delivers critical alerts first once the receiver is back', async () => {
    let open = false;
    // The receiver comes back only after refusing one more request: one already on its way when the backlog was
    // queued is answered 503 too, rather than racing the switch.
    let openAfterNextRefusal = false;
    const accepted: string[] = [];
    const receiver = await webhookReceiver((res) => {
      if (!open) {
        if (openAfterNextRefusal) open = true;
        return status(503, 'maintenance')(res);
      }
      accepted.push((JSON.parse(receiver.received.at(-1)!.body) as AlertEvent).device);
      status(204)(res);
    });
    const { log } = capturedLogs();
    const d = await dispatcher([webhook('duty-webhook', receiver.url)], { maxBytes: Math.floor(5.5 * storedBytes(numbered(1))) }, log);
    const plan: [number, Severity][] = [[1, 'warning'], [2, 'info'], [3, 'critical'], [4, 'warning'], [5, 'info'], [6, 'critical'], [7, 'critical']];
    d.send({ ...numbered(1), severity: 'warning' }, ['duty-webhook']);
    await waitFor(() => (d.stats()['duty-webhook']!.failed_attempts >= 1 ? true : undefined), { what: 'the receiver refusing' });
    for (const [n, severity] of plan.slice(1)) d.send({ ...numbered(n), severity }, ['duty-webhook']);
    // Seven do not fit in five and a half: the two info ones go, the oldest first.
    expect(d.stats()['duty-webhook']).toMatchObject({ queued: 5, dropped: 2, queued_by_severity: { critical: 3, warning: 2, info: 0 } });

    openAfterNextRefusal = true;
    // The receiver answers before the dispatcher notes the delivery: wait for both.
    await waitFor(() => (accepted.length === 5 && d.stats()['duty-webhook']!.delivered === 5 ? true : undefined), { what: 'the backlog delivered' });
    expect(accepted).toEqual(['pump-3', 'pump-6', 'pump-7', 'pump-1', 'pump-4']);
    expect(d.stats()['duty-webhook']).toMatchObject({ queued: 0, delivered: 5, dropped: 2 });
  });

  it('gives up an event undelivered for longer than max_age, and counts it', async () => {
    const refusedUrl = `http://127.0.0.1:${await freePort()}/hook`;
    const { log, lines } = capturedLogs();
    const d = await dispatcher([webhook('refused', refusedUrl)], { maxAge: 200 }, log);
    d.send(firing, ['refused']);
    await waitFor(() => (d.stats().refused!.expired === 1 ? true : undefined), { what: 'the event given up' });
    expect(d.stats().refused).toMatchObject({ queued: 0, delivered: 0, expired: 1 });
    expect(d.stats().refused!.failed_attempts).toBeGreaterThanOrEqual(1);
    expect(lines.filter((l) => l.includes('given up'))).toHaveLength(1);
  });

  it('logs an unknown notifier name once, and delivers to the known ones', async () => {
    const receiver = await webhookReceiver(status(200));
    const { log, lines } = capturedLogs();
    const d = await dispatcher([webhook('duty-webhook', receiver.url)], {}, log);
    d.send(numbered(1), ['duty-webhook', 'pager']);
    d.send(numbered(2), ['pager', 'duty-webhook', 'duty-webhook']);
    await waitFor(() => (d.stats()['duty-webhook']!.delivered === 2 ? true : undefined), { what: 'both events delivered' });
    expect(receiver.devices()).toEqual(['pump-1', 'pump-2']);
    expect(lines.filter((l) => l.includes('unknown notifier') && l.includes('notifier=pager'))).toHaveLength(1);
  });
});
