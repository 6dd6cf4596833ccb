import { dirname, resolve } from 'node:path';
import type { z } from 'zod';
import type { ConfigSections } from '../../drivers/plugin.js';
import { resolveSimulator, type SimulatedSlave } from '../../tools/simulator/config.js';
import { ruleFileSchema, type RuleConfig } from '../alerts/rule-config.js';
import type { ConfigContext } from '../config/context.js';
import { resolveFiles } from '../config/files.js';
import { ConfigError, describeIssues } from '../config/errors.js';
import { displayName, readYaml, YamlFiles } from '../config/yaml.js';
import { deviceKinds, isDevice, sinkKinds, type Device } from '../plugins.js';
import { configSchema, sectionsOf, sinkSectionsOf, type GatewayConfig } from './schema.js';

export interface LoadedConfig extends Omit<GatewayConfig, 'devices' | 'simulator' | 'rules' | 'rule_files'> {
  /** The file it was read from, for messages. */
  readonly file: string;
  /** The rules of the file and of its rule files, in that order. */
  readonly rules: RuleConfig[];
  /** Absolute paths of the config file and its rule files: a change to any of them reloads the rules. */
  readonly ruleSources: string[];
  /** Reads the same file again with the same environment (throws ConfigError). */
  readonly reload: () => LoadedConfig;
  readonly devices: Device[];
  /** The top-level sections device kinds own (`buses:`), for their drivers. */
  readonly sections: ConfigSections;
  /** The outputs' sections present (`influx`, `bridge`), resolved by their kinds. */
  readonly sinks: ConfigSections;
  readonly simulator: { slaves: SimulatedSlave[] } | undefined;
}

/** Reads, validates and resolves a config file; throws ConfigError listing every problem found. */
export function loadConfig(file: string, env: NodeJS.ProcessEnv = process.env): LoadedConfig {
  const shown = displayName(file);
  const { value, problems } = readYaml(file, shown, env, '"site:"');
  const parsed = configSchema.safeParse(value);
  if (!parsed.success) problems.push(...describeIssues(shown, parsed.error.issues, value, configSchema as z.ZodType));
  if (problems.length) throw new ConfigError(problems);
  const config = parsed.data!;
  const ctx: ConfigContext = {
    file: shown,
    dir: dirname(file),
    profilesDir: resolve(dirname(file), config.profiles_dir),
    files: new YamlFiles(env, problems),
    problem: (at, message) => problems.push(`${shown}: ${at}: ${message}`),
  };

  // Each kind completes its devices (Modbus devices get their profile merged in).
  const devices = config.devices.map((device, index) => deviceKinds.find((kind) => kind.driver === device.driver)?.resolve(device, `devices[${index}]`, ctx) ?? device).filter(isDevice);
  const simulator = config.simulator && resolveSimulator(config.simulator, ctx);
  const ruleFiles = config.rule_files.map((path) => resolve(dirname(file), path));
  const rules = loadRules(config.rules, shown, ruleFiles, env, problems);
  checkNotifyTargets(rules, Object.keys(config.notifiers), problems);
  const listeners = config.mqtt.listeners.map((listener, index) => (listener.type === 'tcp' ? listener : resolveFiles(listener, `mqtt.listeners[${index}]`, ctx)));
  const http = config.http.tls ? { ...config.http, tls: resolveFiles(config.http.tls, 'http.tls', ctx) } : config.http;
  const sinks = Object.fromEntries(Object.entries(sinkSectionsOf(config)).map(([name, section]) => [name, sinkKinds.find((kind) => kind.name === name)?.resolve(section, ctx) ?? section]));
  if (problems.length) throw new ConfigError(problems);
  const dataDir = resolve(dirname(file), config.data_dir);
  // The outputs' sections travel resolved, under `sinks`.
  const { rule_files: _ruleFiles, ...withSinks } = config;
  const rest = Object.fromEntries(Object.entries(withSinks).filter(([key]) => !sinkKinds.some((kind) => kind.name === key))) as typeof withSinks;
  return {
    ...rest,
    mqtt: { ...config.mqtt, listeners },
    http,
    sinks,
    file: shown,
    data_dir: dataDir,
    devices,
    sections: sectionsOf(config),
    simulator,
    rules: rules.map((r) => r.rule),
    ruleSources: [resolve(file), ...ruleFiles],
    reload: () => loadConfig(file, env),
  };
}

/** A rule and where it was written, for messages. */
interface PlacedRule {
  readonly rule: RuleConfig;
  readonly file: string;
  readonly at: string;
}

/** The config's own rules, then each rule file's; names must be unique across all of them. */
function loadRules(own: readonly RuleConfig[], shown: string, files: readonly string[], env: NodeJS.ProcessEnv, problems: string[]): PlacedRule[] {
  const placed: PlacedRule[] = own.map((rule, index) => ({ rule, file: shown, at: `rules[${index}]` }));
  for (const path of files) {
    const name = displayName(path);
    let read: { value: unknown; problems: string[] };
    try {
      read = readYaml(path, name, env, '"rules:"');
    } catch (error) {
      if (!(error instanceof ConfigError)) throw error;
      problems.push(...error.problems);
      continue;
    }
    problems.push(...read.problems);
    const parsed = ruleFileSchema.safeParse(read.value);
    if (!parsed.success) {
      problems.push(...describeIssues(name, parsed.error.issues, read.value, ruleFileSchema as z.ZodType));
      continue;
    }
    placed.push(...parsed.data.rules.map((rule, index) => ({ rule, file: name, at: `rules[${index}]` })));
  }
  const first = new Map<string, PlacedRule>();
  for (const entry of placed) {
    const earlier = first.get(entry.rule.name);
    if (earlier && earlier.file !== entry.file) problems.push(`${entry.file}: ${entry.at}.name: "${entry.rule.name}" is already the name of ${earlier.at} in ${earlier.file} (names must be unique)`);
    else if (!earlier) first.set(entry.rule.name, entry);
  }
  return placed;
}

function checkNotifyTargets(rules: readonly PlacedRule[], notifiers: readonly string[], problems: string[]): void {
  for (const { rule, file, at } of rules) {
    rule.notify.forEach((target, index) => {
      if (!notifiers.includes(target)) {
        problems.push(`${file}: ${at}.notify[${index}]: no notifier "${target}" (defined under notifiers: ${notifiers.length ? notifiers.join(', ') : 'none'})`);
      }
    });
  }
}
