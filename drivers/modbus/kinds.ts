import { z } from 'zod';
import type { Claim, ConfigSections, DeviceKind, Placed } from '../plugin.js';
import {
  busSchema,
  modbusRtuDeviceSchema,
  modbusTcpDeviceSchema,
  type BusConfig,
  type ModbusRtuDevice,
  type ModbusRtuDeviceConfig,
  type ModbusTcpDevice,
  type ModbusTcpDeviceConfig,
} from './config.js';
import { ModbusDriver, rtuTransport, tcpTransport } from './modbus-driver.js';
import { resolveModbusDevice } from './profiles.js';

const busesSchema = z.array(busSchema).default([]);

/** The `buses:` section, which the root schema parsed with busesSchema (a section of the modbus-rtu kind). */
function busesOf(sections: ConfigSections): BusConfig[] {
  return (sections.buses ?? []) as BusConfig[];
}

function needPoints(devices: readonly Placed<ModbusTcpDeviceConfig | ModbusRtuDeviceConfig>[], ctx: z.RefinementCtx): void {
  for (const { device, index } of devices) {
    if (!device.profile && device.points.length === 0) ctx.addIssue({ code: 'custom', path: ['devices', index], message: 'a device needs points or a profile (or both)' });
  }
}

/** Modbus TCP devices: one link per host:port. See README.md. */
export const modbusTcpKind: DeviceKind<ModbusTcpDeviceConfig, ModbusTcpDevice> = {
  driver: 'modbus-tcp',
  schema: modbusTcpDeviceSchema,
  check: (devices, _sections, ctx) => needPoints(devices, ctx),
  resolve: resolveModbusDevice,
  createDriver: (devices) => new ModbusDriver('modbus-tcp', devices, tcpTransport),
};

/** Modbus RTU devices on shared RS-485 buses (`buses:`): one link per bus, taking turns. See README.md. */
export const modbusRtuKind: DeviceKind<ModbusRtuDeviceConfig, ModbusRtuDevice> = {
  driver: 'modbus-rtu',
  schema: modbusRtuDeviceSchema,
  sections: { buses: busesSchema },
  check(devices, sections, ctx) {
    needPoints(devices, ctx);
    const buses = busesOf(sections);
    buses.forEach((bus, index) => {
      const first = buses.findIndex((other) => other.name === bus.name || other.port === bus.port);
      if (first !== index) ctx.addIssue({ code: 'custom', path: ['buses', index], message: `buses[${first}] already has this name or port (one entry per serial line)` });
    });
    const names = buses.map((bus) => bus.name);
    for (const { device, index } of devices) {
      if (!names.includes(device.bus)) {
        ctx.addIssue({ code: 'custom', path: ['devices', index, 'bus'], message: `no bus "${device.bus}" (defined under buses: ${names.length ? names.join(', ') : 'none'})` });
      }
    }
  },
  // A bus owns its serial port (shared by the unit ids on it). A second bus on one port is reported by check.
  claims: (_devices, sections): Claim[] =>
    busesOf(sections)
      .map((bus, index) => ({ resource: `serial:${bus.port}`, value: bus.port, rule: 'one serial port, one owner', at: `buses[${index}]`, path: ['buses', index, 'port'] }))
      .filter((claim, index, all) => all.findIndex((other) => other.resource === claim.resource) === index),
  resolve: resolveModbusDevice,
  createDriver: (devices, sections) => new ModbusDriver('modbus-rtu', devices, rtuTransport(busesOf(sections)), (fresh) => rtuTransport(busesOf(fresh))),
};
