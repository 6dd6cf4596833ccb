import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { Acl, filterWithin, type Identity } from '../../gateway/broker/acl.js';
import { topicMatches } from '../../gateway/broker/aedes-patches.js';
import { Authenticator } from '../../gateway/broker/authenticator.js';
import type { BoundListener, ConnectionOrigin } from '../../gateway/broker/listeners.js';
import { hashPassword } from '../../gateway/broker/password.js';
import { Topics } from '../../gateway/contract/topics.js';

const acl = new Acl(new Topics('city', 'd7'));
const device: Identity = { user: 'lora-gw', role: 'device', devices: ['lora-*', 'pump-7'] };
const staff: Identity = { user: 'desk', role: 'staff', devices: [] };
const operator: Identity = { user: 'ops', role: 'operator', devices: [] };
const internal: Identity = { user: 'internal:nodered', role: 'internal', devices: [] };
const viewer: Identity = { user: 'anonymous', role: 'viewer', devices: [] };

describe('Acl', () => {
  it.each([
    [device, 'city/d7/ingest/water/lora-12', true],
    [device, 'city/d7/ingest/water/pump-7', true],
    [device, 'city/d7/ingest/water/pump-8', false],
    [device, 'city/d7/ingest/water/lora-12/extra', false],
    [device, 'city/d7/command/lora-1/valve/result', true],
    [device, 'city/d7/command/pump-8/valve/result', false],
    [device, 'city/d7/command/lora-1/valve', false],
    [device, 'city/d7/water/lora-1/level', false],
    [device, 'city/d7/status/lora-1', false],
    [device, 'city/other/ingest/water/lora-1', false],
    [staff, 'city/d7/alerts/overflow/pump-7/level/ack', true],
    [staff, 'city/d7/alerts/overflow/pump-7/level', false],
    [staff, 'city/d7/command/pump-7/valve', false],
    [operator, 'city/d7/command/pump-7/valve', true],
    [operator, 'city/d7/alerts/overflow/pump-7/level/ack', true],
    [operator, 'city/d7/ingest/water/pump-7', false],
    [operator, 'city/d7/events/alerts', false],
    [internal, 'city/d7/ingest/water/pump-7', true],
    [internal, 'city/d7/water/pump-7/level', false],
    [operator, '$SYS/broker/uptime', false],
    [viewer, 'city/d7/command/pump-7/valve', false],
    [viewer, 'city/d7/alerts/overflow/pump-7/level/ack', false],
    [viewer, 'city/d7/ingest/water/pump-7', false],
  ])('publish %#: %o on %s → %s', (identity, topic, allowed) => {
    expect(acl.mayPublish(identity, topic)).toBe(allowed);
  });

  it.each([
    [device, 'city/d7/command/lora-4/+', true],
    [device, 'city/d7/command/lora-4/valve', true],
    [device, 'city/d7/command/+/valve', false],
    [device, 'city/d7/command/lora-4/#', false],
    [device, 'city/d7/command/pump-8/valve', false],
    [device, 'city/d7/clients/c-1/errors', true],
    [device, 'city/d7/clients/c-2/errors', false],
    [device, 'city/d7/#', false],
    [staff, 'city/d7/alerts/#', true],
    [staff, 'city/d7/alerts/+/pump-7/+', true],
    [staff, 'city/d7/status/+', true],
    [staff, 'city/d7/events/alerts', true],
    [staff, 'city/d7/#', false],
    [staff, 'city/d7/+/pump-7/level', false],
    [staff, 'city/d7/water/#', false],
    [operator, '#', true],
    [operator, '+/#', true],
    [operator, 'city/+/water/#', true],
    [operator, 'city/d7/command/pump-7/valve', true],
    [operator, 'city/#', true],
    [operator, 'city/d7', false],
    [operator, 'city/+', false],
    [operator, 'city/other/#', false],
    [operator, 'test/nosubscribe', false],
    [operator, '$SYS/#', false],
    [internal, 'city/d7/#', true],
    [internal, 'elsewhere/#', false],
    [viewer, '#', true],
    [viewer, 'city/d7/water/+/level', true],
    [viewer, '$SYS/#', false],
  ])('subscribe %#: %o to %s → %s', (identity, filter, allowed) => {
    expect(acl.maySubscribe(identity, filter, 'c-1')).toBe(allowed);
  });

  it('compares filters level by level', () => {
    expect(filterWithin('a/b/c', 'a/+/c')).toBe(true);
    expect(filterWithin('a/+/c', 'a/b/c')).toBe(false);
    expect(filterWithin('a', 'a/#')).toBe(true);
    expect(filterWithin('a/#', 'a/+')).toBe(false);
    expect(filterWithin('a/b', 'a/b/c')).toBe(false);
    expect(filterWithin('', '#')).toBe(true);
    expect(filterWithin('a/', 'a/+')).toBe(true);
    expect(filterWithin('a/', 'a')).toBe(false);
  });

  it('compares in place exactly as level lists would', () => {
    // The definition, on split levels: what the allocation-free walk must agree with.
    const byLevels = (filter: string, allowed: string): boolean => {
      const want = filter.split('/');
      const may = allowed.split('/');
      for (let i = 0; i < want.length; i++) {
        if (may[i] === '#') return true;
        if (may[i] === undefined || want[i] === '#') return false;
        if (may[i] !== '+' && want[i] !== may[i]) return false;
      }
      return want.length === may.length || (may.length === want.length + 1 && may[want.length] === '#');
    };
    const topic = fc.array(fc.constantFrom('a', 'b', 'ab', '', '+', '#', 'x+', '#y'), { minLength: 1, maxLength: 5 }).map((levels) => levels.join('/'));
    fc.assert(
      fc.property(topic, topic, (filter, allowed) => filterWithin(filter, allowed) === byLevels(filter, allowed)),
      { numRuns: 5000 },
    );
  });

  it('matches topics against filters, keeping `$` topics from leading wildcards [MQTT-4.7.2-1]', () => {
    expect(topicMatches('city/+/water/#', 'city/d7/water/pump-7/level')).toBe(true);
    expect(topicMatches('city/d7/#', 'city/d7')).toBe(true);
    expect(topicMatches('city/d7/+', 'city/d7/water/pump-7')).toBe(false);
    expect(topicMatches('#', '$SYS/broker/uptime')).toBe(false);
    expect(topicMatches('+/broker/uptime', '$SYS/broker/uptime')).toBe(false);
    expect(topicMatches('$SYS/#', '$SYS/broker/uptime')).toBe(true);
  });
});

describe('Authenticator', () => {
  const listener = (loopback: boolean, clientCertificates: BoundListener['clientCertificates'] = 'none'): BoundListener => ({
    type: 'tcp',
    host: loopback ? '127.0.0.1' : '10.0.0.5',
    port: 1883,
    url: 'mqtt://test',
    loopback,
    clientCertificates,
  });
  const at = (loopback: boolean, extra: Partial<ConnectionOrigin> = {}): ConnectionOrigin => ({ listener: listener(loopback), ...extra });

  it('lets anonymous clients in on loopback only, with the configured role', async () => {
    const auth = new Authenticator({ users: [], allowAnonymous: true, anonymousRole: 'staff' });
    expect(await auth.login(at(true), undefined, undefined)).toEqual({ identity: { user: 'anonymous', role: 'staff', devices: [] } });
    expect(await auth.login(at(false), undefined, undefined)).toMatchObject({ refused: 5, reason: expect.stringMatching(/network listener/) });
    const closed = new Authenticator({ users: [], allowAnonymous: false, anonymousRole: 'operator' });
    expect(await closed.login(at(true), undefined, undefined)).toMatchObject({ refused: 5 });
  });

  it('checks passwords against scrypt hashes and answers unknown users like wrong passwords', async () => {
    const auth = new Authenticator({
      users: [{ username: 'pump-7', role: 'device', devices: ['pump-7'], password_hash: await hashPassword('right', { ln: 10 }) }],
      allowAnonymous: false,
      anonymousRole: 'operator',
    });
    expect(await auth.login(at(false), 'pump-7', Buffer.from('right'))).toEqual({ identity: { user: 'pump-7', role: 'device', devices: ['pump-7'] } });
    // Again: from the keyed-digest cache.
    expect(await auth.login(at(false), 'pump-7', Buffer.from('right'))).toMatchObject({ identity: { user: 'pump-7' } });
    expect(await auth.login(at(false), 'pump-7', Buffer.from('wrong'))).toEqual({ refused: 4, reason: 'bad user name or password' });
    expect(await auth.login(at(false), 'nobody', Buffer.from('right'))).toEqual({ refused: 4, reason: 'bad user name or password' });
    expect(await auth.login(at(false), 'pump-7', undefined)).toMatchObject({ refused: 4 });
  });

  it('takes a verified certificate as the user it names, and requires one where the listener says so', async () => {
    const auth = new Authenticator({ users: [{ username: 'cam-1', role: 'device', devices: ['cam-1'] }], allowAnonymous: true, anonymousRole: 'operator' });
    expect(await auth.login(at(false, { certificateUser: 'cam-1' }), undefined, undefined)).toMatchObject({ identity: { user: 'cam-1' } });
    expect(await auth.login(at(false, { certificateUser: 'cam-9' }), undefined, undefined)).toMatchObject({ refused: 5 });
    expect(await auth.login({ listener: listener(true, 'require') }, undefined, undefined)).toMatchObject({ refused: 5, reason: expect.stringMatching(/requires a client certificate/) });
    // A user without a password hash cannot log in with a password.
    expect(await auth.login(at(false), 'cam-1', Buffer.from(''))).toMatchObject({ refused: 4 });
  });

  it('issues internal logins that work on loopback listeners only', async () => {
    const auth = new Authenticator({ users: [], allowAnonymous: false, anonymousRole: 'operator' });
    const { username, password } = auth.issueInternal('nodered');
    expect(await auth.login(at(true), username, Buffer.from(password))).toEqual({ identity: { user: 'internal:nodered', role: 'internal', devices: [] } });
    expect(await auth.login(at(true), username, Buffer.from('guess'))).toMatchObject({ refused: 4 });
    expect(await auth.login(at(false), username, Buffer.from(password))).toMatchObject({ refused: 5 });
  });
});
