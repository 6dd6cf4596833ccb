import type { DriverContext, UpdatableDriver } from '../driver.js';
import type { SerialLineDeviceConfig } from './config.js';
import { SerialLineDevice, type SerialLineStats } from './line-device.js';

export type { SerialLineStats } from './line-device.js';

/**
 * Reads line-based serial devices (level probes, loop counters, meters printing ASCII lines): one port per device,
 * each framed, checked, parsed and watched on its own, so one device's trouble never holds up another.
 */
export class SerialLineDriver implements UpdatableDriver<SerialLineDeviceConfig> {
  readonly name = 'serial-line';
  private readonly devices = new Map<string, { config: SerialLineDeviceConfig; device: SerialLineDevice }>();
  private ctx: DriverContext | undefined;

  constructor(private readonly configs: readonly SerialLineDeviceConfig[]) {}

  /** Resolves once every port has been tried once; ports that failed are retried in the background. */
  async start(ctx: DriverContext): Promise<void> {
    this.ctx = ctx;
    await Promise.all(this.configs.map((config) => this.open(config, ctx)));
  }

  /** A reload: devices removed or changed close their port, added or changed ones open theirs; the others read on. */
  async update(configs: readonly SerialLineDeviceConfig[]): Promise<void> {
    const ctx = this.ctx;
    if (!ctx) return;
    const wanted = new Map(configs.map((config) => [config.name, config]));
    for (const [name, { config, device }] of this.devices) {
      const fresh = wanted.get(name);
      if (fresh && JSON.stringify(fresh) === JSON.stringify(config)) continue;
      await device.stop();
      this.devices.delete(name);
      if (!fresh) ctx.status({ device: name, state: 'offline', ts: Date.now(), error: 'removed from the configuration' });
    }
    await Promise.all(configs.filter((config) => !this.devices.has(config.name)).map((config) => this.open(config, ctx)));
  }

  private async open(config: SerialLineDeviceConfig, ctx: DriverContext): Promise<void> {
    const device = new SerialLineDevice(config, ctx);
    this.devices.set(config.name, { config, device });
    ctx.log.info('reading serial-line device', { device: config.name, port: config.port, baud: config.baud, parser: config.parser.type, checksum: config.checksum });
    await device.start();
  }

  /** Per device name: lines, readings, bad lines by kind, reopen attempts, whether the port is open. */
  stats(): Record<string, SerialLineStats> {
    return Object.fromEntries([...this.devices].map(([name, { device }]) => [name, device.stats()]));
  }

  async stop(): Promise<void> {
    await Promise.all([...this.devices.values()].map(({ device }) => device.stop()));
  }
}
