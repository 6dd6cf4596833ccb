import { existsSync, readFileSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { LineCounter, parseDocument, type Document } from 'yaml';
import type { z } from 'zod';
import type { SerialLineDeviceConfig } from '../../drivers/serial-line/config.js';
import type { MqttDeviceConfig } from '../ingest/config.js';
import { ruleFileSchema, type RuleConfig } from '../alerts/rule-config.js';
import { substituteEnv } from './env.js';
import { ConfigError, describeIssues, formatPath } from './errors.js';
import { configSchema, profileSchema, type GatewayConfig, type ModbusPoint, type ModbusRtuDeviceConfig, type ModbusTcpDeviceConfig, type Profile, type SimulatedSlaveConfig } from './schema.js';

/** A Modbus device with its profile merged in: the points to poll and the domain are final. */
type Resolved<T> = Omit<T, 'points' | 'profile' | 'domain'> & { domain: string; points: ModbusPoint[] };
export type ModbusTcpDevice = Resolved<ModbusTcpDeviceConfig>;
export type ModbusRtuDevice = Resolved<ModbusRtuDeviceConfig>;
export type ModbusDevice = ModbusTcpDevice | ModbusRtuDevice;
export type Device = ModbusDevice | SerialLineDeviceConfig | MqttDeviceConfig;

export function isModbusDevice(device: Device): device is ModbusDevice {
  return device.driver === 'modbus-tcp' || device.driver === 'modbus-rtu';
}
export type SimulatedSlave = SimulatedSlaveConfig & { points: ModbusPoint[] };

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
  const profiles = new ProfileStore(resolve(dirname(file), config.profiles_dir), env);

  // Modbus devices get their profile merged in; the others carry everything they need.
  const devices = config.devices.map((device, index) => (device.driver === 'modbus-tcp' || device.driver === 'modbus-rtu' ? resolveDevice(device, index, profiles, shown, problems) : device));
  const slaves = (config.simulator?.slaves ?? []).map((slave, index) => {
    const profile = profiles.get(slave.profile, `simulator.slaves[${index}].profile`, shown, problems);
    return { ...slave, points: profile?.points ?? [] };
  });
  problems.push(...profiles.problems);
  const ruleFiles = config.rule_files.map((path) => resolve(dirname(file), path));
  const rules = loadRules(config.rules, shown, ruleFiles, env, problems);
  checkNotifyTargets(rules, Object.keys(config.notifiers), problems);
  const listeners = config.mqtt.listeners.map((listener, index) => (listener.type === 'tcp' ? listener : resolveFiles(listener, `mqtt.listeners[${index}]`, dirname(file), shown, problems)));
  const bridge = config.bridge && resolveFiles(config.bridge, 'bridge', dirname(file), shown, problems);
  if (problems.length) throw new ConfigError(problems);
  const dataDir = resolve(dirname(file), config.data_dir);
  const { rule_files: _ruleFiles, ...rest } = config;
  return {
    ...rest,
    mqtt: { ...config.mqtt, listeners },
    bridge,
    file: shown,
    data_dir: dataDir,
    devices,
    simulator: config.simulator ? { slaves } : undefined,
    rules: rules.map((r) => r.rule),
    ruleSources: [resolve(file), ...ruleFiles],
    reload: () => loadConfig(file, env),
  };
}

/** Certificate files are named relative to the config file; a missing one is a config problem, not a start-up crash. */
function resolveFiles<T extends Partial<Record<'cert' | 'key' | 'ca', string>>>(section: T, at: string, dir: string, file: string, problems: string[]): T {
  const resolved = { ...section };
  for (const key of ['cert', 'key', 'ca'] as const) {
    const path = section[key];
    if (path === undefined) continue;
    const absolute = resolve(dir, path);
    resolved[key] = absolute as T[typeof key];
    if (!existsSync(absolute)) problems.push(`${file}: ${at}.${key}: no file ${displayName(absolute)} (paths are relative to the config file)`);
  }
  return resolved;
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

function resolveDevice(device: ModbusTcpDeviceConfig | ModbusRtuDeviceConfig, index: number, profiles: ProfileStore, file: string, problems: string[]): ModbusDevice {
  const at = `devices[${index}]`;
  const profile = device.profile ? profiles.get(device.profile, `${at}.profile`, file, problems) : undefined;
  // Device points refine the profile's: a point of the same name replaces the profile's one.
  const own = new Set(device.points.map((p) => p.name));
  const points = [...(profile?.points.filter((p) => !own.has(p.name)) ?? []), ...device.points];
  const domain = device.domain ?? profile?.domain;
  // A profile that failed to load is reported on its own; its missing domain would only echo that.
  if (!domain && (profile || !device.profile)) problems.push(`${file}: ${at}.domain: missing (required unless the profile names one; e.g. water, traffic, energy)`);
  checkMetricClashes(points, device, at, file, problems);
  const { profile: _profile, ...rest } = device;
  return { ...rest, domain: domain ?? '', points };
}

/** Two points publishing one metric would interleave on one topic and one Influx field: refuse it. */
function checkMetricClashes(points: readonly ModbusPoint[], device: ModbusTcpDeviceConfig | ModbusRtuDeviceConfig, at: string, file: string, problems: string[]): void {
  const series = new Map<string, string>();
  for (const point of points) {
    const key = `${point.domain ?? ''}/${point.metric}`;
    const clash = series.get(key);
    if (clash === undefined) {
      series.set(key, point.name);
      continue;
    }
    const ownIndex = device.points.indexOf(point);
    const where = ownIndex >= 0 ? `${at}.points[${ownIndex}]` : `${at}.profile`;
    const what = ownIndex >= 0 ? `point "${point.name}"` : `point "${point.name}" of profile "${device.profile ?? ''}"`;
    problems.push(`${file}: ${where}: ${what} publishes metric "${point.metric}", as point "${clash}" already does (give one of them another metric)`);
  }
}

/** Loads each named profile once, remembering problems so each bad profile is reported once. */
class ProfileStore {
  private readonly cache = new Map<string, Profile | undefined>();
  private readonly failed = new Set<string>();
  readonly problems: string[] = [];

  constructor(
    private readonly dir: string,
    private readonly env: NodeJS.ProcessEnv,
  ) {}

  get(name: string, usedAt: string, file: string, problems: string[]): Profile | undefined {
    if (!this.cache.has(name)) this.cache.set(name, this.load(name));
    const profile = this.cache.get(name);
    if (!profile && !this.failed.has(name)) problems.push(`${file}: ${usedAt}: no profile "${name}" (looked for ${displayName(join(this.dir, `${name}.yaml`))})`);
    return profile;
  }

  private load(name: string): Profile | undefined {
    const path = join(this.dir, `${name}.yaml`);
    // A missing profile is reported where it is named (see get), not as a file of its own.
    if (!existsSync(path)) return undefined;
    let raw: unknown;
    try {
      const read = readYaml(path, displayName(path), this.env, '"points:"');
      raw = read.value;
      this.problems.push(...read.problems);
    } catch (error) {
      if (!(error instanceof ConfigError)) throw error;
      this.failed.add(name);
      this.problems.push(...error.problems);
      return undefined;
    }
    const parsed = profileSchema.safeParse(raw);
    if (parsed.success) return parsed.data;
    this.failed.add(name);
    this.problems.push(...describeIssues(displayName(path), parsed.error.issues, raw, profileSchema as z.ZodType));
    return undefined;
  }
}

/** Parses a YAML file and substitutes environment references; throws ConfigError when it cannot be used at all. */
function readYaml(file: string, shown: string, env: NodeJS.ProcessEnv, needs: string): { value: unknown; problems: string[] } {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code === 'ENOENT') throw new ConfigError([`${shown}: file not found`]);
    throw new ConfigError([`${shown}: cannot read (${(error as Error).message})`]);
  }
  const lineCounter = new LineCounter();
  // logLevel error: a mapping used as a key is refused as an unknown key, not also warned about on stderr.
  const doc = parseDocument(text, { prettyErrors: false, uniqueKeys: true, lineCounter, logLevel: 'error' });
  const [error] = doc.errors;
  if (error) {
    // Only the first: after a syntax error the parser's further complaints are echoes of it.
    const { line, col } = lineCounter.linePos(error.pos[0]);
    throw new ConfigError([`${shown}: line ${line}, column ${col}: ${firstLine(error.message)} (YAML syntax)`]);
  }
  const problems = substituteEnv(doc, env, shown);
  const value = toData(doc, shown);
  if (value === null || value === undefined) throw new ConfigError([`${shown}: ${formatPath([])}: the file is empty (it needs at least ${needs})`]);
  if (typeof value !== 'object' || Array.isArray(value)) throw new ConfigError([`${shown}: ${formatPath([])}: must be a mapping (it needs at least ${needs})`]);
  return { value, problems };
}

/** The document as plain data. The yaml library refuses an alias bomb ("billion laughs") here, by throwing. */
function toData(doc: Document, shown: string): unknown {
  try {
    return doc.toJS();
  } catch (error) {
    const message = (error as Error).message;
    if (/excessive alias count/i.test(message)) {
      throw new ConfigError([`${shown}: ${formatPath([])}: its YAML aliases (*name) expand to too much data (write the values out, or use fewer aliases)`]);
    }
    throw new ConfigError([`${shown}: ${formatPath([])}: cannot be read as data (${firstLine(message)})`]);
  }
}

function firstLine(message: string): string {
  return message.split('\n')[0] ?? message;
}

function displayName(file: string): string {
  const rel = relative(process.cwd(), file);
  return rel && !rel.startsWith('..') ? rel : file;
}
