import type { DeviceKind } from '../plugin.js';
import { serialLineDeviceSchema, type SerialLineDeviceConfig } from './config.js';
import { SerialLineDriver } from './serial-line-driver.js';

/** Line-based serial devices: one port each. See README.md. */
export const serialLineKind: DeviceKind<SerialLineDeviceConfig> = {
  driver: 'serial-line',
  schema: serialLineDeviceSchema,
  claims: (devices) =>
    devices.map(({ device, index }) => ({ resource: `serial:${device.port}`, value: device.port, rule: 'one serial port, one owner', at: `devices[${index}]`, path: ['devices', index, 'port'] })),
  createDriver: (devices) => new SerialLineDriver(devices),
};
