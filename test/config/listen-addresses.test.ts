import { describe, expect, it } from 'vitest';
import { findPortClashes } from '../../gateway/config/listen-addresses.js';

const clashesOf = (...hosts: [string, number][]) => findPortClashes(hosts.map(([host, port], index) => ({ at: `#${index}`, host, port }))).map((c) => [c.address.at, c.taken.at]);

describe('findPortClashes', () => {
  it('pairs the same host and port, reported at the later one', () => {
    expect(clashesOf(['127.0.0.1', 1883], ['127.0.0.1', 1883], ['127.0.0.1', 1883])).toEqual([['#1', '#0'], ['#2', '#0']]);
  });

  it('lets port 0 repeat: the kernel picks a different free port each time', () => {
    expect(clashesOf(['127.0.0.1', 0], ['127.0.0.1', 0], ['0.0.0.0', 0])).toEqual([]);
  });

  it('lets one port serve different addresses', () => {
    expect(clashesOf(['127.0.0.1', 1883], ['127.0.0.2', 1883], ['::1', 1883], ['10.0.0.5', 1883])).toEqual([]);
  });

  it('knows the wildcards: 0.0.0.0 takes every IPv4 address, :: takes every address', () => {
    expect(clashesOf(['10.0.0.5', 1883], ['0.0.0.0', 1883])).toEqual([['#1', '#0']]);
    expect(clashesOf(['0.0.0.0', 1883], ['::1', 1883])).toEqual([]);
    expect(clashesOf(['::1', 1883], ['::', 1883], ['127.0.0.1', 1883])).toEqual([['#1', '#0'], ['#2', '#1']]);
  });

  it('takes localhost for 127.0.0.1 or ::1, whichever the resolver gives', () => {
    expect(clashesOf(['localhost', 9001], ['127.0.0.1', 9001], ['::1', 9001])).toEqual([['#1', '#0'], ['#2', '#0']]);
  });
});
