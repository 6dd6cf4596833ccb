import { describe, expect, it } from 'vitest';
import { bridgeSchema } from '../../gateway/bridge/config.js';

/** Each problem as `path: message`. */
function problems(input: unknown): string[] {
  const result = bridgeSchema.safeParse(input);
  return result.success ? [] : result.error.issues.map((issue) => `${issue.path.join('.')}: ${issue.message}`);
}

describe('bridge config', () => {
  it('fills in the defaults', () => {
    expect(bridgeSchema.parse({ url: 'mqtt://platform.example:1883' })).toEqual({
      url: 'mqtt://platform.example:1883',
      reject_unauthorized: true,
      keepalive: 30_000,
      reconnect_min: 1000,
      reconnect_max: 60_000,
      forward: ['readings', 'status', 'alerts', 'events', 'command_results'],
      commands: true,
      qos: 1,
      inflight: 100,
      buffer: { max_size: 256 * 1024 ** 2, fsync: 'interval', fsync_interval: 1000 },
    });
  });

  it('takes durations, sizes and a TLS setup', () => {
    const config = bridgeSchema.parse({
      url: 'mqtts://platform.example:8883',
      username: 'gw-d7',
      password: 'secret',
      ca: 'certs/platform-ca.pem',
      cert: 'certs/gw.pem',
      key: 'certs/gw.key',
      keepalive: '1m',
      reconnect_min: '250ms',
      reconnect_max: '2m',
      forward: ['status', 'alerts'],
      remote_prefix: 'cities/berlin/district-7',
      qos: 0,
      buffer: { max_size: '64KB', fsync: 'always' },
    });
    expect(config).toMatchObject({ keepalive: 60_000, reconnect_min: 250, reconnect_max: 120_000, qos: 0, buffer: { max_size: 65_536, fsync: 'always', fsync_interval: 1000 } });
  });

  it('says what is wrong', () => {
    expect(problems({ url: 'http://platform.example' })).toEqual(['url: must be an mqtt:// or mqtts:// URL']);
    expect(problems({ url: 'mqtt://p', ca: 'ca.pem' })).toEqual(['ca: is for mqtts:// (the url says mqtt://)']);
    expect(problems({ url: 'mqtts://p', cert: 'gw.pem' })).toEqual(['key: cert and key go together']);
    expect(problems({ url: 'mqtt://p', password: 'x' })).toEqual(['username: missing: a password needs a username']);
    expect(problems({ url: 'mqtt://p', reconnect_min: '10s', reconnect_max: '1s' })).toEqual(['reconnect_max: must not be shorter than reconnect_min']);
    expect(problems({ url: 'mqtt://p', forward: [] })).toEqual(['forward: name at least one class (or leave the bridge out)']);
    expect(problems({ url: 'mqtt://p', forward: ['status', 'status'] })).toEqual(['forward: names a class twice']);
    expect(problems({ url: 'mqtt://p', forward: ['ingest'] })).toHaveLength(1);
    expect(problems({ url: 'mqtt://p', remote_prefix: 'city/#' })).toHaveLength(1);
    expect(problems({ url: 'mqtt://p', remote_prefix: '/city' })).toHaveLength(1);
    expect(problems({ url: 'mqtt://p', qos: 2 })).toHaveLength(1);
    expect(problems({ url: 'mqtt://p', inflight: 0 })).toHaveLength(1);
    expect(problems({ url: 'mqtt://p', buffer: { max_size: '1KB' } })).toEqual(['buffer.max_size: 1KB is too small (at least 65536 bytes)']);
    expect(problems({ url: 'mqtt://p', keepalive: '19h' })).toEqual(['keepalive: is too long (at most 65535 s)']);
    expect(problems({ url: 'mqtt://p', retain: true })).toHaveLength(1);
  });
});
