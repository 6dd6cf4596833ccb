import type { z } from 'zod';
import type { ConfigContext } from '../gateway/config/context.js';
import type { Logger } from '../gateway/util/log.js';
import type { Driver, UpdatableDriver } from './driver.js';

/** What every device config has, whatever its kind. */
export interface DeviceBase {
  readonly name: string;
  readonly driver: string;
}

/** The parsed config as a kind sees it: the sections it owns by name (e.g. `buses`), typed by the kind itself. */
export type ConfigSections = Readonly<Record<string, unknown>>;

/** A config value that only one part of the config may hold (a serial port). */
export interface Claim {
  /** What is claimed, the same for every claimer: `serial:/dev/ttyUSB0`. */
  readonly resource: string;
  /** The value as the config writes it, for the message: `/dev/ttyUSB0`. */
  readonly value: string;
  /** Why it can have one owner only: `one serial port, one owner`. */
  readonly rule: string;
  /** Where the claim is written: `buses[0]`, `devices[3]`. */
  readonly at: string;
  /** The key a second claim is reported at: `['devices', 3, 'port']`. */
  readonly path: readonly (string | number)[];
}

/** A device of this kind with its place in `devices:`. */
export interface Placed<Config> {
  readonly device: Config;
  readonly index: number;
}

/**
 * A kind of device, registered by its `driver:` name in gateway/plugins.ts: its config schema, what it needs from
 * the rest of the config, and the driver that reads such devices. Adding a kind is its folder plus one registry line.
 */
export interface DeviceKind<Config extends DeviceBase, Device extends DeviceBase = Config> {
  readonly driver: Config['driver'];
  /** One device's config (a strict object with `driver: z.literal(...)`), composed into the root `devices:` list. */
  readonly schema: z.ZodType<Config> & z.core.$ZodTypeDiscriminable;
  /** Top-level sections this kind owns (`buses:` for Modbus RTU), composed into the root schema. */
  readonly sections?: Readonly<Record<string, z.ZodType>>;
  /** Checks against the rest of the config (a device's bus exists), listed with the other schema problems. */
  check?(devices: readonly Placed<Config>[], sections: ConfigSections, ctx: z.RefinementCtx): void;
  /** Values that must have one owner, such as serial ports; a value claimed twice is refused. */
  claims?(devices: readonly Placed<Config>[], sections: ConfigSections): Claim[];
  /** Completes a validated device (merges its profile); problems go to `ctx`. */
  resolve?(device: Config, at: string, ctx: ConfigContext): Device;
  /** The driver that reads these devices (also with none yet: a reload may add some); none for devices that publish by themselves. */
  createDriver?(devices: readonly Device[], sections: ConfigSections, log: Logger): UpdatableDriver<Device>;
}

/** A kind's driver as the gateway holds it: updated with the devices of every kind, it takes its own. */
export interface KindDriver extends Driver {
  update(devices: readonly DeviceBase[], sections: ConfigSections): Promise<void>;
}

/** A kind as the gateway holds it among kinds of every type: the same parts, over devices of any kind. */
export interface RegisteredKind<Device extends DeviceBase = DeviceBase> {
  readonly driver: string;
  readonly schema: z.ZodType<DeviceBase> & z.core.$ZodTypeDiscriminable;
  readonly sections: Readonly<Record<string, z.ZodType>>;
  check(devices: readonly DeviceBase[], sections: ConfigSections, ctx: z.RefinementCtx): void;
  claims(devices: readonly DeviceBase[], sections: ConfigSections): Claim[];
  resolve(device: DeviceBase, at: string, ctx: ConfigContext): DeviceBase;
  /** The driver of this kind's devices among `devices`, when the kind has a driver. */
  createDriver(devices: readonly DeviceBase[], sections: ConfigSections, log: Logger): KindDriver | undefined;
  owns(device: DeviceBase): device is Device;
}

/** Registers a kind: its typed parts are called only with devices its own schema parsed (their `driver:` says so). */
export function registerDeviceKind<Config extends DeviceBase, Device extends DeviceBase = Config>(kind: DeviceKind<Config, Device>): RegisteredKind<Device> {
  const isConfig = (device: DeviceBase): device is Config => device.driver === kind.driver;
  const owns = (device: DeviceBase): device is Device => device.driver === kind.driver;
  const placed = (devices: readonly DeviceBase[]): Placed<Config>[] => {
    const mine: Placed<Config>[] = [];
    devices.forEach((device, index) => {
      if (isConfig(device)) mine.push({ device, index });
    });
    return mine;
  };
  return {
    driver: kind.driver,
    schema: kind.schema,
    sections: kind.sections ?? {},
    check: (devices, sections, ctx) => kind.check?.(placed(devices), sections, ctx),
    claims: (devices, sections) => kind.claims?.(placed(devices), sections) ?? [],
    resolve: (device, at, ctx) => (kind.resolve && isConfig(device) ? kind.resolve(device, at, ctx) : device),
    createDriver(devices, sections, log) {
      const driver = kind.createDriver?.(devices.filter(owns), sections, log);
      if (!driver) return undefined;
      const write = driver.write?.bind(driver);
      return {
        ...(write ? { write } : {}),
        name: driver.name,
        start: (ctx) => driver.start(ctx),
        stop: () => driver.stop(),
        stats: () => driver.stats(),
        deviceStats: () => driver.deviceStats?.() ?? {},
        update: (all, fresh) => driver.update(all.filter(owns), fresh),
      };
    },
    owns,
  };
}
