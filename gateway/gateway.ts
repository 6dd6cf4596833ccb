import { join } from 'node:path';
import type { KindDriver } from '../drivers/plugin.js';
import { SimulatedDistrict } from '../tools/simulator/district.js';
import { AlertStore } from './alerts/alert-store.js';
import { AlertTopics } from './alerts/alert-topics.js';
import { Alerting } from './alerts/alerting.js';
import { notifierTarget, outboxRoot } from './alerts/notify/config.js';
import { NotificationDispatcher } from './alerts/notify/dispatcher.js';
import { SwitchingDispatch } from './alerts/notify/switching-dispatch.js';
import { Rule } from './alerts/rule.js';
import { Acl, type Identity } from './broker/acl.js';
import { Authenticator } from './broker/authenticator.js';
import { Broker } from './broker/broker.js';
import { ReadingPublisher } from './broker/reading-publisher.js';
import { publishStatus } from './broker/status-publisher.js';
import { AuditLog } from './commands/audit-log.js';
import { CommandService, type CommandTarget } from './commands/command-service.js';
import type { LoadedConfig } from './config-file/load.js';
import { ConfigWatcher } from './config-file/watcher.js';
import { deviceChanges, mqttDevices, polledDevices, restartOnlyChanges } from './config-file/changes.js';
import { ConfigError } from './config/errors.js';
import type { GatewayHealth } from './health.js';
import { HttpServer, type BoundHttp } from './http/server.js';
import { MqttIngest } from './ingest/mqtt-ingest.js';
import { NodeRedHost } from './node-red/host.js';
import { Pipeline } from './pipeline/pipeline.js';
import type { Sink } from './pipeline/sink.js';
import { deviceKinds, sinkKinds } from './plugins.js';
import { service, type Service } from './services/service.js';
import type { RunningSink } from './services/sink-kind.js';
import { Supervisor } from './services/supervisor.js';
import { StatusBoard } from './status-board.js';
import { Topics } from './contract/topics.js';
import { systemClock } from './util/clock.js';
import type { Logger } from './util/log.js';

export type { GatewayHealth } from './health.js';

/** Commands from the city platform reach local devices as an operator's would, and only those. */
const UPSTREAM: Identity = { user: 'bridge', role: 'operator', devices: [] };

/**
 * The composition root: the parts of the gateway as services, in start order (stopped in reverse). The broker and
 * the durable buffer are essential; any other part that fails to start is retried while the rest runs.
 *
 *   broker → bridge → pipeline → alerts → MQTT publisher → InfluxDB → device statuses → commands → MQTT listeners →
 *   HTTP → simulator → drivers → Node-RED (operators' flows start once the data path runs, so they never delay it)
 *
 * Stopping in reverse: drivers and simulator stop, the pipeline flushes every sink and announces devices offline,
 * the bridge sends those last words through the drained broker, and the broker closes last.
 */
export class Gateway {
  readonly topics: Topics;
  readonly pipeline: Pipeline;
  readonly statuses: StatusBoard;
  private readonly authenticator: Authenticator;
  private readonly supervisor: Supervisor;
  private readonly ingest: MqttIngest;
  private broker: Broker | undefined;
  /** Made with the broker, so outputs that start before the pipeline (the bridge) can tap its readings. */
  private readingPublisher: ReadingPublisher | undefined;
  private alerting: Alerting | undefined;
  private notifications: SwitchingDispatch | undefined;
  private commands: CommandService | undefined;
  private readonly watcher: ConfigWatcher;
  /** The running outputs by name (InfluxDB, the bridge). */
  private readonly sinks = new Map<string, RunningSink>();
  private simulator: SimulatedDistrict | undefined;
  private http: HttpServer | undefined;
  private nodeRed: NodeRedHost | undefined;
  private current: LoadedConfig;
  private readonly drivers: KindDriver[] = [];
  /** Readings each driver handed in, by driver name. */
  private readonly received: Record<string, number> = {};
  private stopping: Promise<void> | undefined;
  /** Reloads run one after another: a SIGHUP during a file-change reload waits its turn. */
  private reloading: Promise<unknown> = Promise.resolve();

  constructor(
    config: LoadedConfig,
    private readonly log: Logger,
    /** Extra sinks (tests, benchmarks); the gateway's own sinks are built from the config. */
    private readonly extraSinks: readonly Sink[] = [],
  ) {
    this.current = config;
    this.topics = new Topics(config.mqtt.prefix, config.site);
    this.pipeline = new Pipeline({ maxQueueBytes: config.pipeline.max_queue }, log.child('pipeline'));
    this.statuses = new StatusBoard(log.child('devices'));
    this.authenticator = new Authenticator({ users: config.mqtt.users, allowAnonymous: config.mqtt.allow_anonymous, anonymousRole: config.mqtt.anonymous_role });
    this.ingest = this.createIngest();
    this.watcher = new ConfigWatcher(() => void this.reload(), log.child('config'));
    this.supervisor = new Supervisor(this.services(), log.child('parts'));
  }

  /** The configuration in force (the last one a reload accepted). */
  get config(): LoadedConfig {
    return this.current;
  }

  /** The bound MQTT listeners (useful when the config asks for port 0). */
  get mqttListeners() {
    return this.broker?.listeners ?? [];
  }

  /** Where the HTTP server listens, once it does (useful when the config asks for port 0). */
  get httpAddress(): BoundHttp | undefined {
    return this.http?.bound;
  }

  get mqttBroker(): Broker | undefined {
    return this.broker;
  }

  /** The alerting, once started (active alerts, acknowledgement). */
  get alerts(): Alerting | undefined {
    return this.alerting;
  }

  get simulatedDistrict(): SimulatedDistrict | undefined {
    return this.simulator;
  }

  /** A login for a helper process of the gateway (Node-RED): role internal, loopback listeners only, this run only. */
  internalLogin(name: string): { username: string; password: string } {
    return this.authenticator.issueInternal(name);
  }

  health(): GatewayHealth {
    const services = this.supervisor.health();
    return {
      state: services.every((part) => part.state === 'running') ? 'ok' : 'degraded',
      services,
      devices: this.statuses.all(),
      broker: this.broker?.stats(),
      ingest: this.ingest.stats(),
      sinks: Object.fromEntries([...this.sinks].map(([name, running]) => [name, running.health()])),
      notifiers: this.notifications?.stats() ?? {},
      pipeline: { received: { ...this.received, 'mqtt-ingest': this.ingest.stats().readings }, ...this.pipeline.stats() },
      drivers: Object.fromEntries(this.drivers.map((driver) => [driver.name, driver.stats()])),
      deviceFigures: Object.fromEntries(this.drivers.map((driver) => [driver.name, driver.deviceStats?.() ?? {}])),
      commands: this.commands?.stats(),
      ...(this.nodeRed ? { nodeRed: this.nodeRed.health() } : {}),
    };
  }

  async start(): Promise<void> {
    const { config, log } = this;
    log.info('starting gateway', { site: config.site, config: config.file, devices: config.devices.length });
    await this.supervisor.start();
    log.info('gateway running');
  }

  /** Idempotent: stops drivers, lets sinks drain, announces devices offline, closes the broker. */
  stop(): Promise<void> {
    this.stopping ??= (async () => {
      this.log.info('stopping gateway');
      await this.supervisor.stop();
      this.log.info('gateway stopped');
    })();
    return this.stopping;
  }

  /** The parts, in start order. */
  private services(): Service[] {
    const { current: config, log } = this;
    const acl = new Acl(this.topics);
    const parts: Service[] = [
      service('broker', {
        essential: true,
        start: async () => {
          this.broker = await Broker.create(
            {
              listeners: config.mqtt.listeners,
              drainTimeoutMs: config.mqtt.drain_timeout,
              access: { authenticator: this.authenticator, acl, topics: this.topics, denyAction: config.mqtt.deny_action },
              limits: config.mqtt.limits,
              onPublish: (client, topic, payload, qos) => this.ingest.onPublish(client, topic, payload, qos),
              onClientGone: (client, clean) => this.ingest.onClientGone(client, clean),
            },
            log.child('mqtt'),
          );
          this.readingPublisher = new ReadingPublisher(this.broker, this.topics);
        },
        stop: () => this.broker?.close(),
      }),
    ];
    parts.push(...this.sinkServices('broker', acl));
    parts.push(
      service('pipeline', {
        essential: true,
        stop: async () => {
          this.ingest.close();
          await this.pipeline.close();
          for (const status of this.statuses.all()) {
            if (status.state === 'online') this.statuses.report({ device: status.device, state: 'offline', ts: Date.now(), error: 'gateway stopped' });
          }
        },
      }),
      // First consumer: a reading is judged by the rules before it is even published.
      service('alerts', { start: () => this.startAlerting(this.requireBroker()) }),
      service('mqtt-publisher', { essential: true, start: () => this.pipeline.attach(this.requireReadingPublisher()) }),
    );
    // The durable buffer is among them: QoS 1 ingest is acknowledged once readings are in it, so nothing may listen before.
    parts.push(...this.sinkServices('readings', acl));
    parts.push(
      service('extra-sinks', { start: () => this.extraSinks.forEach((sink) => this.pipeline.attach(sink)) }),
      service('device-statuses', {
        essential: true,
        start: () => {
          const broker = this.requireBroker();
          this.statuses.onChange((status) => publishStatus(broker, this.topics, status, log));
        },
      }),
      service('commands', { start: () => this.startCommands(), stop: () => this.commands?.stop() }),
      // Clients may connect only now that every consumer is in place.
      service('mqtt-listeners', { essential: true, start: () => this.requireBroker().listen() }),
    );
    if (config.http.enabled) parts.push(service('http', { start: () => this.startHttp(), stop: () => this.http?.close() }));
    const simulatorConfig = config.simulator;
    if (simulatorConfig) {
      parts.push(
        service('simulator', {
          start: async () => {
            const simulator = new SimulatedDistrict(simulatorConfig.slaves, log.child('simulator'));
            await simulator.start(log.child('simulator'));
            this.simulator = simulator;
          },
          stop: () => this.simulator?.stop(),
        }),
      );
    }
    for (const kind of deviceKinds) {
      const driver = kind.createDriver(config.devices, config.sections, log.child(kind.driver));
      if (!driver) continue;
      this.drivers.push(driver);
      this.received[driver.name] = 0;
      parts.push(
        service(driver.name, {
          start: () =>
            driver.start({
              log: log.child(driver.name),
              emit: (readings) => {
                this.received[driver.name] = (this.received[driver.name] ?? 0) + readings.length;
                this.pipeline.publish(readings);
              },
              behind: () => this.pipeline.caughtUp(),
              status: (status) => this.statuses.report(status),
            }),
          stop: () => driver.stop(),
        }),
      );
    }
    if (config.node_red.enabled) parts.push(service('node-red', { start: () => this.startNodeRed(), stop: () => this.nodeRed?.stop() }));
    // Last: edits to the config file apply once every part they touch is running.
    parts.push(service('config-watcher', { start: () => this.watcher.watch(config.ruleSources), stop: () => this.watcher.close() }));
    return parts;
  }

  /** The outputs the config has sections for, that take from `takes`, as services. */
  private sinkServices(takes: 'readings' | 'broker', acl: Acl): Service[] {
    const { current: config, log } = this;
    return sinkKinds
      .filter((kind) => kind.takes === takes && config.sinks[kind.name] !== undefined)
      .map((kind) =>
        service(kind.name, {
          essential: kind.essential,
          start: async () => {
            const running = await kind.start(config.sinks[kind.name], {
              site: config.site,
              dataDir: config.data_dir,
              topics: this.topics,
              broker: this.requireBroker(),
              readings: this.requireReadingPublisher(),
              mayRouteDown: (topic) => acl.mayPublish(UPSTREAM, topic),
              log: log.child(kind.name),
            });
            this.sinks.set(kind.name, running);
            if (running.sink) this.pipeline.attach(running.sink);
          },
          stop: () => this.sinks.get(kind.name)?.stop(),
        }),
      );
  }

  /** The broker starts first and is essential: every later part may count on it. */
  private requireBroker(): Broker {
    if (!this.broker) throw new Error('the broker is not running');
    return this.broker;
  }

  private requireReadingPublisher(): ReadingPublisher {
    if (!this.readingPublisher) throw new Error('the broker is not running');
    return this.readingPublisher;
  }

  private async startAlerting(broker: Broker): Promise<void> {
    const { config, log } = this;
    const alertLog = log.child('alerts');
    const dispatch = new SwitchingDispatch(await this.openNotifiers(config), alertLog);
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
    this.notifications = dispatch;
    this.alerting = alerting;
    this.pipeline.attach(alerting);
    this.statuses.onChange((status) => alerting.onStatus(status));
    this.http?.watchAlerts(alerting);
    alertLog.info('alert rules loaded', { rules: config.rules.length, notifiers: Object.keys(config.notifiers).join(',') || 'none' });
  }

  private startCommands(): void {
    const config = this.current;
    const commands = new CommandService({
      topics: this.topics,
      broker: this.requireBroker(),
      targetOf: (device) => this.commandTarget(device),
      upstream: UPSTREAM,
      maxAgeMs: config.commands.max_age,
      maxPending: config.commands.max_pending,
      audit: new AuditLog({ dir: join(config.data_dir, 'audit'), name: 'commands', maxBytes: config.commands.audit_max_size, keep: config.commands.audit_keep }, this.log.child('audit')),
      clock: systemClock,
      log: this.log.child('commands'),
    });
    commands.start();
    this.commands = commands;
  }

  /** The driver polling the device in the configuration in force (a reload may add or remove devices). */
  private commandTarget(device: string): CommandTarget | undefined {
    const configured = this.current.devices.find((candidate) => candidate.name === device);
    const driver = configured && this.drivers.find((candidate) => candidate.name === configured.driver);
    if (!driver) return undefined;
    return { driver: driver.name, ...(driver.write ? { write: driver.write } : {}) };
  }

  private async startHttp(): Promise<void> {
    const http = new HttpServer(
      this.current.http,
      {
        authenticator: this.authenticator,
        site: () => this.current.site,
        health: () => this.health(),
        devices: () => this.current.devices.map((device) => ({ name: device.name, driver: device.driver, domain: 'domain' in device ? device.domain : undefined })),
        alerting: () => this.alerting,
        commands: () => this.commands,
        ...(this.current.node_red.enabled ? { editor: () => this.nodeRed?.editor() } : {}),
      },
      this.log.child('http'),
    );
    try {
      await http.listen();
    } catch (error) {
      await http.close();
      throw error;
    }
    this.http = http;
    this.pipeline.attach(http.latest);
    this.statuses.onChange((status) => this.http?.statusChanged(status));
    if (this.alerting) http.watchAlerts(this.alerting);
  }

  private startNodeRed(): void {
    const { current: config } = this;
    const listener = this.requireBroker().listeners.find((bound) => bound.type === 'tcp' && bound.loopback);
    // The config check makes sure of one; a listener that failed to bind stops the gateway before this.
    if (!listener) throw new Error('no plain MQTT listener on loopback for the gateway nodes of Node-RED');
    const login = this.internalLogin('node-red');
    const host = new NodeRedHost(
      {
        config: config.node_red,
        dataDir: config.data_dir,
        logLevel: config.log.level,
        nodeEnv: { GATEWAY_MQTT_URL: listener.url, GATEWAY_MQTT_USERNAME: login.username, GATEWAY_MQTT_PASSWORD: login.password, GATEWAY_TOPIC_ROOT: this.topics.root },
      },
      this.log.child('node-red'),
    );
    host.start();
    this.nodeRed = host;
  }

  private openNotifiers(config: LoadedConfig): Promise<NotificationDispatcher> {
    const alertLog = this.log.child('alerts');
    const targets = Object.entries(config.notifiers).map(([name, notifier]) => notifierTarget(name, notifier, config.data_dir, alertLog.child(name)));
    return NotificationDispatcher.open(targets, { outboxRoot: outboxRoot(config.data_dir) }, alertLog);
  }

  /**
   * Reads the config file again (a change to it or a rule file, or SIGHUP) and applies it without a restart: devices
   * added, changed or removed (the others poll on), rules (alerts of unchanged rules keep their state), notifiers,
   * users and their roles (sessions of changed logins are closed). A file with problems is refused with them listed
   * and the running config stays. Keys that only a restart can apply (listeners, InfluxDB, the bridge...) are named
   * in the log. Resolves true when the new config was applied.
   */
  reload(): Promise<boolean> {
    const next = this.reloading.then(() => this.applyReload());
    this.reloading = next;
    return next;
  }

  private async applyReload(): Promise<boolean> {
    const log = this.log.child('config');
    if (this.stopping) return false;
    let fresh: LoadedConfig;
    try {
      fresh = this.current.reload();
    } catch (error) {
      // Runs from a file watcher or a signal: nothing here may take the process down.
      if (error instanceof ConfigError) log.error('configuration not reloaded: it has problems; the running one stays', { problems: error.problems.join(' | ') });
      else log.error('configuration not reloaded', { error });
      return false;
    }
    const old = this.current;
    this.current = fresh;
    const devices = deviceChanges(old.devices, fresh.devices);
    try {
      for (const driver of this.drivers) await driver.update(fresh.devices, fresh.sections);
      this.ingest.setDevices(mqttDevices(fresh), polledDevices(fresh));
      const users = this.authenticator.setUsers({ users: fresh.mqtt.users, allowAnonymous: fresh.mqtt.allow_anonymous, anonymousRole: fresh.mqtt.anonymous_role });
      const disconnected = (this.broker?.disconnectUsers(users) ?? 0) + (this.http?.closeSessionsOf(users) ?? 0);
      if (JSON.stringify(old.notifiers) !== JSON.stringify(fresh.notifiers)) await this.notifications?.switchTo(() => this.openNotifiers(fresh), () => this.openNotifiers(old));
      this.alerting?.setRules(fresh.rules.map((rule) => new Rule(rule)));
      this.watcher.watch(fresh.ruleSources);
      this.log.child('alerts').info('alert rules reloaded', { rules: fresh.rules.length });
      const restart = restartOnlyChanges(old, fresh);
      log.info('configuration reloaded', {
        devices_added: devices.added.join(',') || undefined,
        devices_changed: devices.changed.join(',') || undefined,
        devices_removed: devices.removed.join(',') || undefined,
        rules: fresh.rules.length,
        notifiers: Object.keys(fresh.notifiers).join(',') || 'none',
        sessions_closed: disconnected || undefined,
        needs_restart: restart.join(',') || undefined,
      });
      if (restart.length) log.warn('some changes apply only after a restart', { keys: restart.join(',') });
      return true;
    } catch (error) {
      log.error('configuration reload failed part-way; what was applied stays', { error });
      return false;
    }
  }

  private createIngest(): MqttIngest {
    const config = this.current;
    const { ingest: limits } = config.mqtt;
    return new MqttIngest({
      topics: this.topics,
      limits: { maxMetrics: limits.max_metrics, maxStringLength: limits.max_string, maxFutureMs: limits.max_future, maxAgeMs: limits.max_age },
      declared: mqttDevices(config),
      polled: polledDevices(config),
      publish: (readings, durably) => {
        if (durably) return this.pipeline.publishDurably(readings);
        this.pipeline.publish(readings);
        return this.pipeline.caughtUp();
      },
      statuses: this.statuses,
      tell: (clientId, topic, reasons) => this.broker?.tellClient(clientId, topic, reasons),
      log: this.log.child('ingest'),
    });
  }
}

