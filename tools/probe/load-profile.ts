import { basename, dirname, resolve } from 'node:path';
import type { ModbusPoint } from '../../drivers/modbus/config.js';
import { lookupProfile } from '../../drivers/modbus/profiles.js';
import type { ConfigContext } from '../../gateway/config/context.js';
import { YamlFiles } from '../../gateway/config/yaml.js';
import { UsageError } from './exit-codes.js';

/**
 * A profile's points, checked as the gateway checks them (address_base, references): by name from `profilesDir`, or
 * from a path to a .yaml file. Throws UsageError listing its problems.
 */
export function loadProfile(nameOrPath: string, profilesDir: string): ModbusPoint[] {
  const isPath = nameOrPath.endsWith('.yaml') || nameOrPath.includes('/');
  const dir = resolve(isPath ? dirname(nameOrPath) : profilesDir);
  const name = isPath ? basename(nameOrPath, '.yaml') : nameOrPath;
  const problems: string[] = [];
  const ctx: ConfigContext = { file: '--profile', dir, profilesDir: dir, files: new YamlFiles(process.env, problems), problem: (at, message) => problems.push(`${at}: ${message}`) };
  const profile = lookupProfile(name, '--profile', ctx);
  if (!profile || problems.length) throw new UsageError(problems.join('\n'));
  return profile.points;
}
