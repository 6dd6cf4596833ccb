import type { ModbusTcpDevice } from '../../gateway/config/load.js';
import type { Driver, DriverContext } from '../driver.js';
import { DevicePoller } from './device-poller.js';
import { ModbusLink } from './link.js';

/**
 * Modbus TCP: one link per endpoint (host:port), shared by the unit ids behind it, one poller per device.
 * Devices on different endpoints never wait for each other.
 */
export class ModbusTcpDriver implements Driver {
  readonly name = 'modbus-tcp';
  private readonly links = new Map<string, ModbusLink>();
  private readonly pollers: DevicePoller[] = [];

  constructor(private readonly devices: readonly ModbusTcpDevice[]) {}

  async start(ctx: DriverContext): Promise<void> {
    for (const device of this.devices) {
      const endpoint = `${device.host}:${device.port}`;
      let link = this.links.get(endpoint);
      if (!link) {
        link = new ModbusLink(endpoint, (client, timeoutMs) => client.connectTCP(device.host, { port: device.port, timeout: timeoutMs }));
        this.links.set(endpoint, link);
      }
      const poller = new DevicePoller(device, link, ctx, ctx.log);
      this.pollers.push(poller);
      ctx.log.info('polling device', { device: device.name, endpoint, unit_id: device.unit_id, points: device.points.length, requests_per_poll: poller.requestsPerPoll, interval_ms: device.poll_interval });
      poller.start();
    }
  }

  async stop(): Promise<void> {
    await Promise.all(this.pollers.map((p) => p.stop()));
    await Promise.all([...this.links.values()].map((l) => l.close()));
  }
}
