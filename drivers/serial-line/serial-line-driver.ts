import type { Driver, DriverContext } from '../driver.js';
import type { SerialLineDeviceConfig } from './config.js';
import { SerialLineDevice, type SerialLineStats } from './line-device.js';

export type { SerialLineStats } from './line-device.js';

/**
 * Reads line-based serial devices (level probes, loop counters, meters printing ASCII lines): one port per device,
 * each framed, checked, parsed and watched on its own, so one device's trouble never holds up another.
 */
export class SerialLineDriver implements Driver {
  readonly name = 'serial-line';
  private readonly devices = new Map<string, SerialLineDevice>();

  constructor(private readonly configs: readonly SerialLineDeviceConfig[]) {}

  /** Resolves once every port has been tried once; ports that failed are retried in the background. */
  async start(ctx: DriverContext): Promise<void> {
    for (const config of this.configs) {
      const device = new SerialLineDevice(config, ctx);
      this.devices.set(config.name, device);
      ctx.log.info('reading serial-line device', { device: config.name, port: config.port, baud: config.baud, parser: config.parser.type, checksum: config.checksum });
    }
    await Promise.all([...this.devices.values()].map((device) => device.start()));
  }

  /** Per device name: lines, readings, bad lines by kind, reopen attempts, whether the port is open. */
  stats(): Record<string, SerialLineStats> {
    return Object.fromEntries([...this.devices].map(([name, device]) => [name, device.stats()]));
  }

  async stop(): Promise<void> {
    await Promise.all([...this.devices.values()].map((device) => device.stop()));
  }
}
