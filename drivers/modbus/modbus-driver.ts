import type { BusConfig, ModbusDevice, ModbusRtuDevice, ModbusTcpDevice } from './config.js';
import type { Logger } from '../../gateway/util/log.js';
import type { DeviceStatus } from '../../gateway/model.js';
import type { DriverContext, UpdatableDriver, WriteOutcome } from '../driver.js';
import type { ModbusClient } from './client.js';
import type { ConfigSections } from '../plugin.js';
import { DevicePoller, type PollerStats } from './device-poller.js';
import { ModbusLink, type LinkStats } from './link.js';
import { writePoint } from './point-writer.js';

/** Where a device's transactions go: the link it shares with the devices on the same endpoint or bus. */
export interface Transport {
  /** Devices with the same key share one link (one TCP endpoint, one serial bus). */
  keyOf(device: ModbusDevice): string;
  /** The settings of that link: when they change on reload, the link is opened afresh. */
  settingsOf(device: ModbusDevice): string;
  open(device: ModbusDevice, log: Logger): ModbusLink;
}

interface Polled {
  readonly device: ModbusDevice;
  readonly poller: DevicePoller;
  readonly link: string;
}

/**
 * Polls Modbus devices: one poller per device, one link per endpoint or bus shared by the devices on it, so that
 * RTU devices on one RS-485 line take turns while devices on different links never wait for each other. On reload
 * only the devices whose config (or link settings) changed are stopped and started again; the others poll on.
 */
export class ModbusDriver implements UpdatableDriver<ModbusDevice> {
  private readonly links = new Map<string, { link: ModbusLink; settings: string }>();
  private readonly polled = new Map<string, Polled>();
  /** Each device's last status, so a command to a device known to be offline is answered at once. */
  private readonly states = new Map<string, DeviceStatus>();
  private ctx: DriverContext | undefined;

  constructor(
    readonly name: string,
    private devices: readonly ModbusDevice[],
    private transport: Transport,
    /** Builds the transport from a reloaded config (RTU: its buses). */
    private readonly transportFor: (sections: ConfigSections) => Transport = () => transport,
  ) {}

  async start(ctx: DriverContext): Promise<void> {
    this.ctx = ctx;
    for (const device of this.devices) this.startPolling(device, ctx);
  }

  async update(devices: readonly ModbusDevice[], sections: ConfigSections): Promise<void> {
    this.transport = this.transportFor(sections);
    this.devices = devices;
    const ctx = this.ctx;
    if (!ctx) return;
    const wanted = new Map(devices.map((device) => [device.name, device]));
    const staleLinks = new Set([...this.links].filter(([key, { settings }]) => devices.some((d) => this.transport.keyOf(d) === key && this.transport.settingsOf(d) !== settings)).map(([key]) => key));
    for (const [name, polled] of this.polled) {
      const fresh = wanted.get(name);
      if (fresh && JSON.stringify(fresh) === JSON.stringify(polled.device) && !staleLinks.has(polled.link)) continue;
      await polled.poller.stop();
      this.polled.delete(name);
      this.states.delete(name);
      if (!fresh) ctx.status({ device: name, state: 'offline', ts: Date.now(), error: 'removed from the configuration' });
    }
    const inUse = new Set([...this.polled.values()].map((polled) => polled.link));
    for (const [key, { link }] of this.links) {
      if (inUse.has(key) && !staleLinks.has(key)) continue;
      this.links.delete(key);
      await link.close();
    }
    for (const device of devices) if (!this.polled.has(device.name)) this.startPolling(device, ctx);
  }

  /**
   * Writes a point of one of its devices and reads it back, on the device's link between polls. A device whose last
   * poll failed is not asked: on a shared RTU line each attempt would cost every other device a timeout.
   */
  async write(device: string, point: string, value: unknown): Promise<WriteOutcome> {
    const polled = this.polled.get(device);
    const link = polled && this.links.get(polled.link)?.link;
    if (!polled || !link) return { ok: false, error: `device ${device} is not polled by ${this.name}` };
    const target = polled.device.points.find((p) => p.name === point);
    if (!target) return { ok: false, error: `device ${device} has no point ${point}` };
    const status = this.states.get(device);
    if (status?.state === 'offline') return { ok: false, error: `device offline: ${status.error ?? 'its last poll failed'}` };
    return writePoint(link, polled.device, target, value);
  }

  /** Per link (endpoint or bus): transactions, timeouts, malformed answers (CRC errors), busy time. */
  stats(): Record<string, LinkStats> {
    return Object.fromEntries([...this.links].map(([key, { link }]) => [key, { ...link.stats }]));
  }

  /** Per device: its link, polls, failed polls, the duration of its last poll. */
  deviceStats(): Record<string, PollerStats & { link: string }> {
    return Object.fromEntries([...this.polled].map(([name, { poller, link }]) => [name, { link, ...poller.stats }]));
  }

  async stop(): Promise<void> {
    await Promise.all([...this.polled.values()].map(({ poller }) => poller.stop()));
    this.polled.clear();
    await Promise.all([...this.links.values()].map(({ link }) => link.close()));
    this.links.clear();
  }

  private startPolling(device: ModbusDevice, ctx: DriverContext): void {
    const key = this.transport.keyOf(device);
    let entry = this.links.get(key);
    if (!entry) this.links.set(key, (entry = { link: this.transport.open(device, ctx.log), settings: this.transport.settingsOf(device) }));
    const tracked: DriverContext = {
      log: ctx.log,
      emit: (readings) => ctx.emit(readings),
      behind: () => ctx.behind?.(),
      status: (status) => {
        this.states.set(status.device, status);
        ctx.status(status);
      },
    };
    const poller = new DevicePoller(device, entry.link, tracked, ctx.log);
    this.polled.set(device.name, { device, poller, link: key });
    ctx.log.info('polling device', { device: device.name, link: key, unit_id: device.unit_id, points: device.points.length, requests_per_poll: poller.requestsPerPoll, interval_ms: device.poll_interval });
    poller.start();
  }
}

/** Modbus TCP: one link per host:port (a device, or a TCP-to-RTU gateway with several unit ids behind it). */
export const tcpTransport: Transport = {
  keyOf: (device) => endpointOf(device as ModbusTcpDevice),
  settingsOf: (device) => `${endpointOf(device as ModbusTcpDevice)} backoff_max=${device.backoff_max}`,
  open(device, log) {
    const { host, port, backoff_max } = device as ModbusTcpDevice;
    return tcpLink(host, port, log, backoff_max);
  },
};

/** The link to one Modbus TCP endpoint; the gateway's transport and the probe (tools/probe) open it alike. */
export function tcpLink(host: string, port: number, log: Logger, reopenMaxMs: number): ModbusLink {
  return new ModbusLink(`${host}:${port}`, (client, timeoutMs) => client.connectTCP(host, { port, timeout: timeoutMs }), log, { reopenMaxMs });
}

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
    settingsOf: (device) => JSON.stringify(busOf(device)),
    open: (device, log) => rtuLink(busOf(device), log),
  };
}

/** The link over one serial bus, keeping the line quiet between frames; the probe (tools/probe) opens it alike. */
export function rtuLink(bus: BusConfig, log: Logger): ModbusLink {
  const options = { baudRate: bus.baud, dataBits: bus.data_bits, parity: bus.parity, stopBits: bus.stop_bits };
  const connect = async (client: ModbusClient): Promise<void> => {
    // modbus-serial hands these to serialport as they are: the binding that notices a vanished adapter goes along.
    // Loaded on the first open, as serialport is: only a gateway with a serial bus needs its native binding.
    const { serialBindingOption } = await import('../serial-port/hangup-aware-binding.js');
    await client.connectRTUBuffered(bus.port, { ...options, ...serialBindingOption() });
  };
  return new ModbusLink(bus.name, connect, log, { turnaroundMs: interFrameSilenceMs(bus.baud), reopenMaxMs: bus.reopen_max });
}

/**
 * The silence a Modbus RTU line needs between frames: 3.5 character times of 11 bits, fixed at 1.75 ms above
 * 19200 baud (Modbus over serial line, 2.5.1.1).
 */
export function interFrameSilenceMs(baud: number): number {
  return baud > 19200 ? 1.75 : (3.5 * 11 * 1000) / baud;
}
