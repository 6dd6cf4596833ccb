/** What a config reload changes: which devices, which keys only a restart can apply. Pure. */
import type { MqttDeviceConfig } from '../ingest/config.js';
import type { Device } from '../plugins.js';
import type { LoadedConfig } from './load.js';

export function mqttDevices(config: LoadedConfig): MqttDeviceConfig[] {
  return config.devices.filter((device) => device.driver === 'mqtt');
}

export function polledDevices(config: LoadedConfig): Set<string> {
  return new Set(config.devices.filter((device) => device.driver !== 'mqtt').map((device) => device.name));
}

export function deviceChanges(before: readonly Device[], after: readonly Device[]): { added: string[]; changed: string[]; removed: string[] } {
  const old = new Map(before.map((device) => [device.name, JSON.stringify(device)]));
  const fresh = new Map(after.map((device) => [device.name, JSON.stringify(device)]));
  return {
    added: [...fresh.keys()].filter((name) => !old.has(name)),
    changed: [...fresh].filter(([name, text]) => old.has(name) && old.get(name) !== text).map(([name]) => name),
    removed: [...old.keys()].filter((name) => !fresh.has(name)),
  };
}

/** Keys a running gateway cannot take over: they shape the broker, the buffers or the uplinks it was started with. */
export function restartOnlyChanges(before: LoadedConfig, after: LoadedConfig): string[] {
  const { users: _before, allow_anonymous: _a, anonymous_role: _r, ...mqttBefore } = before.mqtt;
  const { users: _after, allow_anonymous: _b, anonymous_role: _s, ...mqttAfter } = after.mqtt;
  const keys: [string, unknown, unknown][] = [
    ['site', before.site, after.site],
    ['mqtt', mqttBefore, mqttAfter],
    ['http', before.http, after.http],
    ['pipeline', before.pipeline, after.pipeline],
    ['data_dir', before.data_dir, after.data_dir],
    ...[...new Set([...Object.keys(before.sinks), ...Object.keys(after.sinks)])].map((name): [string, unknown, unknown] => [name, before.sinks[name], after.sinks[name]]),
    ['simulator', before.simulator, after.simulator],
    ['log', before.log, after.log],
    ['commands', before.commands, after.commands],
    ['node_red', before.node_red, after.node_red],
  ];
  return keys.filter(([, a, b]) => JSON.stringify(a) !== JSON.stringify(b)).map(([key]) => key);
}
