import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import { describeIssues } from '../../gateway/config/errors.js';
import { notifiersSchema } from '../../gateway/alerts/notify/config.js';

/** Validates a `notifiers:` section and returns the problems as the config loader would print them. */
function problems(notifiers: unknown): string[] {
  const section = z.strictObject({ notifiers: notifiersSchema });
  const input = { notifiers };
  const result = section.safeParse(input);
  return result.success ? [] : describeIssues('gateway.yaml', result.error.issues, input, section);
}

const mail = { type: 'email', host: 'smtp.example.org', from: 'gateway@example.org', to: ['duty@example.org'] };
const hook = { type: 'webhook', url: 'https://hooks.example.org/alerts' };

describe('notifiers config', () => {
  it('accepts the documented example and fills in defaults', () => {
    const parsed = notifiersSchema.parse({
      'duty-webhook': { ...hook, secret: 'abc', timeout: '5s', headers: { 'X-Team': 'water' } },
      'duty-mail': { ...mail, port: 587, secure: false, require_tls: true, username: 'gw', password: 'pw', to: ['a@example', 'b@example'], timeout: '10s' },
      'night.pager_2': hook,
    });
    const outbox = { max_size: 1024 ** 2, max_age: 24 * 3_600_000 };
    expect(parsed['duty-webhook']).toEqual({ ...hook, secret: 'abc', timeout: 5000, headers: { 'X-Team': 'water' }, outbox });
    expect(parsed['duty-mail']).toMatchObject({ port: 587, secure: false, require_tls: true, timeout: 10_000 });
    expect(parsed['night.pager_2']).toEqual({ ...hook, timeout: 10_000, headers: {}, outbox });
    expect(notifiersSchema.parse({ m: mail }).m).toMatchObject({ secure: false, require_tls: true, timeout: 10_000 });
  });

  it('refuses a bad url', () => {
    expect(problems({ hook: { ...hook, url: 'hooks.example.org/alerts' } })).toEqual([
      'gateway.yaml: notifiers.hook.url: "hooks.example.org/alerts" must be an http:// or https:// URL',
    ]);
    expect(problems({ hook: { ...hook, url: 'ftp://hooks.example.org/alerts' } })).toEqual([
      'gateway.yaml: notifiers.hook.url: "ftp://hooks.example.org/alerts" must be an http:// or https:// URL',
    ]);
  });

  it('refuses an email notifier without recipients', () => {
    const { to: _to, ...withoutTo } = mail;
    expect(problems({ mail: withoutTo })).toEqual(['gateway.yaml: notifiers.mail.to: missing (required: a list)']);
    expect(problems({ mail: { ...mail, to: [] } })).toEqual(['gateway.yaml: notifiers.mail.to: needs at least 1 entry']);
    expect(problems({ mail: { ...mail, to: ['duty at example.org'] } })).toEqual([
      'gateway.yaml: notifiers.mail.to[0]: "duty at example.org" is not a mail address (e.g. duty@example.org or "Duty <duty@example.org>")',
    ]);
  });

  it('refuses the reserved name mqtt, and names that cannot be notifier names', () => {
    expect(problems({ mqtt: hook })).toEqual(['gateway.yaml: notifiers.mqtt: "mqtt" is reserved: alerts are always published on MQTT, name this notifier otherwise']);
    expect(problems({ 'duty hook': hook })).toEqual(['gateway.yaml: notifiers.duty hook: a notifier name is letters, digits, "_", "-" or "."']);
  });

  it('names the allowed types and keys', () => {
    expect(problems({ x: { type: 'sms' } })).toEqual(['gateway.yaml: notifiers.x.type: "sms" is not known (allowed: webhook, email)']);
    expect(problems({ x: { ...hook, secrett: 's' } })).toEqual(['gateway.yaml: notifiers.x.secrett: unknown key (allowed here: type, url, secret, timeout, headers, outbox)']);
  });

  it('takes an outbox bound and max age per notifier, and refuses a bound too small to hold a backlog', () => {
    const parsed = notifiersSchema.parse({ hook: { ...hook, outbox: { max_size: '4MB', max_age: '6h' } }, mail: { ...mail, outbox: { max_age: '1h' } } });
    expect(parsed.hook!.outbox).toEqual({ max_size: 4 * 1024 ** 2, max_age: 6 * 3_600_000 });
    expect(parsed.mail!.outbox).toEqual({ max_size: 1024 ** 2, max_age: 3_600_000 });
    expect(problems({ hook: { ...hook, outbox: { max_size: '10KB' } } })).toEqual(['gateway.yaml: notifiers.hook.outbox.max_size: 10KB is too small (at least 65536 bytes)']);
    expect(problems({ hook: { ...hook, outbox: { size: '1MB' } } })).toEqual(['gateway.yaml: notifiers.hook.outbox.size: unknown key (allowed here: max_size, max_age)']);
  });

  it('refuses headers the notifier sets itself, and half a login', () => {
    expect(problems({ x: { ...hook, headers: { 'X-Gateway-Signature': 'forged' } } })).toEqual(['gateway.yaml: notifiers.x.headers.X-Gateway-Signature: is set by the notifier itself']);
    expect(problems({ x: { ...mail, username: 'gw' } })).toEqual(['gateway.yaml: notifiers.x.password: username and password go together']);
  });
});
