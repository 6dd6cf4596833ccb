import type { NotifierStats } from './alerts/notify/dispatcher.js';
import type { BrokerStats } from './broker/broker.js';
import type { CommandStats } from './commands/command-service.js';
import type { IngestStats } from './ingest/mqtt-ingest.js';
import type { NodeRedHealth } from './node-red/host.js';
import type { DeviceStatus } from './model.js';
import type { PipelineStats } from './pipeline/pipeline.js';
import type { ServiceHealth } from './services/service.js';

/** How the gateway is doing: each part's state, and the figures of the parts that run. */
export interface GatewayHealth {
  /** `ok` when every part runs; `degraded` while a part is being retried. */
  readonly state: 'ok' | 'degraded';
  readonly services: readonly ServiceHealth[];
  readonly devices: readonly DeviceStatus[];
  /** Connections, refused logins, denied publishes and subscriptions, throttling. */
  readonly broker: BrokerStats | undefined;
  /** Readings taken over MQTT ingest, and refusals. */
  readonly ingest: IngestStats | undefined;
  /** Per running output (`influx`: backlog, writes, drops by reason; `bridge`: link and backlog), its own report. */
  readonly sinks: Readonly<Record<string, unknown>>;
  /** Per notifier: outbox backlog, deliveries, drops, expiries. */
  readonly notifiers: Readonly<Record<string, NotifierStats>>;
  /**
   * Readings taken in per source; whether producers are held back now (a consumer passed half its queue) and how
   * often they were; each consumer's queue.
   */
  readonly pipeline: { readonly received: Readonly<Record<string, number>> } & PipelineStats;
  /** Per driver (`modbus-tcp`, `serial-line`...), its figures by link or device. */
  readonly drivers: Readonly<Record<string, Readonly<Record<string, unknown>>>>;
  /** Per driver, its figures by device where it keeps them (Modbus: link, polls, failed polls, last poll's duration). */
  readonly deviceFigures: Readonly<Record<string, Readonly<Record<string, unknown>>>>;
  /** Commands to the devices the gateway polls: carried out, failed (retained, stale, busy among them), waiting. */
  readonly commands: CommandStats | undefined;
  /** The Node-RED child, when `node_red.enabled`: state, restarts by reason, heartbeat age, resident memory, flows' origin. */
  readonly nodeRed?: NodeRedHealth;
}
