/**
 * Which local topics the bridge forwards, with which retain flag, and how topics map between the local root
 * (`{prefix}/{site}`) and the remote one. Pure: no broker, no socket. The topics themselves are the contract's.
 */
import { Topics } from '../contract/topics.js';

export const forwardClasses = ['readings', 'status', 'alerts', 'events', 'command_results'] as const;
export type ForwardClass = (typeof forwardClasses)[number];

/** A class of local topics to forward: the filter to subscribe to and what its messages carry upstream. */
export interface ForwardRoute {
  readonly forwardClass: ForwardClass;
  readonly filter: string;
  /** Status and alert state are retained upstream as they are here, so the platform sees the current state. */
  readonly retain: boolean;
  /** Whether a topic matching the filter belongs to the class (readings share their shape with other topics). */
  accepts(topic: string): boolean;
}

/** The routes of the classes to forward. */
export function forwardRoutes(topics: Topics, classes: readonly ForwardClass[]): ForwardRoute[] {
  const all = (): boolean => true;
  const routes: Record<ForwardClass, ForwardRoute> = {
    readings: { forwardClass: 'readings', filter: topics.readingsFilter, retain: false, accepts: (topic) => topics.isReading(topic) },
    status: { forwardClass: 'status', filter: topics.statusFilter, retain: true, accepts: all },
    alerts: { forwardClass: 'alerts', filter: topics.alertsFilter, retain: true, accepts: all },
    // Alert events and command events (the audit of every command carried out or refused here).
    events: { forwardClass: 'events', filter: topics.eventsFilter, retain: false, accepts: all },
    // Only results go up; commands themselves come down, so a command never travels back where it came from.
    command_results: { forwardClass: 'command_results', filter: topics.commandResultsFilter, retain: false, accepts: all },
  };
  return classes.map((forwardClass) => routes[forwardClass]);
}

/** Maps topics between the local root and the remote root (the same root unless `remote_prefix` says otherwise). */
export class TopicMap {
  /** Upstream filter of the commands sent to this gateway's devices. */
  readonly remoteCommandFilter: string;
  private readonly local: Topics;
  private readonly remote: Topics;

  constructor(
    readonly localRoot: string,
    readonly remoteRoot: string,
  ) {
    this.local = new Topics(localRoot);
    this.remote = new Topics(remoteRoot);
    this.remoteCommandFilter = this.remote.commandFilter;
  }

  /** The part of a local topic below the root (`water/pump-1/level`); what the buffer keeps. */
  suffixOf(localTopic: string): string {
    return this.local.suffixOf(localTopic);
  }

  remoteTopic(suffix: string): string {
    return this.remote.withSuffix(suffix);
  }

  /** The local command topic of an upstream `{remote root}/command/{device}/{point}`, or undefined for any other topic. */
  localCommand(remoteTopic: string): string | undefined {
    const command = this.remote.parse(remoteTopic);
    // An empty level names no device or point.
    if (command?.kind !== 'command' || command.device === '' || command.point === '') return undefined;
    return this.local.command(command.device, command.point);
  }
}
