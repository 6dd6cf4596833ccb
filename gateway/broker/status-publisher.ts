import type { DeviceStatus } from '../model.js';
import type { Topics } from '../topics.js';
import type { Logger } from '../util/log.js';
import type { Broker } from './broker.js';

/** Publishes each device status change retained on `{prefix}/{site}/status/{device}`, so late subscribers see it. */
export function publishStatus(broker: Broker, topics: Topics, status: DeviceStatus, log: Logger): void {
  const payload = JSON.stringify({ state: status.state, ts: status.ts, ...(status.error ? { error: status.error } : {}) });
  broker.publish(topics.status(status.device), payload, 1, true).catch((error: unknown) => log.error('cannot publish device status', { device: status.device, error }));
}
