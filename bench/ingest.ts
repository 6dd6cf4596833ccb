/**
 * MQTT ingest: 1,000 device connections, each logged in with its own password and allowed by the ACL to publish only
 * its own ingest topic, publish 3-metric JSON payloads at QoS 0 and QoS 1 into
 *  (a) the gateway's embedded broker (QoS 1 acknowledged once the readings are in the durable InfluxDB buffer), and
 *  (b) Mosquitto 2.0 configured the same way (password_file from mosquitto_passwd, acl_file with a %u pattern).
 * The devices run in child processes (this file is their entry), so the load does not share the gateway's event loop.
 *
 * Both brokers are counted the same way, by what they confirm they took: PUBACKs at QoS 1; at QoS 0 a PINGREQ after
 * each batch, whose PINGRESP comes only once the broker has read the publishes before it on that connection. That
 * fence also bounds the backlog: unfenced, loopback sockets buffer megabytes each, and 1,000 of them hold minutes of load.
 */
import type { ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { connectAsync, type MqttClient } from 'mqtt';
import { hashPassword } from '../gateway/broker/password.js';
import { loadConfig } from '../gateway/config-file/load.js';
import { Gateway } from '../gateway/gateway.js';
import { createLogger } from '../gateway/util/log.js';
import { startMosquitto, type Mosquitto } from '../test/peers/mosquitto.js';
import { stopChild } from '../test/peers/process.js';
import { cpuSeconds, memory } from './proc.js';
import { ask, forkHelper, serve } from './ipc.js';

const SECONDS = Number(process.env.BENCH_SECONDS ?? 5);
const WARMUP_MS = 2000;
const DEVICES = 1000;
/**
 * Child processes holding the connections. mqtt.js costs more CPU per message than Mosquitto does, so with the broker
 * on one of the two cores the load is Mosquitto's bound; 1, 2 or 3 processes measured alike, within the noise.
 */
const GENERATORS = 2;
/** QoS 1 publishes in flight per connection: enough to keep the broker busy, bounded so no client queue grows. */
const WINDOW = 10;
/** QoS 0: publishes per PINGREQ fence; two batches in flight per connection, the same window as QoS 1. */
const QOS0_BATCH = WINDOW / 2;
/** Cheap enough for 1,000 first logins; production hashes default to ln=14 (16 times the work). */
const HASH_COST = 10;
const READINGS_PER_MESSAGE = 3;
const PAYLOAD = Buffer.from('{"kw":12.5,"kwh":{"value":1234.5,"unit":"kWh"},"pf":0.97}');

const deviceName = (i: number): string => `dev-${String(i + 1).padStart(4, '0')}`;
const passwordOf = (user: string): string => `pw-${user}`;
const topicOf = (device: string): string => `city/bench/ingest/energy/${device}`;
const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

// ---- the load generator (child process) ----

type Command = { type: 'connect'; url: string; devices: string[] } | { type: 'publish'; qos: 0 | 1 } | { type: 'sample' } | { type: 'pause' } | { type: 'end' };

/** Every command is answered with the generator's counters once it is done. */
interface Counters {
  /** Publishes the broker confirmed: PUBACKs, or QoS 0 publishes followed by an answered PINGREQ. */
  readonly confirmed: number;
  /** Connections that closed while they should have stayed up. */
  readonly lost: number;
  readonly lastError: string;
  readonly cpuSeconds: number;
  /** When these were read, in ms since the epoch: each process keeps time on its own while the others are busy. */
  readonly at: number;
}

function runGenerator(): void {
  let clients: MqttClient[] = [];
  // Bumped on pause: publish loops of an earlier phase stop at their next turn.
  let phase = 0;
  let inFlight = 0;
  let ending = false;
  const counts = { confirmed: 0, lost: 0, lastError: '' };

  const qos1 = (client: MqttClient, topic: string, mine: number): void => {
    inFlight++;
    client.publish(topic, PAYLOAD, { qos: 1 }, (error) => {
      inFlight--;
      if (error) return;
      counts.confirmed++;
      if (mine === phase) qos1(client, topic, mine);
    });
  };
  const qos0 = (client: MqttClient, topic: string, mine: number): void => {
    const batch = (): void => {
      for (let i = 0; i < QOS0_BATCH; i++) client.publish(topic, PAYLOAD, { qos: 0 });
      client.sendPing();
      inFlight += QOS0_BATCH;
    };
    // Two fences in flight keep the broker fed; after a pause the listener goes once both are answered.
    let fences = 2;
    const onPacket = (packet: { cmd: string }): void => {
      if (packet.cmd !== 'pingresp') return;
      inFlight -= QOS0_BATCH;
      counts.confirmed += QOS0_BATCH;
      if (mine === phase) batch();
      else if (--fences === 0) client.off('packetreceive', onPacket);
    };
    client.on('packetreceive', onPacket);
    batch();
    batch();
  };

  const handle = async (command: Command): Promise<void> => {
    switch (command.type) {
      case 'connect':
        ending = false;
        clients = await Promise.all(
          command.devices.map(async (device) => {
            const client = await connectAsync(command.url, { clientId: device, username: device, password: passwordOf(device), protocolVersion: 4, keepalive: 60, reconnectPeriod: 0, connectTimeout: 60_000 });
            client.on('error', (error) => (counts.lastError = `${device}: ${error.message}`));
            client.on('close', () => {
              if (!ending) counts.lost++;
            });
            return client;
          }),
        );
        return;
      case 'publish': {
        const mine = ++phase;
        for (const client of clients) {
          const topic = topicOf(client.options.clientId ?? '');
          if (command.qos === 0) qos0(client, topic, mine);
          else for (let i = 0; i < WINDOW; i++) qos1(client, topic, mine);
        }
        return;
      }
      case 'pause': {
        phase++;
        const deadline = Date.now() + 10_000;
        while (inFlight > 0 && Date.now() < deadline) await sleep(10);
        return;
      }
      case 'end':
        ending = true;
        await Promise.all(clients.map((client) => client.endAsync()));
        clients = [];
        return;
      case 'sample':
        return;
    }
  };

  serve<Command>(async (command) => {
    await handle(command);
    const { user, system } = process.cpuUsage();
    return { ...counts, cpuSeconds: (user + system) / 1e6, at: performance.timeOrigin + performance.now() } satisfies Counters;
  });
}

if (process.argv[1] === fileURLToPath(import.meta.url)) runGenerator();

// ---- the bench (parent process) ----

/** The generator processes, addressed as one. */
class Load {
  private constructor(private readonly children: readonly ChildProcess[]) {}

  static start(): Load {
    return new Load(Array.from({ length: GENERATORS }, () => forkHelper(fileURLToPath(import.meta.url))));
  }

  /** Connects every device at once, spread over the generators; resolves with the time it took in ms. */
  async connect(url: string, devices: readonly string[]): Promise<number> {
    const started = performance.now();
    await Promise.all(this.children.map((child, g) => ask<Counters>(child, { type: 'connect', url, devices: devices.filter((_, i) => i % GENERATORS === g) } satisfies Command)));
    return performance.now() - started;
  }

  /** Sends the command to every generator; resolves with their counters, in order, once all have done it. */
  all(command: Command): Promise<Counters[]> {
    return Promise.all(this.children.map((child) => ask<Counters>(child, command)));
  }

  async stop(): Promise<void> {
    await Promise.all(this.children.map((child) => stopChild(child)));
  }
}

/** A broker under test, as the measurement sees it. */
interface Target {
  readonly name: string;
  cpuSeconds(): number;
  /** Readings the broker itself counted, where it can tell (the gateway's ingest counter). */
  readings?(): number;
}

interface CaseResult {
  readonly messagesPerSecond: number;
  readonly readingsPerSecond: number;
  readonly brokerCpu: number;
  readonly loadCpu: number;
}

async function measure(load: Load, target: Target, qos: 0 | 1): Promise<CaseResult> {
  await load.all({ type: 'publish', qos });
  await sleep(WARMUP_MS);
  const broker = (): { at: number; cpu: number; readings: number } => ({ at: performance.now(), cpu: target.cpuSeconds(), readings: target.readings?.() ?? 0 });
  const before = await load.all({ type: 'sample' });
  const brokerBefore = broker();
  await sleep(SECONDS * 1000);
  const after = await load.all({ type: 'sample' });
  const brokerAfter = broker();
  await load.all({ type: 'pause' });
  const lost = after.find((c) => c.lost > 0);
  if (lost) throw new Error(`${target.name}: device connections closed during the run (last error: ${lost.lastError || 'none'})`);
  // Each generator's rate over its own interval: the replies reach a busy broker's process late, and not all at once.
  const perSecond = (count: (c: Counters) => number): number =>
    after.reduce((sum, end, i) => {
      const start = before[i]!;
      return sum + (count(end) - count(start)) / ((end.at - start.at) / 1000);
    }, 0);
  const messagesPerSecond = perSecond((c) => c.confirmed);
  const seconds = (brokerAfter.at - brokerBefore.at) / 1000;
  return {
    messagesPerSecond,
    readingsPerSecond: target.readings ? (brokerAfter.readings - brokerBefore.readings) / seconds : messagesPerSecond * READINGS_PER_MESSAGE,
    brokerCpu: (brokerAfter.cpu - brokerBefore.cpu) / seconds,
    loadCpu: perSecond((c) => c.cpuSeconds),
  };
}

export async function ingestReport(): Promise<string> {
  const dir = mkdtempSync(join(tmpdir(), 'gw-bench-ingest-'));
  const devices = Array.from({ length: DEVICES }, (_, i) => deviceName(i));
  const logged: string[] = [];
  let gateway: Gateway | undefined;
  let mosquitto: Mosquitto | undefined;
  let load: Load | undefined;
  try {
    const hashes = await Promise.all(devices.map((device) => hashPassword(passwordOf(device), { ln: HASH_COST })));
    const file = join(dir, 'gateway.yaml');
    writeFileSync(
      file,
      [
        'site: bench',
        'mqtt:',
        '  listeners: [{ type: tcp, host: 127.0.0.1, port: 0 }]',
        '  users:',
        ...devices.map((device, i) => `    - { username: ${device}, role: device, password_hash: "${hashes[i]}" }`),
        '  limits: { max_connections: 5000, publish_rate: 1000000, publish_burst: 1000000 }',
        // Nothing listens there: readings stay in the durable buffer, which QoS 1 waits for before its PUBACK.
        'influx: { url: "http://127.0.0.1:9", api: v1, database: bench }',
        '',
      ].join('\n'),
    );
    // Warnings and errors are kept to be reported: a benchmark that hides the broker's complaints measures nothing.
    gateway = new Gateway(loadConfig(file, {}), createLogger({ level: 'warn', sink: { write: (line) => logged.push(line.trimEnd()) } }));
    await gateway.start();
    const gw = gateway;
    gc?.();
    const idleRss = process.memoryUsage().rss;

    load = Load.start();
    const gatewayTarget: Target = {
      name: 'gateway',
      cpuSeconds: () => {
        const { user, system } = process.cpuUsage();
        return (user + system) / 1e6;
      },
      readings: () => gw.health().ingest?.readings ?? 0,
    };
    const gatewayConnectMs = await load.connect(`mqtt://127.0.0.1:${gw.mqttListeners[0]!.port}`, devices);
    gc?.();
    const connectedRss = process.memoryUsage().rss;
    const gw0 = await measure(load, gatewayTarget, 0);
    const gw1 = await measure(load, gatewayTarget, 1);
    await load.all({ type: 'end' });
    const ingest = gw.health().ingest;
    const mqtt = gw.health().broker;
    const sinks = gw.pipeline.stats().sinks;
    await gateway.stop();

    const acl = join(dir, 'mosquitto.acl');
    writeFileSync(acl, 'pattern write city/bench/ingest/+/%u\n');
    mosquitto = await startMosquitto({
      users: Object.fromEntries(devices.map((device) => [device, passwordOf(device)])),
      // The helper turns on every log type; logging each packet would measure the log, not the broker.
      extraConfig: [`acl_file ${acl}`, 'log_type none', 'log_type error', 'log_type warning', 'log_type notice', 'log_type information'],
    });
    const pid = mosquitto.pid;
    const mosquittoTarget: Target = {
      name: 'Mosquitto',
      cpuSeconds: () => cpuSeconds(pid),
    };
    const mosquittoConnectMs = await load.connect(mosquitto.url, devices);
    const mosquittoRss = memory(pid).rss;
    const mq0 = await measure(load, mosquittoTarget, 0);
    const mq1 = await measure(load, mosquittoTarget, 1);
    await load.all({ type: 'end' });
    const mosquittoProblems = mosquitto.log.split('\n').filter((l) => /error|warning/i.test(l) && !/should not be run as root/.test(l));

    const line = (name: string, qos: 0 | 1, r: CaseResult): string =>
      `  ${name} QoS ${qos}: ${fmt(r.messagesPerSecond)} msgs/s, ${fmt(r.readingsPerSecond)} readings/s; CPU: broker ${pct(r.brokerCpu)}, load ${pct(r.loadCpu)}`;
    // Expected here: InfluxDB is unreachable on purpose, and the devices go offline when the bench disconnects them.
    const unexpected = logged.filter((l) => !/InfluxDB unreachable|"device offline" device=\S+ error=disconnected/.test(l));
    const problems = [
      ...Object.entries({ ...ingest, ...mqtt })
        .filter(([key, value]) => !['readings', 'clients', 'connectionsAccepted'].includes(key) && value > 0)
        .map(([key, value]) => `${key} ${fmt(value)}`),
      ...sinks.filter((q) => q.dropped + q.failed > 0).map((q) => `pipeline sink ${q.sink} dropped ${fmt(q.dropped)} and failed ${fmt(q.failed)} readings`),
      ...(unexpected.length ? [`${unexpected.length} lines logged at warn/error, first: ${unexpected[0]}`] : []),
      ...(mosquittoProblems.length ? [`Mosquitto logged ${mosquittoProblems.length} errors/warnings, first: ${mosquittoProblems[0]}`] : []),
    ];
    return [
      `MQTT ingest (${fmt(DEVICES)} devices, password + ACL, ${READINGS_PER_MESSAGE} readings/message, ${WINDOW} publishes in flight per connection, ${GENERATORS} load processes; msgs/s confirmed by the broker, readings/s by the gateway's ingest counter or msgs × ${READINGS_PER_MESSAGE}; CPU in % of one core):`,
      `  connect ${fmt(DEVICES)} devices: gateway ${(gatewayConnectMs / 1000).toFixed(2)} s (a first login costs one scrypt, ln=${HASH_COST} here, production default ln=14; reconnects hit a keyed cache), Mosquitto ${(mosquittoConnectMs / 1000).toFixed(2)} s`,
      `  RSS after connecting: the bench process, gateway inside, ${mb(connectedRss)} (${mb(idleRss)} before), Mosquitto ${mb(mosquittoRss)}`,
      line('gateway  ', 0, gw0),
      line('gateway  ', 1, gw1),
      line('Mosquitto', 0, mq0),
      line('Mosquitto', 1, mq1),
      `  gateway/Mosquitto: QoS 0 ${(gw0.messagesPerSecond / mq0.messagesPerSecond).toFixed(2)}, QoS 1 ${(gw1.messagesPerSecond / mq1.messagesPerSecond).toFixed(2)}`,
      `  ${problems.length ? `problems: ${problems.join('; ')}` : 'no refusals, nothing unacknowledged, nothing logged at warn/error'}`,
    ].join('\n');
  } finally {
    await load?.stop();
    await mosquitto?.stop();
    await gateway?.stop();
    rmSync(dir, { recursive: true, force: true });
  }
}

function fmt(n: number): string {
  return Math.round(n).toLocaleString('en-US');
}

function pct(cores: number): string {
  return `${Math.round(cores * 100)}%`;
}

function mb(bytes: number): string {
  return `${Math.round(bytes / 2 ** 20)} MB`;
}
