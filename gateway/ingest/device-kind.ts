import type { DeviceKind } from '../../drivers/plugin.js';
import { mqttDeviceSchema, type MqttDeviceConfig } from './config.js';

/** Devices that publish their readings over MQTT: declared for tags, domain and staleness; no driver polls them. */
export const mqttDeviceKind: DeviceKind<MqttDeviceConfig> = {
  driver: 'mqtt',
  schema: mqttDeviceSchema,
};
