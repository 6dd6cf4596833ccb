import { describe, expect, it } from 'vitest';
import type { AlertEvent } from '../../gateway/alerts/alert.js';
import { RuleEngine, type ActiveAlert } from '../../gateway/alerts/engine.js';
import { Rule } from '../../gateway/alerts/rule.js';
import { ruleSchema, rulesSchema } from '../../gateway/alerts/rule-config.js';
import type { Reading } from '../../gateway/model.js';

/** An engine on a clock the test moves by hand (time passing, or the wall clock jumping), recording what it emits. */
function harness(rules: unknown[]) {
  let elapsed = 1_000_000;
  let wallOffset = 0;
  const events: AlertEvent[] = [];
  const notified: string[][] = [];
  const acks: ActiveAlert[] = [];
  let changes = 0;
  const engine = new RuleEngine('district-7', { now: () => elapsed + wallOffset, elapsed: () => elapsed }, {
    event: (event, _alert, notify) => {
      events.push(event);
      notified.push([...notify]);
    },
    acknowledged: (alert) => acks.push(alert),
    changed: () => changes++,
  });
  engine.setRules(rulesSchema.parse(rules).map((config) => new Rule(config)));
  const read = (value: Reading['value'], over: Partial<Reading> = {}): void =>
    engine.onReadings([{ device: 'pump-3', domain: 'water', metric: 'level', value, unit: 'm', quality: 'good', tags: { zone: 'north' }, ts: elapsed + wallOffset, ...over }]);
  return {
    engine,
    events,
    notified,
    acks,
    read,
    kinds: () => events.map((e) => e.kind),
    advance(ms: number) {
      elapsed += ms;
      engine.tick();
    },
    /** The wall clock jumps (NTP), time itself does not pass. */
    jumpWall(ms: number) {
      wallOffset += ms;
      engine.tick();
    },
    get now() {
      return elapsed + wallOffset;
    },
    get changes() {
      return changes;
    },
  };
}

const high = { name: 'level-high', match: { domain: 'water', metric: 'level' }, above: 4.5, severity: 'critical', notify: ['duty'] };

describe('RuleEngine: above with hysteresis', () => {
  it('fires once above the threshold, holds in the band, resolves below the clear value', () => {
    const h = harness([{ ...high, clear: 4.3 }]);
    h.read(4.5);
    expect(h.events).toHaveLength(0); // at the limit is not above it
    h.read(4.6);
    expect(h.kinds()).toEqual(['firing']);
    expect(h.events[0]).toMatchObject({ id: 'level-high/pump-3/level', site: 'district-7', rule: 'level-high', device: 'pump-3', metric: 'level', domain: 'water', severity: 'critical', value: 4.6, unit: 'm', message: 'pump-3 level = 4.6 m (> 4.5)' });
    expect(h.notified[0]).toEqual(['duty']);
    // A value hovering at the limit does not flap.
    for (const value of [4.4, 4.6, 4.35, 4.7, 4.31, 4.5]) h.read(value);
    expect(h.kinds()).toEqual(['firing']);
    h.read(4.3);
    expect(h.kinds()).toEqual(['firing', 'resolved']);
    expect(h.events[1]).toMatchObject({ value: 4.3, since: h.events[0]!.since });
    expect(h.engine.active()).toEqual([]);
  });

  it('without clear, resolves as soon as the value is back at or under the threshold', () => {
    const h = harness([high]);
    h.read(5);
    h.read(4.5);
    expect(h.kinds()).toEqual(['firing', 'resolved']);
  });

  it('ignores bad-quality readings, in both directions', () => {
    const h = harness([high]);
    h.read(9, { quality: 'bad' });
    expect(h.events).toHaveLength(0);
    h.read(5);
    h.read(1, { quality: 'bad' });
    expect(h.kinds()).toEqual(['firing']);
    h.read(1, { quality: 'uncertain' });
    expect(h.kinds()).toEqual(['firing', 'resolved']);
  });
});

describe('RuleEngine: for', () => {
  it('fires only when the condition has held for the whole duration, by readings or by the clock', () => {
    const h = harness([{ ...high, for: '30s' }]);
    h.read(5);
    h.advance(20_000);
    h.read(5.1);
    expect(h.events).toHaveLength(0);
    expect(h.engine.active()[0]).toMatchObject({ state: 'pending' });
    h.advance(10_000); // no reading needed: the clock completes the 30 s
    expect(h.kinds()).toEqual(['firing']);
    expect(h.events[0]!.value).toBe(5.1);
  });

  it('starts over when the condition breaks, even once inside the hysteresis band', () => {
    const h = harness([{ ...high, clear: 4, for: '30s' }]);
    h.read(5);
    h.advance(29_000);
    h.read(4.2); // in the band: not above the threshold any more
    h.advance(5_000);
    h.read(5);
    h.advance(29_000);
    expect(h.events).toHaveLength(0);
    h.advance(1_000);
    expect(h.kinds()).toEqual(['firing']);
  });
});

describe('RuleEngine: other conditions', () => {
  it('below, with hysteresis', () => {
    const h = harness([{ name: 'pressure-drop', match: { metric: 'pressure' }, below: 2, clear: 2.3 }]);
    const read = (v: number) => h.read(v, { metric: 'pressure', unit: 'bar' });
    read(2.1);
    read(1.9);
    read(2.2);
    read(2.0);
    expect(h.kinds()).toEqual(['firing']);
    read(2.3);
    expect(h.kinds()).toEqual(['firing', 'resolved']);
  });

  it('outside a band, clearing inside a narrower one', () => {
    const h = harness([{ name: 'ph-band', match: { metric: 'ph' }, outside: [6.5, 8.5], clear: [6.7, 8.3] }]);
    const read = (v: number) => h.read(v, { metric: 'ph', unit: 'pH' });
    read(7);
    read(8.6);
    read(8.4);
    read(6.4);
    expect(h.kinds()).toEqual(['firing']);
    read(6.8);
    expect(h.kinds()).toEqual(['firing', 'resolved']);
  });

  it('equals, for booleans', () => {
    const h = harness([{ name: 'breaker-open', match: { metric: 'breaker_closed' }, equals: false, severity: 'critical' }]);
    h.read(true, { metric: 'breaker_closed' });
    h.read(false, { metric: 'breaker_closed' });
    h.read(false, { metric: 'breaker_closed' });
    h.read(true, { metric: 'breaker_closed' });
    expect(h.kinds()).toEqual(['firing', 'resolved']);
    expect(h.events[0]!.message).toBe('pump-3 breaker_closed = false');
  });

  it('rate of change over its window, by reading timestamps', () => {
    const h = harness([{ name: 'level-rising', match: { metric: 'level' }, rate: { above: 0.5, per: '1m' } }]);
    const at = (seconds: number, value: number) => h.read(value, { ts: 1_000_000 + seconds * 1000 });
    // 0.3 m per minute: fine.
    for (let s = 0; s <= 60; s += 10) at(s, 1 + (0.3 * s) / 60);
    expect(h.events).toHaveLength(0);
    // Then 1.2 m per minute.
    for (let s = 70; s <= 130; s += 10) at(s, 1.3 + (1.2 * (s - 60)) / 60);
    expect(h.kinds()).toEqual(['firing']);
    for (let s = 140; s <= 260; s += 10) at(s, 2.7);
    expect(h.kinds()).toEqual(['firing', 'resolved']);
  });

  it('stale: no reading for the given time, then back', () => {
    const h = harness([{ name: 'silent', match: { domain: 'water' }, stale: '2m', severity: 'warning' }]);
    h.read(1);
    h.advance(60_000);
    h.read(1);
    h.advance(119_000);
    expect(h.events).toHaveLength(0);
    h.advance(2_000);
    expect(h.kinds()).toEqual(['firing']);
    expect(h.events[0]!.message).toBe('pump-3 level: no data for 120 s');
    h.advance(60_000);
    expect(h.kinds()).toEqual(['firing']);
    h.read(1.1);
    expect(h.kinds()).toEqual(['firing', 'resolved']);
  });

  it('a wall clock jump an hour forward or back neither trips staleness nor hurries or stalls `for` and reminders', () => {
    const h = harness([
      { name: 'silent', match: { domain: 'water' }, stale: '2m' },
      { name: 'high', match: { metric: 'level' }, above: 5, for: '10s', severity: 'critical', renotify: '1m' },
    ]);
    h.read(6);
    h.jumpWall(3_600_000);
    expect(h.events, 'nothing fires from a jump forward').toHaveLength(0);
    h.advance(10_000);
    h.read(6);
    expect(h.kinds()).toEqual(['firing']);
    h.jumpWall(-7_200_000);
    h.advance(30_000);
    h.read(6);
    expect(h.kinds(), 'no reminder before its minute').toEqual(['firing']);
    h.advance(30_000);
    h.read(6);
    expect(h.kinds(), 'the reminder comes on time after a jump back').toEqual(['firing', 'reminder']);
  });

  it('rate: a reload that changes the window measures in the new one, not with the old samples', () => {
    const h = harness([{ name: 'level-rising', match: { metric: 'level' }, rate: { above: 0.5, per: '1m' } }]);
    const at = (seconds: number, value: number) => h.read(value, { ts: 1_000_000 + seconds * 1000 });
    // 0.06 m per minute, i.e. 0.001 m per second.
    for (let s = 0; s <= 60; s += 10) at(s, 1 + (0.06 * s) / 60);
    h.engine.setRules(rulesSchema.parse([{ name: 'level-rising', match: { metric: 'level' }, rate: { above: 0.5 / 60, per: '1s' } }]).map((config) => new Rule(config)));
    for (let s = 61; s <= 70; s += 1) at(s, 1 + (0.06 * s) / 60);
    expect(h.events).toHaveLength(0);
  });

  it('rate: starts afresh after the clock went back instead of going blind until it catches up', () => {
    const h = harness([{ name: 'level-rising', match: { metric: 'level' }, rate: { above: 0.5, per: '1m' } }]);
    const at = (seconds: number, value: number) => h.read(value, { ts: 1_000_000 + seconds * 1000 });
    for (let s = 0; s <= 60; s += 10) at(s, 1);
    // An hour back, then a steep rise: 1.2 m per minute.
    for (let s = -3600; s <= -3540; s += 10) at(s, 1 + (1.2 * (s + 3600)) / 60);
    expect(h.kinds()).toEqual(['firing']);
  });

  it('offline: from device status, with for', () => {
    const h = harness([{ name: 'device-offline', match: { device: 'pump-*' }, offline: true, for: '10s', severity: 'critical' }]);
    h.engine.onStatus({ device: 'pump-3', state: 'offline', ts: h.now, error: 'connection refused' });
    h.engine.onStatus({ device: 'meter-1', state: 'offline', ts: h.now });
    h.advance(10_000);
    expect(h.kinds()).toEqual(['firing']);
    expect(h.events[0]).toMatchObject({ id: 'device-offline/pump-3/status', message: 'pump-3 offline', value: 'connection refused' });
    h.engine.onStatus({ device: 'pump-3', state: 'online', ts: h.now });
    expect(h.kinds()).toEqual(['firing', 'resolved']);
  });

  it('applies only the rules for this site', () => {
    const h = harness([{ ...high, name: 'elsewhere', match: { site: 'district-1*' } }, { ...high, name: 'harbour', match: { site: 'harbour', metric: 'level' } }, { ...high, name: 'ours', match: { site: 'district-*' } }]);
    h.read(5);
    expect(h.events.map((e) => e.rule)).toEqual(['ours']);
  });

  it('matches devices and tags by glob', () => {
    const h = harness([{ name: 'north-only', match: { device: 'pump-*', tags: { zone: 'no*' } }, above: 1 }]);
    h.read(2, { device: 'meter-3' });
    h.read(2, { tags: { zone: 'south' } });
    h.read(2, { tags: undefined });
    expect(h.events).toHaveLength(0);
    h.read(2);
    expect(h.kinds()).toEqual(['firing']);
  });
});

describe('RuleEngine: reminders and acknowledgement', () => {
  it('reminds a critical alert every renotify interval until acknowledged', () => {
    const h = harness([{ ...high, renotify: '5m' }]);
    h.read(5);
    h.advance(299_000);
    expect(h.kinds()).toEqual(['firing']);
    h.advance(1_000);
    h.advance(300_000);
    expect(h.kinds()).toEqual(['firing', 'reminder', 'reminder']);
    expect(h.engine.acknowledge('level-high/pump-3/level', 'operator ana')).toBe(true);
    expect(h.acks[0]!.acknowledged).toEqual({ by: 'operator ana', at: h.now });
    h.advance(3_600_000);
    expect(h.kinds()).toEqual(['firing', 'reminder', 'reminder']);
    h.read(1);
    expect(h.events.at(-1)).toMatchObject({ kind: 'resolved', acknowledged: { by: 'operator ana' } });
    expect(h.engine.acknowledge('level-high/pump-3/level', 'x')).toBe(false);
  });

  it('does not remind warnings unless asked to', () => {
    const h = harness([{ ...high, severity: 'warning' }]);
    h.read(5);
    h.advance(24 * 3_600_000);
    expect(h.kinds()).toEqual(['firing']);
  });
});

describe('RuleEngine: restart and reload', () => {
  it('a restored firing alert is still firing and is not announced again', () => {
    const first = harness([high]);
    first.read(5);
    const saved = first.engine.active();
    const second = harness([high]);
    second.engine.restore(saved);
    second.read(5.2);
    second.advance(1000);
    expect(second.events).toHaveLength(0);
    second.read(4);
    expect(second.kinds()).toEqual(['resolved']);
    expect(second.events[0]!.since).toBe(saved[0]!.since);
  });

  it('a reload keeps the state of rules that remain and resolves the alerts of removed ones', () => {
    const h = harness([high, { name: 'low', match: { metric: 'level' }, below: 1 }]);
    h.read(5);
    h.engine.setRules([new Rule(ruleSchema.parse({ ...high, above: 4.8 }))]);
    h.read(4.9);
    expect(h.kinds()).toEqual(['firing']);
    h.read(0.5);
    expect(h.kinds()).toEqual(['firing', 'resolved']);
    h.read(5);
    h.engine.setRules([]);
    expect(h.events.at(-1)).toMatchObject({ kind: 'resolved', message: expect.stringContaining('the rule was removed') });
  });
});

describe('rule config', () => {
  const problems = (rule: unknown): string[] => {
    const result = ruleSchema.safeParse(rule);
    return result.success ? [] : result.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`);
  };

  it('refuses what would never work', () => {
    expect(problems({ name: 'a' })).toEqual([': needs a condition: one of above, below, outside, equals, rate, stale, offline']);
    expect(problems({ name: 'a', above: 1, below: 0 })).toEqual([': has above and below: give exactly one condition']);
    expect(problems({ name: 'a', above: 5, clear: 6 })).toEqual(['clear: must be a number at or below the threshold 5 (the alert ends once the value is under it)']);
    expect(problems({ name: 'a', outside: [1, 5], clear: [0, 4] })).toEqual(['clear: must be a band [low, high] inside [1, 5]']);
    expect(problems({ name: 'a', above: 1, message: '{device} at {valeu}' })[0]).toMatch(/^message: unknown placeholder \{valeu\}/);
    expect(problems({ name: 'a', rate: { per: '1m' } })).toEqual(['rate: give exactly one of above or below']);
  });
});
