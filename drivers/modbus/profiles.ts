import { join } from 'node:path';
import type { ConfigContext } from '../../gateway/config/context.js';
import { displayName } from '../../gateway/config/yaml.js';
import { profileSchema, toWirePoint, type ModbusPoint, type ModbusRtuDeviceConfig, type ModbusTcpDeviceConfig, type Profile } from './config.js';

/** A named register map under `profiles_dir`; a missing one is reported where it is named, a bad one once. */
export function lookupProfile(name: string, usedAt: string, ctx: ConfigContext): Profile | undefined {
  const path = join(ctx.profilesDir, `${name}.yaml`);
  const profile = ctx.files.read(path, profileSchema, '"points:"');
  if (profile !== 'missing') return profile;
  ctx.problem(usedAt, `no profile "${name}" (looked for ${displayName(path)})`);
  return undefined;
}

/** Merges a device's profile into it: the points to poll and the domain become final. */
export function resolveModbusDevice<T extends ModbusTcpDeviceConfig | ModbusRtuDeviceConfig>(device: T, at: string, ctx: ConfigContext): Omit<T, 'points' | 'profile' | 'domain' | 'address_base'> & { domain: string; points: ModbusPoint[] } {
  const profile = device.profile ? lookupProfile(device.profile, `${at}.profile`, ctx) : undefined;
  // The device's address_base is for its own points: the profile's points came with the profile's.
  const own = device.points.map((point) => toWirePoint(point, device.address_base));
  // Device points refine the profile's: a point of the same name replaces the profile's one.
  const ownNames = new Set(own.map((p) => p.name));
  const points = [...(profile?.points.filter((p) => !ownNames.has(p.name)) ?? []), ...own];
  const domain = device.domain ?? profile?.domain;
  // A profile that failed to load is reported on its own; its missing domain would only echo that.
  if (!domain && (profile || !device.profile)) ctx.problem(`${at}.domain`, 'missing (required unless the profile names one; e.g. water, traffic, energy)');
  checkMetricClashes(points, own, device.profile, at, ctx);
  const { profile: _profile, points: _points, domain: _domain, address_base: _addressBase, ...rest } = device;
  return { ...rest, domain: domain ?? '', points };
}

/** Two points publishing one metric would interleave on one topic and one Influx field: refuse it. */
function checkMetricClashes(points: readonly ModbusPoint[], own: readonly ModbusPoint[], profile: string | undefined, at: string, ctx: ConfigContext): void {
  const series = new Map<string, string>();
  for (const point of points) {
    const key = `${point.domain ?? ''}/${point.metric}`;
    const clash = series.get(key);
    if (clash === undefined) {
      series.set(key, point.name);
      continue;
    }
    const ownIndex = own.indexOf(point);
    const where = ownIndex >= 0 ? `${at}.points[${ownIndex}]` : `${at}.profile`;
    const what = ownIndex >= 0 ? `point "${point.name}"` : `point "${point.name}" of profile "${profile ?? ''}"`;
    ctx.problem(where, `${what} publishes metric "${point.metric}", as point "${clash}" already does (give one of them another metric)`);
  }
}
