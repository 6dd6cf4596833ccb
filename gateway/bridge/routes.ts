/**
 * Which local topics the bridge forwards, with which retain flag, and how topics map between the local root
 * (`{prefix}/{site}`) and the remote one. Pure: no broker, no socket.
 */
import type { Topics } from '../topics.js';

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

/**
 * First levels below the root that are not a domain: a three-level topic under one of them is something else
 * (`ingest/{domain}/{device}`, `command/{device}/{point}`, `clients/{id}/errors`, ...), never a reading.
 */
const NOT_A_DOMAIN: ReadonlySet<string> = new Set(['status', 'alerts', 'events', 'command', 'ingest', 'clients']);

/** The routes of the classes to forward. */
export function forwardRoutes(topics: Topics, classes: readonly ForwardClass[]): ForwardRoute[] {
  const root = topics.root;
  const all = (): boolean => true;
  const routes: Record<ForwardClass, ForwardRoute> = {
    readings: { forwardClass: 'readings', filter: `${root}/+/+/+`, retain: false, accepts: (topic) => !NOT_A_DOMAIN.has(firstLevelBelow(root, topic)) },
    status: { forwardClass: 'status', filter: `${root}/status/+`, retain: true, accepts: all },
    alerts: { forwardClass: 'alerts', filter: `${root}/alerts/+/+/+`, retain: true, accepts: all },
    events: { forwardClass: 'events', filter: topics.alertEvents, retain: false, accepts: all },
    // Only results go up; commands themselves come down, so a command never travels back where it came from.
    command_results: { forwardClass: 'command_results', filter: `${root}/command/+/+/result`, retain: false, accepts: all },
  };
  return classes.map((forwardClass) => routes[forwardClass]);
}

/** Maps topics between the local root and the remote root (the same root unless `remote_prefix` says otherwise). */
export class TopicMap {
  /** Upstream filter of the commands sent to this gateway's devices. */
  readonly remoteCommandFilter: string;

  constructor(
    readonly localRoot: string,
    readonly remoteRoot: string,
  ) {
    this.remoteCommandFilter = `${remoteRoot}/command/+/+`;
  }

  /** The part of a local topic below the root (`water/pump-1/level`); what the buffer keeps. */
  suffixOf(localTopic: string): string {
    return localTopic.slice(this.localRoot.length + 1);
  }

  remoteTopic(suffix: string): string {
    return `${this.remoteRoot}/${suffix}`;
  }

  /** The local command topic of an upstream `{remote root}/command/{device}/{point}`, or undefined for any other topic. */
  localCommand(remoteTopic: string): string | undefined {
    const head = `${this.remoteRoot}/command/`;
    if (!remoteTopic.startsWith(head)) return undefined;
    const levels = remoteTopic.slice(head.length).split('/');
    if (levels.length !== 2 || levels.some((level) => level === '')) return undefined;
    return `${this.localRoot}/command/${levels.join('/')}`;
  }
}

function firstLevelBelow(root: string, topic: string): string {
  const start = root.length + 1;
  const end = topic.indexOf('/', start);
  return topic.slice(start, end === -1 ? undefined : end);
}
