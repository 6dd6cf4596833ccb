import { describe, expect, it } from 'vitest';
import { LoginLimiter } from '../../gateway/http/login-limiter.js';
import { SessionStore } from '../../gateway/http/sessions.js';

describe('HTTP sessions', () => {
  it('expire after their lifetime without use, and are renewed by use', () => {
    let now = 0;
    const sessions = new SessionStore(1000, 10, () => now);
    const token = sessions.open({ user: 'sam', role: 'staff' });
    now = 900;
    expect(sessions.find(token)?.identity.user).toBe('sam');
    now = 1800;
    expect(sessions.find(token)).toBeDefined();
    now = 2900;
    expect(sessions.find(token)).toBeUndefined();
    expect(sessions.size).toBe(0);
  });

  it('hold at most max, pushing out the least recently used', () => {
    const sessions = new SessionStore(60_000, 2, () => 0);
    const first = sessions.open({ user: 'a', role: 'viewer' });
    const second = sessions.open({ user: 'b', role: 'viewer' });
    sessions.find(first);
    sessions.open({ user: 'c', role: 'viewer' });
    expect(sessions.find(first)).toBeDefined();
    expect(sessions.find(second)).toBeUndefined();
    expect(sessions.closeUsers(['a', 'c'])).toBe(2);
  });
});

describe('refused-login limit', () => {
  it('lets `attempts` refusals through, then makes the address wait, and refills over time', () => {
    let now = 0;
    const limiter = new LoginLimiter(3, 60_000, () => now);
    for (let i = 0; i < 3; i++) {
      expect(limiter.waitFor('10.0.0.1')).toBe(0);
      limiter.refused('10.0.0.1');
    }
    expect(limiter.waitFor('10.0.0.1')).toBe(0);
    limiter.refused('10.0.0.1');
    expect(limiter.waitFor('10.0.0.1')).toBe(20_000);
    expect(limiter.waitFor('10.0.0.2')).toBe(0);
    now = 20_000;
    expect(limiter.waitFor('10.0.0.1')).toBe(0);
  });
});
