/**
 * The registry: every kind of device the config may name, by its `driver:`, and every output, by its config section.
 * A new one is its folder (config schema, code, README, sample) and one line here; the config schema, the loader and
 * the gateway take it from these lists.
 */
import { modbusRtuKind, modbusTcpKind } from '../drivers/modbus/kinds.js';
import { registerDeviceKind, type DeviceBase, type RegisteredKind } from '../drivers/plugin.js';
import { serialLineKind } from '../drivers/serial-line/kind.js';
import { bridgeKind } from './bridge/kind.js';
import { influxKind } from './influx/kind.js';
import { mqttDeviceKind } from './ingest/device-kind.js';
import { registerSinkKind } from './services/sink-kind.js';

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

/** The outputs, by config section. */
export const sinkKinds = [registerSinkKind(influxKind), registerSinkKind(bridgeKind)] as const;
