import { ModbusDriver, rtuTransport, tcpTransport } from '../drivers/modbus/modbus-driver.js';
import type { LinkStats } from '../drivers/modbus/link.js';
import { SerialLineDriver } from '../drivers/serial-line/serial-line-driver.js';
import type { Driver, DriverContext } from '../drivers/driver.js';
import { SimulatedDistrict } from '../drivers/simulator/district.js';
import { Bridge, type BridgeHealth } from './bridge/bridge.js';
import type { BridgeConfig } from './bridge/config.js';
import { Acl, type Identity } from './broker/acl.js';
import { Authenticator } from './broker/authenticator.js';
import { Broker, type BrokerStats } from './broker/broker.js';
import { ReadingPublisher } from './broker/reading-publisher.js';
import { publishStatus } from './broker/status-publisher.js';
import { MqttIngest, type IngestStats } from './ingest/mqtt-ingest.js';
import { join } from 'node:path';
import { AlertStore } from './alerts/alert-store.js';
import { AlertTopics } from './alerts/alert-topics.js';
import { Alerting } from './alerts/alerting.js';
import { notifierTarget, outboxRoot } from './alerts/notify/config.js';
import { NotificationDispatcher, type NotifierStats } from './alerts/notify/dispatcher.js';
import { Rule } from './alerts/rule.js';
import { RuleReloader } from './alerts/rule-reloader.js';
import { ConfigError } from './config/errors.js';
import { isModbusDevice, type LoadedConfig } from './config/load.js';
import { InfluxSink, type InfluxSinkHealth } from './influx/influx-sink.js';
import type { DeviceStatus, Reading } from './model.js';
import { Pipeline } from './pipeline/pipeline.js';
import type { Sink } from './pipeline/sink.js';
import { StatusBoard } from './status-board.js';
import { Topics } from './contract/topics.js';
import type { Logger } from './util/log.js';

/**
 * The composition root: builds drivers, pipeline, sinks and broker from the config and owns their start/stop
 * order. Start: broker (in-process) → sinks (InfluxDB forwarding replays its buffer) → bridge → MQTT listeners →
 * simulator → drivers. Stop: the reverse, flushing sinks and the bridge before the broker closes.
 */
export class Gateway {
  readonly topics: Topics;
  readonly pipeline: Pipeline;
  readonly statuses: StatusBoard;
  private broker: Broker | undefined;
  private simulator: SimulatedDistrict | undefined;
  private influx: InfluxSink | undefined;
  private alerting: Alerting | undefined;
  private notifications: NotificationDispatcher | undefined;
  private reloader: RuleReloader | undefined;
  private ingest: MqttIngest | undefined;
  private bridge: Bridge | undefined;
  private readonly authenticator: Authenticator;
  private readonly drivers: Driver[] = [];
  private stopping: Promise<void> | undefined;

  constructor(
    readonly config: LoadedConfig,
    private readonly log: Logger,
    /** Extra sinks (tests, benchmarks); the gateway's own sinks are built from the config. */
    private readonly extraSinks: readonly Sink[] = [],
  ) {
    this.topics = new Topics(config.mqtt.prefix, config.site);
    this.pipeline = new Pipeline(config.pipeline.queue_size, log.child('pipeline'));
    this.statuses = new StatusBoard(log.child('devices'));
    this.authenticator = new Authenticator({ users: config.mqtt.users, allowAnonymous: config.mqtt.allow_anonymous, anonymousRole: config.mqtt.anonymous_role });
  }

  /** The bound MQTT listeners (useful when the config asks for port 0). */
  get mqttListeners() {
    return this.broker?.listeners ?? [];
  }

  get mqttBroker(): Broker | undefined {
    return this.broker;
  }

  /** Connections, refused logins, denied publishes and subscriptions, throttling. */
  mqttStats(): BrokerStats | undefined {
    return this.broker?.stats();
  }

  /** Readings taken over MQTT ingest and refusals. */
  ingestStats(): IngestStats | undefined {
    return this.ingest?.stats();
  }

  /** The upstream bridge's link state and backlog, when the config has a `bridge` section. */
  bridgeHealth(): BridgeHealth | undefined {
    return this.bridge?.health();
  }

  /** A login for a helper process of the gateway (Node-RED): role internal, loopback listeners only, this run only. */
  internalLogin(name: string): { username: string; password: string } {
    return this.authenticator.issueInternal(name);
  }

  get simulatedDistrict(): SimulatedDistrict | undefined {
    return this.simulator;
  }

  /** Per Modbus link (TCP endpoint or serial bus): transactions, timeouts, malformed answers, busy time. */
  linkStats(): Record<string, LinkStats> {
    return Object.assign({}, ...this.drivers.map((driver) => (driver instanceof ModbusDriver ? driver.linkStats() : {}))) as Record<string, LinkStats>;
  }

  /** The alerting, once started (active alerts, acknowledgement). */
  get alerts(): Alerting | undefined {
    return this.alerting;
  }

  /** Per notifier: outbox backlog, deliveries, drops, expiries (empty before start). */
  notifierStats(): Record<string, NotifierStats> {
    return this.notifications?.stats() ?? {};
  }

  /** The InfluxDB forwarding's health, when the config has an `influx` section. */
  influxHealth(): InfluxSinkHealth | undefined {
    return this.influx?.health();
  }

  async start(): Promise<void> {
    const { config, log } = this;
    log.info('starting gateway', { site: config.site, config: config.file, devices: config.devices.length });
    try {
      const ingest = this.startIngest();
      const acl = new Acl(this.topics);
      const broker = await Broker.create(
        {
          listeners: config.mqtt.listeners,
          drainTimeoutMs: config.mqtt.drain_timeout,
          access: { authenticator: this.authenticator, acl, topics: this.topics, denyAction: config.mqtt.deny_action },
          limits: config.mqtt.limits,
          onPublish: (client, topic, payload, qos) => ingest.onPublish(client, topic, payload, qos),
          onClientGone: (client, clean) => ingest.onClientGone(client, clean),
        },
        log.child('mqtt'),
      );
      this.broker = broker;
      // First consumer: a reading is judged by the rules before it is even published.
      const alerting = await this.startAlerting(broker);
      this.pipeline.attach(alerting);
      this.statuses.onChange((status) => alerting.onStatus(status));
      this.pipeline.attach(new ReadingPublisher(broker, this.topics));
      if (config.influx) {
        this.influx = InfluxSink.start(config.influx, config.site, config.data_dir, log.child('influx'));
        this.pipeline.attach(this.influx);
      }
      for (const sink of this.extraSinks) this.pipeline.attach(sink);
      this.statuses.onChange((status) => publishStatus(broker, this.topics, status, log));
      if (config.bridge) this.bridge = await this.startBridge(config.bridge, broker, acl);
      // Clients may connect only now that every consumer is in place: a QoS 1 ingest must not be acknowledged
      // before the durable buffer is there to hold it.
      await broker.listen();

      if (config.simulator) {
        this.simulator = new SimulatedDistrict(config.simulator.slaves, log.child('simulator'));
        await this.simulator.start(log.child('simulator'));
      }

      const context = this.driverContext();
      const modbus = config.devices.filter(isModbusDevice);
      const tcp = modbus.filter((d) => d.driver === 'modbus-tcp');
      const rtu = modbus.filter((d) => d.driver === 'modbus-rtu');
      if (tcp.length) this.drivers.push(new ModbusDriver('modbus-tcp', tcp, tcpTransport));
      if (rtu.length) this.drivers.push(new ModbusDriver('modbus-rtu', rtu, rtuTransport(config.buses)));
      const lines = config.devices.filter((d) => d.driver === 'serial-line');
      if (lines.length) this.drivers.push(new SerialLineDriver(lines));
      for (const driver of this.drivers) await driver.start({ ...context, log: log.child(driver.name) });
    } catch (error) {
      await this.stop();
      throw error;
    }
    log.info('gateway running');
  }

  /** Idempotent: stops drivers, lets sinks drain, announces devices offline, closes the broker. */
  stop(): Promise<void> {
    this.stopping ??= this.shutdown();
    return this.stopping;
  }

  private async shutdown(): Promise<void> {
    const { log } = this;
    log.info('stopping gateway');
    this.reloader?.close();
    this.ingest?.close();
    await Promise.allSettled(this.drivers.map((d) => d.stop().catch((error: unknown) => log.error('driver failed to stop', { driver: d.name, error }))));
    await this.simulator?.stop();
    await this.pipeline.close();
    for (const status of this.statuses.all()) {
      if (status.state === 'online') this.statuses.report({ device: status.device, state: 'offline', ts: Date.now(), error: 'gateway stopped' });
    }
    // The bridge queues the last words (offline statuses) once they have gone through the broker.
    await this.broker?.drain();
    await this.bridge?.close();
    await this.broker?.close();
    log.info('gateway stopped');
  }

  private async startAlerting(broker: Broker): Promise<Alerting> {
    const { config, log } = this;
    const alertLog = log.child('alerts');
    const targets = Object.entries(config.notifiers).map(([name, notifier]) => notifierTarget(name, notifier, config.data_dir, alertLog.child(name)));
    const dispatch = await NotificationDispatcher.open(targets, { outboxRoot: outboxRoot(config.data_dir) }, alertLog);
    this.notifications = dispatch;
    const alerting = await Alerting.start(
      {
        site: config.site,
        topics: new AlertTopics(broker, this.topics, alertLog),
        dispatch,
        store: new AlertStore(join(config.data_dir, 'alerts', 'active.json'), alertLog),
        log: alertLog,
      },
      config.rules.map((rule) => new Rule(rule)),
    ).catch(async (error: unknown) => {
      await dispatch.close(); // releases the outboxes
      throw error;
    });
    this.alerting = alerting;
    alertLog.info('alert rules loaded', { rules: config.rules.length, notifiers: Object.keys(config.notifiers).join(',') || 'none' });
    this.reloader = new RuleReloader(() => this.reloadRules(), alertLog);
    this.reloader.watch(config.ruleSources);
    return alerting;
  }

  /** Applies the rules of the edited files; a file with problems leaves the running rules as they are. */
  private reloadRules(): void {
    const log = this.log.child('alerts');
    let fresh: LoadedConfig;
    try {
      fresh = this.config.reload();
    } catch (error) {
      // Runs from a file watcher: nothing here may take the process down.
      if (error instanceof ConfigError) log.error('rules not reloaded: the configuration has problems; the running rules stay', { problems: error.problems.join(' | ') });
      else log.error('rules not reloaded', { error });
      return;
    }
    this.alerting?.setRules(fresh.rules.map((rule) => new Rule(rule)));
    this.reloader?.watch(fresh.ruleSources);
    log.info('alert rules reloaded', { rules: fresh.rules.length });
  }

  /** Commands from the city platform reach local devices as an operator's would, and only those. */
  private startBridge(config: BridgeConfig, broker: Broker, acl: Acl): Promise<Bridge> {
    const upstream: Identity = { user: 'bridge', role: 'operator', devices: [] };
    return Bridge.start(config, {
      broker,
      topics: this.topics,
      dataDir: this.config.data_dir,
      resolvePath: (path) => path, // made absolute by the config loader
      mayRouteDown: (topic) => acl.mayPublish(upstream, topic),
      log: this.log.child('bridge'),
    });
  }

  private startIngest(): MqttIngest {
    const { config } = this;
    const { ingest: limits } = config.mqtt;
    this.ingest = new MqttIngest({
      topics: this.topics,
      limits: { maxMetrics: limits.max_metrics, maxStringLength: limits.max_string, maxFutureMs: limits.max_future, maxAgeMs: limits.max_age },
      declared: config.devices.filter((device) => device.driver === 'mqtt'),
      polled: new Set(config.devices.filter((device) => device.driver !== 'mqtt').map((device) => device.name)),
      publish: (readings, durably) => (durably ? this.pipeline.publishDurably(readings) : this.pipeline.publish(readings)),
      statuses: this.statuses,
      tell: (clientId, topic, reasons) => this.broker?.tellClient(clientId, topic, reasons),
      log: this.log.child('ingest'),
    });
    return this.ingest;
  }

  private driverContext(): DriverContext {
    return {
      log: this.log,
      emit: (readings: readonly Reading[]) => this.pipeline.publish(readings),
      status: (status: DeviceStatus) => this.statuses.report(status),
    };
  }
}
