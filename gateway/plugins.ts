/**
 * The registry: every kind of device the config may name, by its `driver:`. A new kind is its folder (config schema,
 * driver, README, sample) and one line here; the config schema, the loader and the gateway take it from this list.
 */
import { modbusRtuKind, modbusTcpKind } from '../drivers/modbus/kinds.js';
import { registerDeviceKind, type DeviceBase, type RegisteredKind } from '../drivers/plugin.js';
import { serialLineKind } from '../drivers/serial-line/kind.js';
import { mqttDeviceKind } from './ingest/device-kind.js';

export const deviceKinds = [
  registerDeviceKind(modbusTcpKind),
  registerDeviceKind(modbusRtuKind),
  registerDeviceKind(serialLineKind),
  registerDeviceKind(mqttDeviceKind),
] as const;

type DeviceOf<K> = K extends RegisteredKind<infer D> ? D : never;
/** A device of any registered kind, as the config loader resolved it. */
export type Device = DeviceOf<(typeof deviceKinds)[number]>;

export function isDevice(device: DeviceBase): device is Device {
  return deviceKinds.some((kind) => kind.owns(device));
}
