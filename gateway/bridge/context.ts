import type { ReadingTaps } from '../broker/reading-publisher.js';
import type { Topics } from '../contract/topics.js';
import type { Logger } from '../util/log.js';

/** What the bridge is given by the gateway: a module of its own, so the bridge's parts can name it without a cycle. */
export interface BridgeContext {
  readonly broker: {
    publish(topic: string, payload: string | Buffer, qos: 0 | 1, retain: boolean): Promise<void>;
    subscribe(filter: string, handler: (topic: string, payload: Buffer) => void): Promise<() => Promise<void>>;
  };
  /** Readings as the MQTT publisher encodes them: taken from there, not through a subscription, to share the encoding. */
  readonly readings: ReadingTaps;
  /** The local root. */
  readonly topics: Topics;
  /** The queue lives in `${dataDir}/bridge`. */
  readonly dataDir: string;
  /** Resolves the ca/cert/key paths of the config (relative to the config file). */
  readonly resolvePath: (path: string) => string;
  /** The ACL's verdict for a command arriving from upstream (local topic); false → dropped, counted, logged. */
  readonly mayRouteDown: (localTopic: string) => boolean;
  readonly log: Logger;
}
