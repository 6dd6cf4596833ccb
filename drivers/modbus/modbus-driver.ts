import type { BusConfig, ModbusDevice, ModbusRtuDevice, ModbusTcpDevice } from './config.js';
import type { Logger } from '../../gateway/util/log.js';
import type { Driver, DriverContext } from '../driver.js';
import { serialBindingOption } from '../serial-port/hangup-aware-binding.js';
import { DevicePoller } from './device-poller.js';
import { ModbusLink, type LinkStats } from './link.js';

/** Where a device's transactions go: the link it shares with the devices on the same endpoint or bus. */
export interface Transport {
  /** Devices with the same key share one link (one TCP endpoint, one serial bus). */
  keyOf(device: ModbusDevice): string;
  open(device: ModbusDevice, log: Logger): ModbusLink;
}

/**
 * Polls Modbus devices: one poller per device, one link per endpoint or bus shared by the devices on it, so that
 * RTU devices on one RS-485 line take turns while devices on different links never wait for each other.
 */
export class ModbusDriver implements Driver {
  private readonly links = new Map<string, ModbusLink>();
  private readonly pollers: DevicePoller[] = [];

  constructor(
    readonly name: string,
    private readonly devices: readonly ModbusDevice[],
    private readonly transport: Transport,
  ) {}

  async start(ctx: DriverContext): Promise<void> {
    for (const device of this.devices) {
      const key = this.transport.keyOf(device);
      let link = this.links.get(key);
      if (!link) this.links.set(key, (link = this.transport.open(device, ctx.log)));
      const poller = new DevicePoller(device, link, ctx, ctx.log);
      this.pollers.push(poller);
      ctx.log.info('polling device', { device: device.name, link: key, unit_id: device.unit_id, points: device.points.length, requests_per_poll: poller.requestsPerPoll, interval_ms: device.poll_interval });
      poller.start();
    }
  }

  /** Per link (endpoint or bus): transactions, timeouts, malformed answers (CRC errors), busy time. */
  stats(): Record<string, LinkStats> {
    return Object.fromEntries([...this.links].map(([key, link]) => [key, { ...link.stats }]));
  }

  async stop(): Promise<void> {
    await Promise.all(this.pollers.map((p) => p.stop()));
    await Promise.all([...this.links.values()].map((l) => l.close()));
  }
}

/** Modbus TCP: one link per host:port (a device, or a TCP-to-RTU gateway with several unit ids behind it). */
export const tcpTransport: Transport = {
  keyOf: (device) => endpointOf(device as ModbusTcpDevice),
  open(device, log) {
    const { host, port, backoff_max } = device as ModbusTcpDevice;
    return new ModbusLink(endpointOf(device as ModbusTcpDevice), (client, timeoutMs) => client.connectTCP(host, { port, timeout: timeoutMs }), log, { reopenMaxMs: backoff_max });
  },
};

function endpointOf(device: ModbusTcpDevice): string {
  return `${device.host}:${device.port}`;
}

/** Modbus RTU: one link per serial bus, shared by every unit id on it, keeping the line quiet between frames. */
export function rtuTransport(buses: readonly BusConfig[]): Transport {
  const busOf = (device: ModbusDevice): BusConfig => {
    const bus = buses.find((b) => b.name === (device as ModbusRtuDevice).bus);
    // The config loader refuses a device naming an unknown bus.
    if (!bus) throw new Error(`device ${device.name}: no bus ${(device as ModbusRtuDevice).bus}`);
    return bus;
  };
  return {
    keyOf: (device) => busOf(device).name,
    open(device, log) {
      const bus = busOf(device);
      // modbus-serial hands these to serialport as they are: the binding that notices a vanished adapter goes along.
      const options = { baudRate: bus.baud, dataBits: bus.data_bits, parity: bus.parity, stopBits: bus.stop_bits, ...serialBindingOption() };
      return new ModbusLink(bus.name, (client) => client.connectRTUBuffered(bus.port, options), log, { turnaroundMs: interFrameSilenceMs(bus.baud), reopenMaxMs: bus.reopen_max });
    },
  };
}

/**
 * The silence a Modbus RTU line needs between frames: 3.5 character times of 11 bits, fixed at 1.75 ms above
 * 19200 baud (Modbus over serial line, 2.5.1.1).
 */
export function interFrameSilenceMs(baud: number): number {
  return baud > 19200 ? 1.75 : (3.5 * 11 * 1000) / baud;
}
