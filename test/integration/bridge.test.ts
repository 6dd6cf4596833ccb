/**
 * The upstream bridge between the embedded broker (aedes) and a real Mosquitto 2.0 as the city platform's central
 * broker, with a password login. Outages are real: Mosquitto is killed (or stopped, or frozen with SIGSTOP) and
 * started again on the same port.
 *
 * An upstream "watcher" must not miss what the bridge sends while the watcher itself reconnects after an outage, so
 * Mosquitto runs with persistence and the watcher keeps a persistent session (fixed client id, clean: false, QoS 1):
 * before a crash the platform saves its state (SIGUSR1), and after the restart it queues for the watcher whatever
 * arrives before the watcher is back.
 */
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { connectAsync, type IClientOptions, type MqttClient } from 'mqtt';
import { afterEach, describe, expect, it } from 'vitest';
import { Bridge } from '../../gateway/bridge/bridge.js';
import { encodeRecord } from '../../gateway/bridge/record.js';
import type { BridgeContext } from '../../gateway/bridge/context.js';
import { bridgeSchema } from '../../gateway/bridge/config.js';
import { Broker } from '../../gateway/broker/broker.js';
import type { ReadingTap } from '../../gateway/broker/reading-publisher.js';
import { Topics } from '../../gateway/contract/topics.js';
import { createLogger } from '../../gateway/util/log.js';
import { startMosquitto, type Mosquitto } from '../peers/mosquitto.js';
import { freePort, waitFor } from '../peers/net.js';
import { MqttRelay } from '../support/mqtt-relay.js';
import { makeTestCa, type TestCa } from '../support/test-ca.js';

const GW_PASSWORD = 'gw-Secret-7f3a';
const USERS = { gw: GW_PASSWORD, watcher: 'watch-pass', operator: 'op-pass' };
const topics = new Topics('city', 'district-7');
const ROOT = topics.root;

interface Received {
  readonly topic: string;
  readonly payload: string;
  readonly retain: boolean;
}

/** Everything a test starts, stopped in reverse order afterwards. */
const cleanups: (() => Promise<void> | void)[] = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

function tempDir(): string {
  const dir = mkdtempSync(join(tmpdir(), 'gw-bridge-'));
  cleanups.push(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

/** The city platform: Mosquitto with the users above, persistence in `stateDir` and no limit on queued messages. */
class Platform {
  private constructor(
    private mosquitto: Mosquitto | undefined,
    readonly port: number,
    private readonly stateDir: string,
    private readonly extraConfig: string[],
  ) {}

  static async start(opts: { tlsFiles?: TestCa } = {}): Promise<Platform> {
    const stateDir = tempDir();
    const tls = opts.tlsFiles;
    const extraConfig = [
      'persistence true',
      `persistence_location ${stateDir}/`,
      'max_queued_messages 0',
      ...(tls ? [`cafile ${tls.ca}`, `certfile ${tls.server.cert}`, `keyfile ${tls.server.key}`] : []),
    ];
    const mosquitto = await startMosquitto({ users: USERS, extraConfig });
    const platform = new Platform(mosquitto, mosquitto.port, stateDir, extraConfig);
    cleanups.push(() => platform.mosquitto?.stop());
    return platform;
  }

  get log(): string {
    return this.mosquitto?.log ?? '';
  }

  /** Saves the platform's state (sessions, retained messages), then kills it: the link goes down hard. */
  async crash(): Promise<void> {
    const mosquitto = this.mosquitto!;
    const db = join(this.stateDir, 'mosquitto.db');
    rmSync(db, { force: true });
    process.kill(mosquitto.pid, 'SIGUSR1');
    // Mosquitto writes the file under another name and renames it: once it exists it is complete.
    await waitFor(() => (existsSync(db) ? true : undefined), { what: 'the platform state saved' });
    await mosquitto.kill();
    this.mosquitto = undefined;
  }

  /** SIGSTOP: the platform hangs with its connections open (a half-open link: no error, no answers). */
  freeze(): void {
    const { pid } = this.mosquitto!;
    process.kill(pid, 'SIGSTOP');
    cleanups.push(() => this.thaw(pid));
  }

  thaw(pid = this.mosquitto?.pid): void {
    if (pid !== undefined) process.kill(pid, 'SIGCONT');
  }

  /** A clean shutdown (which saves the state): connections close wherever they are. */
  async stop(): Promise<void> {
    await this.mosquitto!.stop();
    this.mosquitto = undefined;
  }

  async restart(): Promise<void> {
    this.mosquitto = await startMosquitto({ port: this.port, users: USERS, extraConfig: this.extraConfig });
  }
}

/** An MQTT client on the platform that records every message of `filter`. */
async function platformClient(port: number, filter: string | undefined, opts: IClientOptions & { tls?: TestCa } = {}): Promise<{ client: MqttClient; received: Received[] }> {
  const { tls, ...options } = opts;
  const url = `${tls ? 'mqtts' : 'mqtt'}://127.0.0.1:${port}`;
  const client = await connectAsync(url, { username: 'watcher', password: USERS.watcher, reconnectPeriod: 100, ...(tls && { ca: readFileSync(tls.ca) }), ...options });
  cleanups.push(() => client.endAsync(true));
  const received: Received[] = [];
  client.on('message', (topic, payload, packet) => received.push({ topic, payload: payload.toString(), retain: packet.retain }));
  if (filter) await client.subscribeAsync(filter, { qos: 1 });
  return { client, received };
}

/** The watcher: a persistent session on the platform that sees everything, also across platform restarts. */
function watcher(port: number, opts: { tls?: TestCa } = {}) {
  return platformClient(port, '#', { clientId: 'platform-watcher', clean: false, ...opts });
}

/** The gateway side: an embedded broker, a log that is kept, and bridges started on it. */
async function gatewaySide() {
  const logLines: string[] = [];
  const log = createLogger({ level: 'debug', sink: { write: (line) => logLines.push(line) } });
  const broker = await Broker.start({ listeners: [{ type: 'tcp', host: '127.0.0.1', port: 0 }], drainTimeoutMs: 5000 }, log.child('broker'));
  cleanups.push(() => broker.close());
  const dataDir = tempDir();
  const deniedDevices = new Set<string>();
  // Readings reach the bridge as the gateway's MQTT publisher hands them on (a tap), everything else through the broker.
  const taps = new Set<ReadingTap>();
  const publish = async (topic: string, payload: string, qos: 0 | 1, retain: boolean): Promise<void> => {
    const isReading = topic.startsWith(`${ROOT}/`) && topic.split('/').length === 5 && topics.isReading(topic);
    if (!isReading) return broker.publish(topic, payload, qos, retain);
    const messages = [{ topic, payload }];
    await broker.publishMany(messages);
    for (const tap of taps) await tap(messages);
  };
  const ctx: BridgeContext = {
    broker,
    readings: { tap: (listener) => (taps.add(listener), () => taps.delete(listener)) },
    topics,
    dataDir,
    resolvePath: (path) => resolve(dataDir, path),
    mayRouteDown: (localTopic) => !deniedDevices.has(localTopic.split('/')[3] ?? ''),
    log: log.child('bridge'),
  };
  const startBridge = async (config: Record<string, unknown>): Promise<Bridge> => {
    const bridge = await Bridge.start(bridgeSchema.parse({ reconnect_min: '50ms', reconnect_max: '400ms', username: 'gw', password: GW_PASSWORD, ...config }), ctx);
    cleanups.push(() => bridge.close());
    return bridge;
  };
  return { broker, publish, ctx, logLines, deniedDevices, startBridge };
}

const reading = (seq: number) => JSON.stringify({ value: seq * 0.5, unit: 'm3/h', ts: 1795405973402 + seq, quality: 'good', seq });
const seqsOf = (received: readonly Received[], topic: string) => received.filter((m) => m.topic === topic).map((m) => (JSON.parse(m.payload) as { seq: number }).seq);
const range = (from: number, to: number) => Array.from({ length: to - from }, (_, i) => from + i);

async function until<T>(probe: () => T | undefined, what: string): Promise<T> {
  return waitFor(probe, { what, timeoutMs: 30_000 });
}

/** The retained messages a fresh subscriber gets for `filter` (a marker published after the subscription ends the wait). */
async function retainedOn(port: number, filter: string, opts: { tls?: TestCa } = {}): Promise<Received[]> {
  const { client, received } = await platformClient(port, filter, opts);
  const marker = `${filter.replace(/#$/, '')}zz-marker/${Math.random()}`;
  await client.publishAsync(marker, 'end', { qos: 1 });
  await until(() => (received.some((m) => m.topic === marker) ? true : undefined), 'the marker');
  await client.endAsync();
  return received.filter((m) => m.topic !== marker);
}

describe('upstream bridge to a central Mosquitto', () => {
  it('forwards readings, status, alert state and its clearing, events and command results, with their retain flags', async () => {
    const platform = await Platform.start();
    const { received } = await watcher(platform.port);
    const gw = await gatewaySide();
    const bridge = await gw.startBridge({ url: `mqtt://127.0.0.1:${platform.port}`, remote_prefix: 'platform/d7' });
    await until(() => (bridge.health().state === 'connected' ? true : undefined), 'the bridge connected');

    // Not bridged: published first, so had any of them been forwarded it would arrive before the rest.
    for (const topic of [`${ROOT}/ingest/water/lora-1`, `${ROOT}/command/pump-1/setpoint`, `${ROOT}/clients/node-red/errors`, `${ROOT}/alerts/high/pump-1/level/ack`, `city/other-site/water/pump-1/level`]) {
      await gw.publish(topic, '{"x":1}', 1, false);
    }
    const alert = '{"state":"firing","severity":"critical","rule":"high","device":"pump-1","metric":"level","value":4.7}';
    const sent: [string, string][] = [
      [`water/pump-1/level`, reading(1)],
      [`status/pump-1`, '{"state":"online","ts":1795405973402}'],
      [`alerts/high/pump-1/level`, alert],
      [`events/alerts`, '{"id":"e1","kind":"firing"}'],
      [`events/commands`, '{"ts":1795405973402,"user":"ops","device":"pump-1","point":"setpoint","ok":true}'],
      [`command/pump-1/setpoint/result`, '{"ok":true}'],
      [`energy/feeder-7/active_power`, reading(2)],
    ];
    for (const [suffix, payload] of sent) {
      const retained = suffix.startsWith('status/') || suffix.startsWith('alerts/');
      await gw.publish(`${ROOT}/${suffix}`, payload, retained ? 1 : 0, retained);
    }
    await until(() => (received.length >= sent.length ? true : undefined), 'all seven upstream');
    expect(received.map(({ topic, payload }) => [topic, payload]).sort()).toEqual(sent.map(([suffix, payload]) => [`platform/d7/${suffix}`, payload]).sort());

    const retainedBefore = await retainedOn(platform.port, 'platform/d7/#');
    expect(retainedBefore.sort((a, b) => a.topic.localeCompare(b.topic))).toEqual([
      { topic: 'platform/d7/alerts/high/pump-1/level', payload: alert, retain: true },
      { topic: 'platform/d7/status/pump-1', payload: '{"state":"online","ts":1795405973402}', retain: true },
    ]);

    // Resolved: the alert's retained state is cleared with an empty retained message, upstream too.
    await gw.publish(`${ROOT}/alerts/high/pump-1/level`, '', 1, true);
    await until(() => (received.some((m) => m.topic === 'platform/d7/alerts/high/pump-1/level' && m.payload === '') ? true : undefined), 'the clearing upstream');
    const retainedAfter = await retainedOn(platform.port, 'platform/d7/#');
    expect(retainedAfter.map((m) => m.topic)).toEqual(['platform/d7/status/pump-1']);

    expect(bridge.health()).toMatchObject({ state: 'connected', url: `mqtt://127.0.0.1:${platform.port}`, backlog: 0, forwarded: 8, dropped: 0, lastError: undefined });
    expect(bridge.health().lastConnected).toBeGreaterThan(0);
    expect(gw.logLines.some((line) => line.includes(GW_PASSWORD))).toBe(false);
  });

  it.each([
    { qos: 1, inflight: 1 },
    { qos: 1, inflight: 7 },
    { qos: 0, inflight: 3 },
  ] as const)('sends every message whole and in order at QoS $qos with $inflight in flight: binary, multi-byte and large payloads', async ({ qos, inflight }) => {
    const platform = await Platform.start();
    const { client } = await platformClient(platform.port, `${ROOT}/#`);
    const arrived: { topic: string; payload: Buffer; qos: number }[] = [];
    client.on('message', (topic, payload, packet) => arrived.push({ topic, payload, qos: packet.qos }));
    const gw = await gatewaySide();
    const bridge = await gw.startBridge({ url: `mqtt://127.0.0.1:${platform.port}`, qos, inflight });
    await until(() => (bridge.health().state === 'connected' ? true : undefined), 'the bridge connected');
    // Payload lengths on both sides of where MQTT's remaining length takes a second and a third byte (a queue line
    // holds at most 1 M characters, so no message of the bridge needs a fourth).
    const sent: { topic: string; payload: Buffer }[] = [
      { topic: `${ROOT}/status/pümpe-ß`, payload: Buffer.from('{"state":"online","note":"Ölstand ✓"}') },
      { topic: `${ROOT}/events/alerts`, payload: Buffer.from([0xff, 0x00, 0x0a, 0xc3, 0x28, 0x0d]) },
      ...[100, 120, 130, 16_300, 16_400, 1_000_000].map((length, i) => ({ topic: `${ROOT}/events/alerts`, payload: Buffer.alloc(length, 48 + i) })),
      ...range(0, 40).map((seq) => ({ topic: `${ROOT}/water/pump-1/level`, payload: Buffer.from(reading(seq)) })),
    ];
    // Readings reach the bridge from the gateway's publisher, the rest through the broker.
    for (const { topic, payload } of sent) await (topic.endsWith('/level') ? gw.publish(topic, payload.toString(), 1, false) : gw.broker.publish(topic, payload, 1, false));
    await until(() => (arrived.length === sent.length ? true : undefined), 'all of them upstream');
    expect(arrived.map((m) => m.topic)).toEqual(sent.map((m) => m.topic));
    arrived.forEach((m, i) => expect(m.payload.equals(sent[i]!.payload), `payload ${i}`).toBe(true));
    await until(() => (bridge.health().backlog === 0 ? true : undefined), 'the batch committed');
    expect(bridge.health()).toMatchObject({ forwarded: sent.length, dropped: 0 });
  });

  it('sends what is buffered when it closes with the link up (the last words), then stops', async () => {
    const platform = await Platform.start();
    const { received } = await watcher(platform.port);
    const gw = await gatewaySide();
    const bridge = await gw.startBridge({ url: `mqtt://127.0.0.1:${platform.port}` });
    await until(() => (bridge.health().state === 'connected' ? true : undefined), 'the bridge connected');
    const topic = `${ROOT}/water/pump-1/level`;
    for (let seq = 0; seq < 50; seq++) void gw.publish(topic, reading(seq), 0, false);
    await gw.publish(`${ROOT}/status/pump-1`, '{"state":"offline","ts":2,"error":"gateway stopped"}', 1, true);
    await bridge.close();
    expect(bridge.health()).toMatchObject({ state: 'stopped', backlog: 0, forwarded: 51 });
    await until(() => (received.length === 51 ? true : undefined), 'the last words upstream');
    expect(seqsOf(received, topic)).toEqual(range(0, 50));
    expect(received.at(-1)).toMatchObject({ topic: `${ROOT}/status/pump-1`, payload: '{"state":"offline","ts":2,"error":"gateway stopped"}' });
  });

  it('keeps what is published during an outage and delivers all of it, in order, once the platform is back', async () => {
    const platform = await Platform.start();
    const { received } = await watcher(platform.port);
    const gw = await gatewaySide();
    const bridge = await gw.startBridge({ url: `mqtt://127.0.0.1:${platform.port}` });
    const topic = `${ROOT}/water/pump-1/flow`;
    await gw.publish(topic, reading(-1), 0, false);
    await until(() => (received.length === 1 ? true : undefined), 'the first reading upstream');

    await platform.crash();
    await until(() => (bridge.health().state !== 'connected' ? true : undefined), 'the outage noticed');
    for (let seq = 0; seq < 2000; seq++) await gw.publish(topic, reading(seq), 0, false);
    await until(() => (bridge.health().backlog === 2000 ? true : undefined), '2000 readings buffered');
    expect(bridge.health().forwarded).toBe(1);

    await platform.restart();
    await until(() => (received.length === 2001 ? true : undefined), 'the buffered readings upstream');
    expect(seqsOf(received, topic)).toEqual([-1, ...range(0, 2000)]);
    await until(() => (bridge.health().backlog === 0 ? true : undefined), 'the last acknowledgements');
    expect(bridge.health()).toMatchObject({ state: 'connected', backlog: 0, forwarded: 2001, dropped: 0 });
    const logged = gw.logLines.join('');
    expect(logged).toMatch(/lost the upstream link.*backlog=/);
    expect(logged).toMatch(/upstream link is back/);
    expect(gw.logLines.filter((line) => line.includes('lost the upstream link'))).toHaveLength(1);
  });

  it('sends a batch cut off in flight again: nothing lost, first arrivals in order', async () => {
    const platform = await Platform.start();
    const { received } = await watcher(platform.port);
    const gw = await gatewaySide();
    const bridge = await gw.startBridge({ url: `mqtt://127.0.0.1:${platform.port}` });
    await until(() => (bridge.health().state === 'connected' ? true : undefined), 'the bridge connected');
    const topic = `${ROOT}/water/pump-1/flow`;
    const total = 20_000;
    for (let seq = 0; seq < total; seq++) await gw.publish(topic, reading(seq), 0, false);
    // Stopped while the backlog streams out: PUBACKs of the batch on the wire never come.
    await until(() => (bridge.health().forwarded >= 2000 ? true : undefined), 'forwarding under way');
    await platform.stop();
    const cut = bridge.health();
    expect(cut.backlog).toBeGreaterThan(0);

    await platform.restart();
    await until(() => (bridge.health().backlog === 0 ? true : undefined), 'the backlog acknowledged');
    await until(() => (new Set(seqsOf(received, topic)).size === total ? true : undefined), 'every reading upstream');
    const seqs = seqsOf(received, topic);
    const seen = new Set<number>();
    const firstArrivals = seqs.filter((seq) => !seen.has(seq) && seen.add(seq));
    expect(firstArrivals).toEqual(range(0, total));
    // Duplicates are a resent batch (at most one per cut connection, on both legs), never more.
    expect(seqs.length - total).toBeLessThanOrEqual(2 * 1000);
  });

  it('sends the next batch while the last acknowledgements of one are on their way', async () => {
    const platform = await Platform.start();
    const { received } = await watcher(platform.port);
    const gw = await gatewaySide();
    // A backlog first, so that batches are whole: 1,000 messages each, 100 of them in flight at once.
    const offline = await gw.startBridge({ url: `mqtt://127.0.0.1:${await freePort()}` });
    const topic = `${ROOT}/water/pump-1/flow`;
    const total = 2500;
    for (let seq = 0; seq < total; seq++) await gw.publish(topic, reading(seq), 0, false);
    await offline.close();
    // The platform's PUBACKs for the first batch's last 50 come only once the next batch is under way: a forwarder
    // that waits for a whole batch before it reads the next one waits for good (Mosquitto's Nagle held them 40 ms).
    const relay = await MqttRelay.start(platform.port);
    cleanups.push(() => relay.close());
    relay.holdAcks({ after: 950, untilPublishes: 1001 });
    const bridge = await gw.startBridge({ url: `mqtt://127.0.0.1:${relay.port}`, inflight: 100 });
    await until(() => (relay.publishesUp > 1000 ? true : undefined), 'the next batch sent before the first one was acknowledged');
    await until(() => (bridge.health().backlog === 0 ? true : undefined), 'the backlog acknowledged');
    await until(() => (received.length === total ? true : undefined), 'every reading upstream');
    expect(seqsOf(received, topic)).toEqual(range(0, total));
    expect(bridge.health()).toMatchObject({ forwarded: total, dropped: 0 });
  });

  it('notices a platform that hangs by the keep-alive, and sends again once it answers', async () => {
    const platform = await Platform.start();
    const { received } = await watcher(platform.port);
    const gw = await gatewaySide();
    const bridge = await gw.startBridge({ url: `mqtt://127.0.0.1:${platform.port}`, keepalive: '1s' });
    const topic = `${ROOT}/water/pump-1/level`;
    await gw.publish(topic, reading(0), 0, false);
    await until(() => (received.length === 1 ? true : undefined), 'the first reading upstream');

    platform.freeze();
    for (let seq = 1; seq <= 100; seq++) await gw.publish(topic, reading(seq), 0, false);
    await until(() => (/keepalive timeout/i.test(bridge.health().lastError ?? '') ? true : undefined), 'the hang noticed');
    expect(bridge.health().backlog).toBe(100);
    platform.thaw();
    await until(() => (bridge.health().backlog === 0 ? true : undefined), 'the backlog acknowledged');
    await until(() => (new Set(seqsOf(received, topic)).size === 101 ? true : undefined), 'every reading upstream');
    const seen = new Set<number>();
    expect(seqsOf(received, topic).filter((seq) => !seen.has(seq) && seen.add(seq))).toEqual(range(0, 101));
  });

  it('keeps the buffer across a restart of the bridge while the platform is down', async () => {
    const platform = await Platform.start();
    const { received } = await watcher(platform.port);
    await platform.crash();
    const gw = await gatewaySide();
    const url = `mqtt://127.0.0.1:${platform.port}`;
    const first = await gw.startBridge({ url });
    const topic = `${ROOT}/traffic/loop-a12/vehicle_count`;
    for (let seq = 0; seq < 500; seq++) await gw.publish(topic, reading(seq), 0, false);
    await gw.publish(`${ROOT}/status/loop-a12`, '{"state":"offline","ts":1}', 1, true);
    await first.close();
    expect(first.health()).toMatchObject({ state: 'stopped', backlog: 501, forwarded: 0 });

    const second = await gw.startBridge({ url });
    expect(second.health().backlog).toBe(501);
    await platform.restart();
    await until(() => (received.length === 501 ? true : undefined), 'the readings of the first run upstream');
    expect(seqsOf(received, topic)).toEqual(range(0, 500));
    expect(received.at(-1)).toMatchObject({ topic: `${ROOT}/status/loop-a12`, payload: '{"state":"offline","ts":1}' });
    expect(await retainedOn(platform.port, `${ROOT}/status/#`)).toEqual([{ topic: `${ROOT}/status/loop-a12`, payload: '{"state":"offline","ts":1}', retain: true }]);
    await until(() => (second.health().backlog === 0 ? true : undefined), 'the buffer empty');
  });

  it('drops the oldest when the bounded buffer is full, counts them, and delivers the rest in order', async () => {
    const platform = await Platform.start();
    const { received } = await watcher(platform.port);
    await platform.crash();
    const gw = await gatewaySide();
    const bridge = await gw.startBridge({ url: `mqtt://127.0.0.1:${platform.port}`, buffer: { max_size: '64KB' } });
    const topic = `${ROOT}/energy/feeder-7/active_power`;
    const total = 3000; // about 300 KB of records
    for (let seq = 0; seq < total; seq++) {
      await gw.publish(topic, reading(seq), 0, false);
      // Readings come in polls, not in one burst: let the bridge take each poll's worth.
      if (seq % 100 === 99) await new Promise(setImmediate);
    }
    const { dropped, backlog, backlogBytes } = await until(() => {
      const health = bridge.health();
      return health.backlog + health.dropped === total ? health : undefined;
    }, 'every reading buffered or dropped');
    expect(dropped).toBeGreaterThan(0);
    expect(backlogBytes).toBeLessThanOrEqual(64 * 1024);
    expect(gw.logLines.some((line) => line.includes('buffer full: dropped the oldest'))).toBe(true);

    await platform.restart();
    await until(() => (received.length === backlog ? true : undefined), 'the newest readings upstream');
    expect(seqsOf(received, topic)).toEqual(range(dropped, total));
  });

  it('routes commands from upstream down within the ACL, and never echoes one back up', async () => {
    const platform = await Platform.start();
    const { received } = await watcher(platform.port);
    const operator = (await platformClient(platform.port, undefined, { username: 'operator', password: USERS.operator })).client;
    // A retained command would be carried out again on every reconnect: the bridge must ignore it.
    await operator.publishAsync('platform/d7/command/pump-2/reset', '{"value":true}', { qos: 1, retain: true });
    const gw = await gatewaySide();
    gw.deniedDevices.add('valve-9');
    const local: Received[] = [];
    await gw.broker.subscribe(`${ROOT}/command/#`, (topic, payload) => local.push({ topic, payload: payload.toString(), retain: false }));
    const bridge = await gw.startBridge({ url: `mqtt://127.0.0.1:${platform.port}`, remote_prefix: 'platform/d7', client_id: 'gw-commands' });
    await until(() => (platform.log.includes('Sending SUBACK to gw-commands') ? true : undefined), "the bridge's command subscription");

    await operator.publishAsync('platform/d7/command/valve-9/open', '{"value":1}', { qos: 1 });
    await operator.publishAsync('platform/d7/command/pump-1/setpoint', '{"value":42}', { qos: 1 });
    await until(() => (local.length >= 1 ? true : undefined), 'the command on the local broker');
    // The refused and the retained command came first on the same subscription: they would be here by now.
    expect(local).toEqual([{ topic: `${ROOT}/command/pump-1/setpoint`, payload: '{"value":42}', retain: false }]);
    expect(bridge.health()).toMatchObject({ commandsDown: 1, commandsDenied: 2 });

    // The device answers; the result goes up, the command itself never does.
    await gw.publish(`${ROOT}/command/pump-1/setpoint/result`, '{"ok":true}', 1, false);
    await until(() => (received.some((m) => m.topic.endsWith('/setpoint/result')) ? true : undefined), 'the result upstream');
    expect(received.map((m) => m.topic)).toEqual(['platform/d7/command/pump-2/reset', 'platform/d7/command/valve-9/open', 'platform/d7/command/pump-1/setpoint', 'platform/d7/command/pump-1/setpoint/result']);
    expect(gw.logLines.some((line) => line.includes('refused a command from upstream'))).toBe(true);
    expect(gw.logLines.some((line) => line.includes('ignored a retained command'))).toBe(true);
  });

  it('says so in health when the platform refuses the credentials, and keeps the data', async () => {
    const platform = await Platform.start();
    const gw = await gatewaySide();
    const wrong = 'not-the-Password-42';
    const bridge = await gw.startBridge({ url: `mqtt://127.0.0.1:${platform.port}`, password: wrong });
    for (let seq = 0; seq < 10; seq++) await gw.publish(`${ROOT}/water/pump-1/level`, reading(seq), 0, false);
    const health = await until(() => {
      const now = bridge.health();
      return now.lastError !== undefined && now.backlog === 10 ? now : undefined;
    }, 'the refusal in health');
    expect(health.lastError).toMatch(/not authorized/i);
    expect(health).toMatchObject({ backlog: 10, forwarded: 0, lastConnected: undefined });
    expect(['disconnected', 'connecting']).toContain(health.state);
    await until(() => (bridge.health().state === 'disconnected' ? true : undefined), 'disconnected between attempts');
    // Said once, however many attempts fail the same way; never the password.
    await until(() => ((platform.log.match(/not authori[sz]ed/g) ?? []).length >= 3 ? true : undefined), 'a few attempts refused');
    expect(gw.logLines.filter((line) => line.includes('refuses the credentials'))).toHaveLength(1);
    expect(gw.logLines.some((line) => line.includes(wrong) || line.includes(GW_PASSWORD))).toBe(false);
  });

  it('connects over TLS with the configured CA, and says which certificate file is missing', async () => {
    const dir = tempDir();
    const ca = await makeTestCa(dir, 'platform', []);
    const platform = await Platform.start({ tlsFiles: ca });
    const { received } = await watcher(platform.port, { tls: ca });
    const gw = await gatewaySide();
    const url = `mqtts://127.0.0.1:${platform.port}`;
    await expect(gw.startBridge({ url, ca: 'no-such-ca.pem' })).rejects.toThrow(`bridge.ca: cannot read ${join(gw.ctx.dataDir, 'no-such-ca.pem')}`);

    const bridge = await gw.startBridge({ url, ca: ca.ca });
    await gw.publish(`${ROOT}/water/pump-1/level`, reading(7), 0, false);
    await until(() => (received.length === 1 ? true : undefined), 'the reading upstream over TLS');
    expect(received[0]).toMatchObject({ topic: `${ROOT}/water/pump-1/level`, payload: reading(7) });
    // Counted once the platform's PUBACK is back, which may come after the platform's subscriber has the message.
    await until(() => (bridge.health().forwarded === 1 ? true : undefined), 'the PUBACK counted');
    expect(bridge.health()).toMatchObject({ state: 'connected', url, forwarded: 1 });
  });

  it('refuses a second bridge on the same buffer', async () => {
    const gw = await gatewaySide();
    const url = `mqtt://127.0.0.1:${await freePort()}`;
    await gw.startBridge({ url });
    await expect(gw.startBridge({ url })).rejects.toThrow(/in use by process/);
  });
  it('skips a damaged line of its buffer, says so, and sends the lines around it', async () => {
    const platform = await Platform.start();
    const { received } = await watcher(platform.port);
    const gw = await gatewaySide();
    // Segments left by an earlier run (a damaged file): lines that are not records between and after records, and a
    // segment of nothing else, so that a batch ends, or is made, of skipped lines only.
    mkdirSync(join(gw.ctx.dataDir, 'bridge'), { recursive: true });
    const record = (seq: number): string => encodeRecord('water/pump-1/level', reading(seq), false);
    const segments = [[record(1), 'garbage that is not a record', record(2), 'more garbage'], ['garbage only'], [record(3)]];
    segments.forEach((lines, index) => writeFileSync(join(gw.ctx.dataDir, 'bridge', `000000000000000${index + 1}.seg`), lines.join('\n') + '\n'));
    const bridge = await gw.startBridge({ url: `mqtt://127.0.0.1:${platform.port}` });
    await until(() => (received.length === 3 ? true : undefined), 'the three records upstream');
    expect(seqsOf(received, `${ROOT}/water/pump-1/level`)).toEqual([1, 2, 3]);
    await until(() => (bridge.health().backlog === 0 ? true : undefined), 'the batches committed');
    expect(bridge.health()).toMatchObject({ forwarded: 3, dropped: 0 });
    const skipped = gw.logLines.find((line) => line.includes('skipped a damaged line of the bridge buffer'));
    expect(skipped).toMatch(/ERROR gateway\/bridge .*dir=.*line="garbage that is not a record"/);
  });
});
