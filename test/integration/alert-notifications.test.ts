/**
 * A rule's notifications through the whole gateway: one rule addressed to a webhook that never answers, one where
 * nothing listens, a healthy signed webhook and a real SMTP relay. The healthy targets get every event, readings keep
 * flowing, and neither broken target delays anything.
 */
import { createHmac, timingSafeEqual } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { AlertEvent } from '../../gateway/alerts/alert.js';
import type { Reading } from '../../gateway/model.js';
import { freePort, waitFor } from '../peers/net.js';
import { neverAnswer, startSmtpRelay, startWebhookReceiver, status, type Receiver, type SmtpRelay } from '../peers/receivers.js';
import { startGateway, type RunningGateway } from '../support/gateway.js';

const SECRET = 'correct horse battery staple';

describe('alert notifications through the gateway', () => {
  let healthy: Receiver;
  let hanging: Receiver;
  let relay: SmtpRelay;
  let gw: RunningGateway;
  const readingsSeen: string[] = [];

  beforeAll(async () => {
    healthy = await startWebhookReceiver(status(204));
    hanging = await startWebhookReceiver(neverAnswer);
    relay = await startSmtpRelay();
    gw = await startGateway(`site: lab
notifiers:
  stuck-hook: { type: webhook, url: "${hanging.url}", timeout: 60s }
  gone-hook: { type: webhook, url: "http://127.0.0.1:${await freePort()}/hook", timeout: 2s }
  duty-hook: { type: webhook, url: "${healthy.url}", secret: "${SECRET}", timeout: 5s }
  duty-mail: { type: email, host: 127.0.0.1, port: ${relay.port}, require_tls: false, from: gateway@lab.example, to: [duty@lab.example], timeout: 5s }
rules:
  - { name: level-high, match: { metric: level }, above: 4.5, severity: critical, notify: [stuck-hook, gone-hook, duty-hook, duty-mail] }
`);
    await gw.gateway.mqttBroker!.subscribe('city/lab/water/#', (_topic, payload) => readingsSeen.push(payload.toString()));
  });
  afterAll(async () => {
    await gw?.stop();
    await Promise.all([healthy?.close(), hanging?.close(), relay?.close()]);
  });

  const level = (value: number, ts: number): Reading => ({ device: 'pump-1', domain: 'water', metric: 'level', value, unit: 'm', ts, quality: 'good' });

  it('delivers firing and resolved to the healthy targets while the others hang or refuse, and readings keep flowing', async () => {
    gw.gateway.pipeline.publish([level(4.9, 1)]);
    await waitFor(() => (healthy.received.length >= 1 ? true : undefined), { what: 'the firing event at the healthy webhook' });
    for (let i = 2; i <= 20; i++) gw.gateway.pipeline.publish([level(4.9, i)]);
    gw.gateway.pipeline.publish([level(3.2, 21)]);
    await waitFor(() => (healthy.received.length >= 2 ? true : undefined), { what: 'the resolved event at the healthy webhook' });
    await waitFor(() => (relay.mails.length >= 2 ? true : undefined), { what: 'both mails at the relay' });
    await waitFor(() => (readingsSeen.length >= 21 ? true : undefined), { what: 'every reading published' });

    const kinds = healthy.received.map((r) => (JSON.parse(r.body) as AlertEvent).kind);
    expect(kinds).toEqual(['firing', 'resolved']);
    for (const request of healthy.received) {
      const timestamp = String(request.headers['x-gateway-timestamp']);
      const expected = createHmac('sha256', SECRET).update(`${timestamp}.${request.body}`).digest();
      const given = Buffer.from(String(request.headers['x-gateway-signature']).replace(/^sha256=/, ''), 'hex');
      expect(given.length === expected.length && timingSafeEqual(given, expected)).toBe(true);
    }
    expect(relay.mails.map((m) => m.rcptTo)).toEqual([['duty@lab.example'], ['duty@lab.example']]);
    expect(relay.mails[0]!.raw).toContain('level-high');
    // The stuck receiver got the first event and is still holding it; nothing else reached it.
    expect(hanging.received).toHaveLength(1);
  });
});
