/**
 * Undelivered notifications survive a kill -9: a real gateway process fires and resolves alerts while its webhook
 * receiver and its mail relay are down, is killed with SIGKILL, and started again once both are up. Every
 * notification then arrives exactly once, critical ones before warnings, each severity in the order it happened; a
 * third run finds the outboxes empty (the deliveries were committed).
 */
import { appendFileSync, mkdtempSync, rmSync, unlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import type { AlertEvent } from '../../gateway/alerts/alert.js';
import { notifierSchema, notifierTarget } from '../../gateway/alerts/notify/config.js';
import { NotificationDispatcher } from '../../gateway/alerts/notify/dispatcher.js';
import { createLogger } from '../../gateway/util/log.js';
import { hashPassword } from '../../gateway/broker/password.js';
import { parseMail } from '../peers/mail.js';
import { mosquittoPub } from '../peers/mosquitto-pub.js';
import { freePort, waitFor } from '../peers/net.js';
import { startSmtpRelay, startWebhookReceiver, startWebhookReceiverOn, status } from '../peers/receivers.js';
import { spawnGateway, type GatewayProcess } from '../support/gateway-process.js';
import { canMountTmpfs, mountTmpfs, unmountTmpfs } from '../support/tmpfs.js';

const cleanups: (() => Promise<void> | void)[] = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

async function spawn(config: string): Promise<GatewayProcess> {
  const gateway = await spawnGateway(config);
  cleanups.push(() => gateway.cleanup());
  return gateway;
}

/** Log lines of the gateway's alerting that say an event was decided (and so handed to the dispatcher). */
const decided = (gateway: GatewayProcess) => gateway.output().split('\n').filter((line) => /"alert (firing|resolved)"/.test(line)).length;

describe('notification outbox across kill -9', () => {
  it('delivers every notification held while the targets were down, once, critical first', { timeout: 180_000 }, async () => {
    const dir = mkdtempSync(join(tmpdir(), 'gw-notify-kill-'));
    cleanups.push(() => rmSync(dir, { recursive: true, force: true }));
    const [mqttPort, hookPort, smtpPort] = [await freePort(), await freePort(), await freePort()];
    const config = join(dir, 'gateway.yaml');
    writeFileSync(
      config,
      `site: lab
mqtt:
  listeners: [{ host: 127.0.0.1, port: ${mqttPort} }]
  users:
    - { username: gauge-4, role: device, password_hash: "${await hashPassword('gauge-pass', { ln: 10 })}" }
devices:
  - { name: gauge-4, driver: mqtt, domain: water }
notifiers:
  duty-hook: { type: webhook, url: "http://127.0.0.1:${hookPort}/hook", timeout: 2s }
  duty-mail: { type: email, host: 127.0.0.1, port: ${smtpPort}, require_tls: false, from: gateway@lab.example, to: [duty@lab.example], timeout: 2s }
rules:
  - { name: level-high, match: { metric: level }, above: 4.5, severity: critical, notify: [duty-hook, duty-mail] }
  - { name: pressure-low, match: { metric: pressure }, below: 1, severity: warning, notify: [duty-hook, duty-mail] }
`,
    );

    // Both targets are down: nothing listens on their ports.
    const first = await spawn(config);
    const base = Date.now() - 60_000;
    const readings: [string, number][] = [['level', 4.9], ['pressure', 0.5], ['level', 3.0], ['pressure', 2.0], ['level', 5.0]];
    for (const [i, [metric, value]] of readings.entries()) {
      const result = await mosquittoPub({
        port: mqttPort,
        username: 'gauge-4',
        password: 'gauge-pass',
        qos: 1,
        topic: 'city/lab/ingest/water/gauge-4',
        message: JSON.stringify({ [metric]: { value, ts: base + i * 1000 } }),
      });
      expect(result.code, result.output).toBe(0);
    }
    await waitFor(() => (decided(first) === readings.length ? true : undefined), { what: 'five alert events decided', timeoutMs: 30_000 });
    await first.kill9();

    const hook = await startWebhookReceiverOn(hookPort, status(204));
    cleanups.push(() => hook.close());
    const relay = await startSmtpRelay(smtpPort);
    cleanups.push(() => relay.close());
    const second = await spawn(config);

    const expected = ['level-high firing', 'level-high resolved', 'level-high firing', 'pressure-low firing', 'pressure-low resolved'];
    await waitFor(() => (hook.received.length >= expected.length && relay.mails.length >= expected.length ? true : undefined), {
      what: 'every notification at the webhook receiver and the relay',
      timeoutMs: 60_000,
    });
    const events = hook.received.map((r) => JSON.parse(r.body) as AlertEvent & { event_id: string });
    expect(events.map((e) => `${e.rule} ${e.kind}`)).toEqual(expected);
    expect(new Set(events.map((e) => e.event_id)).size).toBe(expected.length);
    const mails = relay.mails.map((m) => parseMail(m.raw).body);
    expect(mails.map((body) => `${/Rule: +(\S+)/.exec(body)?.[1]} ${/State: +(\S+)/.exec(body)?.[1]}`)).toEqual(expected);

    // Committed: a third run, after another kill -9, has nothing left to send.
    await second.kill9();
    const third = await spawn(config);
    // The outboxes are opened before the gateway says it runs.
    const opened = third.output().match(/notification outbox opened.*/g) ?? [];
    expect(opened).toHaveLength(2);
    for (const line of opened) expect(line).toContain('queued=0');
    expect(hook.received).toHaveLength(expected.length);
    expect(relay.mails).toHaveLength(expected.length);
  });
});

/** Appends to `file` until the file system refuses: ENOSPC, page by page at the end. */
function fillUp(file: string): void {
  for (const chunk of [64 * 1024, 4096, 1]) {
    try {
      for (;;) appendFileSync(file, Buffer.alloc(chunk));
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'ENOSPC') throw error;
    }
  }
}

describe.skipIf(!canMountTmpfs)('notification outbox on a full disk (mounts a 1 MB tmpfs: needs root)', () => {
  it('keeps delivering on a full disk without resending: noting a delivery needs no free space', { timeout: 60_000 }, async () => {
    const mount = mkdtempSync(join(tmpdir(), 'gw-notify-full-'));
    cleanups.push(() => rmSync(mount, { recursive: true, force: true }));
    mountTmpfs(mount, '1m');
    cleanups.push(() => unmountTmpfs(mount));
    const receiver = await startWebhookReceiver(status(204));
    cleanups.push(() => receiver.close());
    const lines: string[] = [];
    const log = createLogger({ sink: { write: (line) => lines.push(line) } });
    const target = notifierTarget('duty-hook', notifierSchema.parse({ type: 'webhook', url: receiver.url, timeout: 2000, outbox: { max_size: 64 * 1024, max_age: 3_600_000 } }), mount);
    const d = await NotificationDispatcher.open([target], { retryInitial: 50, retryMax: 200 }, log);
    cleanups.push(() => d.close());
    const firing: AlertEvent = {
      id: 'level-high/pump-1/level', site: 'lab', rule: 'level-high', device: 'pump-1', metric: 'level', domain: 'water', kind: 'firing',
      severity: 'critical', message: 'pump-1 level = 4.9 m', value: 4.9, unit: 'm', since: Date.now(), ts: Date.now(), acknowledged: undefined,
    };

    // Stored while there is room; the disk fills up before the receiver's answer is noted. The outbox's cursor is
    // rewritten in place, so the delivery is noted all the same.
    const filler = join(mount, 'filler');
    d.send(firing, ['duty-hook']);
    fillUp(filler);
    await waitFor(() => (receiver.received.length >= 1 && d.stats()['duty-hook']!.delivered === 1 ? true : undefined), { what: 'the notification delivered' });
    expect(lines.filter((l) => l.includes('cannot note a delivery'))).toEqual([]);

    // Room again: the next event goes out, and the one already accepted is not sent a second time.
    unlinkSync(filler);
    d.send({ ...firing, device: 'pump-2' }, ['duty-hook']);
    await waitFor(() => (d.stats()['duty-hook']!.delivered === 2 && d.stats()['duty-hook']!.queued === 0 ? true : undefined), { what: 'the second event delivered' });
    expect(receiver.devices()).toEqual(['pump-1', 'pump-2']);
  });
});
