import { describe, expect, it } from 'vitest';
import { backoffDelay as reconnectDelay } from '../../gateway/util/backoff.js';
import { forwardClasses, forwardRoutes, TopicMap, type ForwardRoute } from '../../gateway/bridge/routes.js';
import { Topics } from '../../gateway/contract/topics.js';

const topics = new Topics('city', 'district-7');

/** The route a topic is forwarded by, as the local broker would match it (MQTT wildcards), or undefined. */
function routeOf(routes: readonly ForwardRoute[], topic: string): ForwardRoute | undefined {
  const matches = routes.filter((route) => matchesFilter(route.filter, topic) && route.accepts(topic));
  expect(matches.length).toBeLessThanOrEqual(1);
  return matches[0];
}

function matchesFilter(filter: string, topic: string): boolean {
  const f = filter.split('/');
  const t = topic.split('/');
  return f.length === t.length && f.every((level, i) => level === '+' || level === t[i]);
}

describe('bridge routes', () => {
  const routes = forwardRoutes(topics, forwardClasses);

  it('sorts every topic of the contract into its class, with the retain flag it has locally', () => {
    const cases: [string, string | undefined, boolean?][] = [
      ['city/district-7/water/pump-station-3/level', 'readings', false],
      ['city/district-7/status/pump-station-3', 'status', true],
      ['city/district-7/alerts/reservoir-high/pump-station-3/level', 'alerts', true],
      ['city/district-7/events/alerts', 'events', false],
      ['city/district-7/events/commands', 'events', false],
      ['city/district-7/command/pump-1/setpoint/result', 'command_results', false],
      // Not bridged: commands (they come down), ingest, client errors, acknowledgements and their results.
      ['city/district-7/command/pump-1/setpoint', undefined],
      ['city/district-7/ingest/water/lora-n-12', undefined],
      ['city/district-7/clients/node-red/errors', undefined],
      ['city/district-7/alerts/reservoir-high/pump-station-3/level/ack', undefined],
      ['city/district-7/alerts/reservoir-high/pump-station-3/level/ack/result', undefined],
      // Three levels under a reserved first level are never readings.
      ['city/district-7/status/a/b', undefined],
      ['city/district-7/events/alerts/x', undefined],
      ['city/other-site/water/pump-1/level', undefined],
    ];
    for (const [topic, forwardClass, retain] of cases) {
      const route = routeOf(routes, topic);
      expect(route?.forwardClass, topic).toBe(forwardClass);
      if (route) expect(route.retain, topic).toBe(retain);
    }
  });

  it('subscribes only to the classes asked for', () => {
    expect(forwardRoutes(topics, ['status', 'alerts']).map((route) => route.filter)).toEqual(['city/district-7/status/+', 'city/district-7/alerts/+/+/+']);
  });

  it('maps topics below the local root onto the remote root, and commands back down', () => {
    const map = new TopicMap(topics.root, 'platform/gw/d7');
    expect(map.suffixOf('city/district-7/water/pump-1/level')).toBe('water/pump-1/level');
    expect(map.remoteTopic('water/pump-1/level')).toBe('platform/gw/d7/water/pump-1/level');
    expect(map.remoteCommandFilter).toBe('platform/gw/d7/command/+/+');
    expect(map.localCommand('platform/gw/d7/command/pump-1/setpoint')).toBe('city/district-7/command/pump-1/setpoint');
    for (const other of ['platform/gw/d7/command/pump-1/setpoint/result', 'platform/gw/d7/command/pump-1', 'platform/gw/d7/command//x', 'platform/gw/d8/command/pump-1/setpoint', 'city/district-7/command/pump-1/setpoint']) {
      expect(map.localCommand(other), other).toBeUndefined();
    }
  });
});

describe('reconnect backoff', () => {
  it('stays between reconnect_min and a ceiling that doubles up to reconnect_max, random from the first retry', () => {
    expect(reconnectDelay(0, 1000, 60_000, () => 0)).toBe(1000);
    expect(reconnectDelay(0, 1000, 60_000, () => 1)).toBe(2000);
    expect(reconnectDelay(3, 1000, 60_000, () => 1)).toBe(16_000);
    expect(reconnectDelay(10, 1000, 60_000, () => 1)).toBe(60_000);
    expect(reconnectDelay(10_000, 1000, 60_000, () => 0.5)).toBe(30_500);
    expect(reconnectDelay(5, 500, 500, () => 0.7)).toBe(500);
  });
});
