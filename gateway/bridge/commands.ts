import type { Logger } from '../util/log.js';
import type { BridgeContext } from './context.js';
import { LogLimiter } from '../util/log-limiter.js';
import type { TopicMap } from './routes.js';

const LOG_INTERVAL_MS = 60_000;

/**
 * Commands from the central broker down to local devices: `{remote root}/command/{device}/{point}` becomes
 * `{root}/command/{device}/{point}` on the local broker (QoS 1, not retained) when the ACL allows it.
 */
export class CommandRouter {
  /** Commands published on the local broker. */
  routed = 0;
  /** Commands refused by the ACL, or replayed retained messages. */
  denied = 0;
  private readonly limiter: LogLimiter;

  constructor(
    private readonly broker: BridgeContext['broker'],
    private readonly map: TopicMap,
    private readonly mayRouteDown: BridgeContext['mayRouteDown'],
    private readonly log: Logger,
  ) {
    this.limiter = new LogLimiter(log, LOG_INTERVAL_MS);
  }

  route(remoteTopic: string, payload: Buffer, retained: boolean): void {
    const localTopic = this.map.localCommand(remoteTopic);
    if (localTopic === undefined) return;
    if (retained) {
      // A retained command would be carried out again on every reconnect (each one subscribes anew): never act on it.
      this.denied++;
      this.limiter.warn('retained', 'ignored a retained command from upstream (commands must not be retained)', { topic: remoteTopic, total_denied: this.denied });
      return;
    }
    if (!this.mayRouteDown(localTopic)) {
      this.denied++;
      this.limiter.warn('denied', 'refused a command from upstream (not allowed by the ACL)', { topic: remoteTopic, local_topic: localTopic, total_denied: this.denied });
      return;
    }
    this.routed++;
    this.broker.publish(localTopic, payload, 1, false).catch((error: unknown) => {
      this.limiter.error('publish', 'cannot publish a command from upstream on the local broker', { topic: localTopic, error });
    });
    this.log.debug('command from upstream', { topic: localTopic });
  }
}
