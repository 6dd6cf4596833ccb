/**
 * The MQTT topics of the contract (CONTRACT.md), built and parsed here and nowhere else. Every topic lives under a
 * root, `{prefix}/{site}` locally or the bridge's `remote_prefix` upstream; the first level below it is a domain (a
 * reading) or one of the reserved levels of names.ts.
 */
import { isReservedLevel, levelName, reservedProblem } from './names.js';

/** What a topic (or a subscription filter) below the root is, by its shape. Levels are not judged as names here. */
export type ContractTopic =
  | { readonly kind: 'reading'; readonly domain: string; readonly device: string; readonly metric: string }
  | { readonly kind: 'status'; readonly device: string }
  | { readonly kind: 'ingest'; readonly domain: string; readonly device: string }
  | { readonly kind: 'command'; readonly device: string; readonly point: string }
  | { readonly kind: 'command-result'; readonly device: string; readonly point: string }
  | { readonly kind: 'alert' | 'alert-ack' | 'alert-ack-result'; readonly rule: string; readonly device: string; readonly metric: string }
  | { readonly kind: 'alert-events' }
  | { readonly kind: 'command-events' }
  /** `clientLevel` is the client id as it stands in the topic, percent-encoded. */
  | { readonly kind: 'client-errors'; readonly clientLevel: string };

/** The domain and device an ingest topic names, as far as it names them, and why they cannot be used if so. */
export interface IngestAddress {
  readonly domain: string;
  readonly device: string;
  readonly problem: string | undefined;
}

export class Topics {
  readonly root: string;
  /** `{root}/`: every contract topic starts with it. */
  private readonly head: string;
  private readonly ingestHead: string;

  /** The contract under `{prefix}/{site}`, or under a root given whole (the bridge's `remote_prefix`). */
  constructor(prefix: string, site: string);
  constructor(root: string);
  constructor(prefixOrRoot: string, site?: string) {
    this.root = site === undefined ? prefixOrRoot : `${prefixOrRoot}/${site}`;
    this.head = `${this.root}/`;
    this.ingestHead = `${this.head}ingest/`;
  }

  // ---- topics the gateway publishes ----

  reading(domain: string, device: string, metric: string): string {
    return `${this.head}${domain}/${device}/${metric}`;
  }

  /** Retained: the device's last known state. */
  status(device: string): string {
    return `${this.head}status/${device}`;
  }

  /** Retained while the alert is active; cleared once it resolves. */
  alert(rule: string, device: string, metric: string): string {
    return `${this.head}alerts/${rule}/${device}/${metric}`;
  }

  /** The answer to an acknowledgement, beside the acknowledgement itself. */
  alertAckResult(rule: string, device: string, metric: string): string {
    return `${this.alert(rule, device, metric)}/ack/result`;
  }

  /** Every firing, reminder and resolved event, in order (not retained). */
  get alertEvents(): string {
    return `${this.head}events/alerts`;
  }

  /** Every command the gateway carried out or refused, as audited (not retained). */
  get commandEvents(): string {
    return `${this.head}events/commands`;
  }

  /**
   * Where a client is told why its publish was refused (bad payload, not allowed, too big). A client id is free text:
   * characters that would break the topic (`/`, `+`, `#`, ...) are percent-encoded.
   */
  clientErrors(clientId: string): string {
    return `${this.head}clients/${encodeURIComponent(clientId)}/errors`;
  }

  // ---- topics clients publish ----

  /** A field device's readings: `{root}/ingest/{domain}/{device}`. */
  ingest(domain: string, device: string): string {
    return `${this.ingestHead}${domain}/${device}`;
  }

  /** A command to a device's point (from an operator, Node-RED or the platform through the bridge). */
  command(device: string, point: string): string {
    return `${this.head}command/${device}/${point}`;
  }

  /** The device's answer to a command on that point. */
  commandResult(device: string, point: string): string {
    return `${this.command(device, point)}/result`;
  }

  // ---- subscription filters ----

  /** Readings, and other three-level topics: those under a reserved first level are not readings (isReading). */
  get readingsFilter(): string {
    return `${this.head}+/+/+`;
  }

  get statusFilter(): string {
    return `${this.head}status/+`;
  }

  get alertsFilter(): string {
    return `${this.head}alerts/+/+/+`;
  }

  /** Where staff acknowledge an alert: `{alert topic}/ack` (any payload; the login says who). */
  get alertAckFilter(): string {
    return `${this.head}alerts/+/+/+/ack`;
  }

  /** The event streams: alert events and command events. */
  get eventsFilter(): string {
    return `${this.head}events/+`;
  }

  get commandFilter(): string {
    return `${this.head}command/+/+`;
  }

  get commandResultsFilter(): string {
    return `${this.head}command/+/+/result`;
  }

  /** Everything under one reserved first level: `{root}/{level}/#`. */
  allUnder(level: 'status' | 'alerts' | 'events'): string {
    return `${this.head}${level}/#`;
  }

  // ---- parsing ----

  /** The part of a topic below the root (`water/pump-1/level`). */
  suffixOf(topic: string): string {
    return topic.slice(this.head.length);
  }

  /** A topic below this root with the given suffix. */
  withSuffix(suffix: string): string {
    return this.head + suffix;
  }

  /** What a topic or filter under the root is, or undefined for a shape the contract does not have. */
  parse(topic: string): ContractTopic | undefined {
    return topic.startsWith(this.head) ? parseLevels(topic.slice(this.head.length).split('/')) : undefined;
  }

  /**
   * Whether a three-level topic under the root (one matching readingsFilter) is a reading: its first level is a
   * domain, not a reserved level. Cheaper than parse for the readings' hot path.
   */
  isReading(topic: string): boolean {
    const end = topic.indexOf('/', this.head.length);
    return !isReservedLevel(topic.slice(this.head.length, end === -1 ? undefined : end));
  }

  /**
   * The domain and device of a topic under `{root}/ingest/`, or why it names none (its shape, a level that is not a
   * name, a reserved name); undefined for a topic outside ingest.
   */
  ingestOf(topic: string): IngestAddress | undefined {
    if (!topic.startsWith(this.ingestHead)) return undefined;
    const slash = topic.indexOf('/', this.ingestHead.length);
    if (slash < 0) return { domain: '', device: topic, problem: `ingest topics are ${this.ingestHead}{domain}/{device}` };
    const domain = topic.slice(this.ingestHead.length, slash);
    const device = topic.slice(slash + 1);
    return { domain, device, problem: ingestNameProblem(this.ingestHead, domain, device) };
  }
}

function ingestNameProblem(ingestHead: string, domain: string, device: string): string | undefined {
  if (!levelName.test(domain) || !levelName.test(device)) return `ingest topics are ${ingestHead}{domain}/{device}, each a name of letters, digits, "_", "-" or "."`;
  if (isReservedLevel(domain)) return `domain ${reservedProblem(domain)}`;
  if (isReservedLevel(device)) return `device ${reservedProblem(device)}`;
  return undefined;
}

function parseLevels(levels: readonly string[]): ContractTopic | undefined {
  const [first = '', a = '', b = '', c = ''] = levels;
  const count = levels.length;
  switch (first) {
    case 'status':
      return count === 2 ? { kind: 'status', device: a } : undefined;
    case 'ingest':
      return count === 3 ? { kind: 'ingest', domain: a, device: b } : undefined;
    case 'command':
      if (count === 3) return { kind: 'command', device: a, point: b };
      return count === 4 && c === 'result' ? { kind: 'command-result', device: a, point: b } : undefined;
    case 'alerts': {
      const alert = { rule: a, device: b, metric: c };
      if (count === 4) return { kind: 'alert', ...alert };
      if (levels[4] !== 'ack') return undefined;
      if (count === 5) return { kind: 'alert-ack', ...alert };
      return count === 6 && levels[5] === 'result' ? { kind: 'alert-ack-result', ...alert } : undefined;
    }
    case 'events':
      if (count !== 2) return undefined;
      return a === 'alerts' ? { kind: 'alert-events' } : a === 'commands' ? { kind: 'command-events' } : undefined;
    case 'clients':
      return count === 3 && b === 'errors' ? { kind: 'client-errors', clientLevel: a } : undefined;
    default:
      // A reserved level without a case above is still no domain.
      return count === 3 && !isReservedLevel(first) ? { kind: 'reading', domain: first, device: a, metric: b } : undefined;
  }
}
