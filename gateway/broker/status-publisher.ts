import { statusPayload } from '../contract/payloads.js';
import type { Topics } from '../contract/topics.js';
import type { DeviceStatus } from '../model.js';
import type { Logger } from '../util/log.js';
import type { Broker } from './broker.js';

/** Publishes each device status change retained on `{prefix}/{site}/status/{device}`, so late subscribers see it. */
export function publishStatus(broker: Broker, topics: Topics, status: DeviceStatus, log: Logger): void {
  broker.publish(topics.status(status.device), statusPayload(status), 1, true).catch((error: unknown) => log.error('cannot publish device status', { device: status.device, error }));
}
