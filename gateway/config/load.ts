import { readFileSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { parseDocument } from 'yaml';
import type { z } from 'zod';
import { substituteEnv } from './env.js';
import { ConfigError, describeIssues, formatPath } from './errors.js';
import { configSchema, profileSchema, type GatewayConfig, type ModbusPoint, type ModbusTcpDeviceConfig, type Profile, type SimulatedSlaveConfig } from './schema.js';
import { registerSpan } from '../../drivers/modbus/codec.js';

/** A Modbus device with its profile merged in: the points to poll and the domain are final. */
export type ModbusTcpDevice = Omit<ModbusTcpDeviceConfig, 'points' | 'profile' | 'domain'> & { domain: string; points: ModbusPoint[] };
export type SimulatedSlave = SimulatedSlaveConfig & { points: ModbusPoint[] };

export interface LoadedConfig extends Omit<GatewayConfig, 'devices' | 'simulator'> {
  /** The file it was read from, for messages. */
  readonly file: string;
  readonly devices: ModbusTcpDevice[];
  readonly simulator: { slaves: SimulatedSlave[] } | undefined;
}

/** Reads, validates and resolves a config file; throws ConfigError listing every problem found. */
export function loadConfig(file: string, env: NodeJS.ProcessEnv = process.env): LoadedConfig {
  const shown = displayName(file);
  const raw = readYaml(file, shown);
  const { value, problems } = substituteEnv(raw, env, shown);
  const parsed = configSchema.safeParse(value);
  if (!parsed.success) problems.push(...describeIssues(shown, parsed.error.issues, value, configSchema as z.ZodType));
  if (problems.length) throw new ConfigError(problems);
  const config = parsed.data!;
  const profiles = new ProfileStore(resolve(dirname(file), config.profiles_dir));

  const devices = config.devices.map((device, index) => resolveDevice(device, index, profiles, shown, problems));
  const slaves = (config.simulator?.slaves ?? []).map((slave, index) => {
    const profile = profiles.get(slave.profile, `simulator.slaves[${index}].profile`, shown, problems);
    return { ...slave, points: profile?.points ?? [] };
  });
  problems.push(...profiles.problems);
  if (problems.length) throw new ConfigError(problems);
  return { ...config, file: shown, devices, simulator: config.simulator ? { slaves } : undefined };
}

function resolveDevice(device: ModbusTcpDeviceConfig, index: number, profiles: ProfileStore, file: string, problems: string[]): ModbusTcpDevice {
  const at = `devices[${index}]`;
  const profile = device.profile ? profiles.get(device.profile, `${at}.profile`, file, problems) : undefined;
  // Device points refine the profile's: a point of the same name replaces the profile's one.
  const own = new Set(device.points.map((p) => p.name));
  const points = [...(profile?.points.filter((p) => !own.has(p.name)) ?? []), ...device.points];
  const domain = device.domain ?? profile?.domain;
  if (!domain) problems.push(`${file}: ${at}.domain: missing (required unless the profile names one; e.g. water, traffic, energy)`);
  checkPoints(points, at, file, problems);
  const { profile: _profile, ...rest } = device;
  return { ...rest, domain: domain ?? '', points };
}

function checkPoints(points: readonly ModbusPoint[], at: string, file: string, problems: string[]): void {
  const series = new Map<string, string>();
  for (const point of points) {
    const end = point.address + registerSpan(point);
    if (end > 65536) problems.push(`${file}: ${at}.points.${point.name}: spans past register 65535 (address ${point.address} + ${registerSpan(point)} registers)`);
    const key = `${point.domain ?? ''}/${point.metric}`;
    const clash = series.get(key);
    if (clash) problems.push(`${file}: ${at}.points.${point.name}: metric "${point.metric}" is already produced by point "${clash}" (give one of them another metric name)`);
    else series.set(key, point.name);
  }
}

/** Loads each named profile once, remembering problems so each bad profile is reported once. */
class ProfileStore {
  private readonly cache = new Map<string, Profile | undefined>();
  private readonly failed = new Set<string>();
  readonly problems: string[] = [];

  constructor(private readonly dir: string) {}

  get(name: string, usedAt: string, file: string, problems: string[]): Profile | undefined {
    if (!this.cache.has(name)) this.cache.set(name, this.load(name));
    const profile = this.cache.get(name);
    if (!profile && !this.failed.has(name)) problems.push(`${file}: ${usedAt}: no profile "${name}" (looked for ${displayName(join(this.dir, `${name}.yaml`))})`);
    return profile;
  }

  private load(name: string): Profile | undefined {
    const path = join(this.dir, `${name}.yaml`);
    let raw: unknown;
    try {
      raw = readYaml(path, displayName(path));
    } catch (error) {
      if (error instanceof ConfigError) {
        this.failed.add(name);
        this.problems.push(...error.problems);
      }
      return undefined;
    }
    const parsed = profileSchema.safeParse(raw);
    if (parsed.success) return parsed.data;
    this.failed.add(name);
    this.problems.push(...describeIssues(displayName(path), parsed.error.issues, raw, profileSchema as z.ZodType));
    return undefined;
  }
}

function readYaml(file: string, shown: string): unknown {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code === 'ENOENT') throw new ConfigError([`${shown}: file not found`]);
    throw new ConfigError([`${shown}: cannot read (${(error as Error).message})`]);
  }
  const doc = parseDocument(text, { prettyErrors: false, uniqueKeys: true });
  if (doc.errors.length) {
    throw new ConfigError(doc.errors.map((e) => `${shown}: line ${e.linePos?.[0]?.line ?? '?'}, column ${e.linePos?.[0]?.col ?? '?'}: ${firstLine(e.message)} (YAML syntax)`));
  }
  const value: unknown = doc.toJS();
  if (value === null || value === undefined) throw new ConfigError([`${shown}: ${formatPath([])}: the file is empty (it needs at least "site:")`]);
  if (typeof value !== 'object' || Array.isArray(value)) throw new ConfigError([`${shown}: ${formatPath([])}: must be a mapping of sections (site, mqtt, devices, ...)`]);
  return value;
}

function firstLine(message: string): string {
  return message.split('\n')[0] ?? message;
}

function displayName(file: string): string {
  const rel = relative(process.cwd(), file);
  return rel && !rel.startsWith('..') ? rel : file;
}
