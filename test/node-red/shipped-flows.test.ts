/**
 * The shipped flows (flows/shipped/*.json) loaded as they are into node-red-node-test-helper, configured only through
 * the environment the gateway gives its Node-RED child, against a real gateway: readings go in through ingest as
 * a field device would send them, derived readings come out on the gateway's MQTT, critical alerts reach a real HTTP
 * receiver.
 */
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { mosquittoPub } from '../peers/mosquitto-pub.js';
import { mosquittoSub, type MosquittoSub } from '../peers/mosquitto-sub.js';
import { freePort, waitFor } from '../peers/net.js';
import { startWebhookReceiver, status, type Receiver } from '../peers/receivers.js';
import { startGateway, type RunningGateway } from '../support/gateway.js';
import { coreNodeModules, gatewayNodeModules, nodeRedHelper, shippedFlow, stopNodeRedHelper, subscribed } from '../support/node-red.js';

const T = 90_000;
const root = 'city/district-7';
const environment = ['GATEWAY_MQTT_URL', 'GATEWAY_MQTT_USERNAME', 'GATEWAY_MQTT_PASSWORD', 'GATEWAY_TOPIC_ROOT', 'CRITICAL_ALERT_WEBHOOK_URL'] as const;

describe('shipped flows for the simulated district', () => {
  let gw: RunningGateway;
  let observer: MosquittoSub;
  let webhook: Receiver;
  let device: { username: string; password: string };
  const saved = Object.fromEntries(environment.map((name) => [name, process.env[name]]));

  beforeAll(async () => {
    // The district's device names; pump-station-3 and loop-counter-a12 speak MQTT here, so the test sets their values.
    gw = await startGateway(`site: district-7
mqtt:
  listeners: [{ type: tcp, host: 127.0.0.1, port: 0 }]
  allow_anonymous: false
rules:
  - { name: pipe-pressure-drop, match: { domain: water, metric: pressure }, below: 2.5, clear: 3.0, severity: critical, message: "{device}: pressure {value} {unit}, suspected pipe burst" }
  - { name: turbidity-high, match: { domain: water, metric: turbidity }, above: 1.0, clear: 0.6, severity: warning }
`);
    webhook = await startWebhookReceiver(status(204));
    const login = gw.gateway.internalLogin('node-red');
    Object.assign(process.env, {
      GATEWAY_MQTT_URL: `mqtt://127.0.0.1:${gw.mqttPort}`,
      GATEWAY_MQTT_USERNAME: login.username,
      GATEWAY_MQTT_PASSWORD: login.password,
      GATEWAY_TOPIC_ROOT: root,
      CRITICAL_ALERT_WEBHOOK_URL: webhook.url,
    });
    device = gw.gateway.internalLogin('field-devices');
    const watcher = gw.gateway.internalLogin('observer');
    observer = mosquittoSub({ port: gw.mqttPort, username: watcher.username, password: watcher.password, topic: `${root}/#`, qos: 1 });
    await observer.ready();
    await nodeRedHelper();
  }, T);

  afterEach(async () => {
    await (await nodeRedHelper()).unload();
  });

  afterAll(async () => {
    await stopNodeRedHelper();
    for (const name of environment) {
      if (saved[name] === undefined) delete process.env[name];
      else process.env[name] = saved[name];
    }
    await observer?.stop();
    await webhook?.close();
    await gw?.stop();
  });

  async function load(name: string) {
    const helper = await nodeRedHelper();
    const flow = shippedFlow(name);
    await helper.load([...gatewayNodeModules(), ...Object.values(coreNodeModules)], flow);
    for (const broker of flow.filter((node) => node.type === 'gateway-broker')) await subscribed(helper, broker.id);
  }

  const ingest = async (domain: string, name: string, metrics: object) => {
    const result = await mosquittoPub({ port: gw.mqttPort, ...device, topic: `${root}/ingest/${domain}/${name}`, message: JSON.stringify(metrics), qos: 1 });
    expect(result.code, result.output).toBe(0);
  };
  const valuesOn = (topic: string) => observer.messages.filter((m) => m.topic === topic).map((m) => (JSON.parse(m.payload) as { value: unknown }).value);

  it('water balance: derives the balance and a leak indicator of pump-station-3 from its inflow and outflow', { timeout: T }, async () => {
    await load('water-balance');
    const ts = Date.now() - 3000;
    await ingest('water', 'pump-station-3', { inflow: { value: 300, unit: 'm3/h', ts }, outflow: { value: 330, unit: 'm3/h', ts } });
    const balance = await observer.next((m) => m.topic === `${root}/water/pump-station-3-balance/balance`);
    expect(JSON.parse(balance.payload)).toEqual({ value: -30, unit: 'm3/h', ts, quality: 'good' });
    const leak = await observer.next((m) => m.topic === `${root}/water/pump-station-3-balance/leak_indicator`);
    expect(JSON.parse(leak.payload)).toEqual({ value: 10, unit: '%', ts, quality: 'good' });
    // Averaged over the cycles: a balanced cycle halves it.
    await ingest('water', 'pump-station-3', { inflow: 300, outflow: 300 });
    await waitFor(() => (valuesOn(`${root}/water/pump-station-3-balance/leak_indicator`).length === 2 ? true : undefined), { what: 'a second leak indicator' });
    expect(valuesOn(`${root}/water/pump-station-3-balance/leak_indicator`)).toEqual([10, 5]);
  });

  it('water balance and traffic congestion: run on the simulated district\'s own polled devices', { timeout: T }, async () => {
    // The same flows on a second gateway that polls the simulator as the default config does (faster), to hold
    // their device and metric names to the profiles.
    const [waterPort, trafficPort] = [await freePort(), await freePort()];
    const district = await startGateway(`site: district-7
mqtt:
  listeners: [{ type: tcp, host: 127.0.0.1, port: 0 }]
  allow_anonymous: false
simulator:
  slaves:
    - { model: water-pumping-station, port: ${waterPort}, profile: sim-pumping-station, seed: 7 }
    - { model: traffic-counter, port: ${trafficPort}, profile: sim-traffic-counter, seed: 11 }
devices:
  - { name: pump-station-3, driver: modbus-tcp, host: 127.0.0.1, port: ${waterPort}, profile: sim-pumping-station, poll_interval: 200ms, timeout: 1s }
  - { name: loop-counter-a12, driver: modbus-tcp, host: 127.0.0.1, port: ${trafficPort}, profile: sim-traffic-counter, poll_interval: 200ms, timeout: 1s }
`);
    const login = district.gateway.internalLogin('node-red');
    const before = { ...process.env };
    Object.assign(process.env, { GATEWAY_MQTT_URL: `mqtt://127.0.0.1:${district.mqttPort}`, GATEWAY_MQTT_USERNAME: login.username, GATEWAY_MQTT_PASSWORD: login.password });
    const watcher = district.gateway.internalLogin('observer');
    const derived = mosquittoSub({ port: district.mqttPort, ...watcher, topic: [`${root}/water/pump-station-3-balance/#`, `${root}/traffic/loop-counter-a12-congestion/#`] });
    try {
      await derived.ready();
      const helper = await nodeRedHelper();
      const flows = [...shippedFlow('water-balance'), ...shippedFlow('traffic-congestion')];
      await helper.load([...gatewayNodeModules(), ...Object.values(coreNodeModules)], flows);
      const leak = await derived.next((m) => m.topic.endsWith('/leak_indicator'));
      expect(JSON.parse(leak.payload)).toMatchObject({ unit: '%', quality: 'good', value: expect.any(Number) as unknown });
      const index = await derived.next((m) => m.topic.endsWith('/congestion_index'));
      const { value } = JSON.parse(index.payload) as { value: number };
      expect(value).toBeGreaterThanOrEqual(0);
      expect(value).toBeLessThanOrEqual(100);
    } finally {
      await derived.stop();
      process.env.GATEWAY_MQTT_URL = before.GATEWAY_MQTT_URL;
      process.env.GATEWAY_MQTT_USERNAME = before.GATEWAY_MQTT_USERNAME;
      process.env.GATEWAY_MQTT_PASSWORD = before.GATEWAY_MQTT_PASSWORD;
      await (await nodeRedHelper()).unload();
      await district.stop();
    }
  });

  it('traffic congestion: derives a congestion index of the A12 ring from occupancy and speed', { timeout: T }, async () => {
    await load('traffic-congestion');
    await ingest('traffic', 'loop-counter-a12', { occupancy: { value: 6, unit: '%' }, speed: { value: 48, unit: 'km/h' } });
    await ingest('traffic', 'loop-counter-a12', { occupancy: { value: 25, unit: '%' }, speed: { value: 30, unit: 'km/h' } });
    await ingest('traffic', 'loop-counter-a12', { occupancy: { value: 90, unit: '%' }, speed: { value: 8, unit: 'km/h' } });
    const topic = `${root}/traffic/loop-counter-a12-congestion/congestion_index`;
    await waitFor(() => (valuesOn(topic).length === 3 ? true : undefined), { what: 'three congestion indices' });
    expect(valuesOn(topic)).toEqual([9, 50, 100]);
    expect(JSON.parse(observer.messages.find((m) => m.topic === topic)!.payload)).toMatchObject({ unit: '%', quality: 'good' });
  });

  it('critical alerts: forwards each critical alert event to the webhook with a readable message, and nothing else', { timeout: T }, async () => {
    await load('critical-alerts-webhook');
    await ingest('water', 'pump-station-3', { turbidity: 1.4 });
    await observer.next((m) => m.topic === `${root}/events/alerts` && m.payload.includes('turbidity-high'));
    await ingest('water', 'pump-station-3', { pressure: { value: 2.1, unit: 'bar' } });
    await ingest('water', 'pump-station-3', { pressure: { value: 3.4, unit: 'bar' } });
    await waitFor(() => (webhook.received.length === 2 ? true : undefined), { what: 'two webhook calls' });
    // Two independent POSTs: they may arrive in either order.
    const calls = webhook.received.map((r) => JSON.parse(r.body) as { text: string; alert: Record<string, unknown> });
    const firing = calls.find((call) => call.alert['kind'] === 'firing');
    const resolved = calls.find((call) => call.alert['kind'] === 'resolved');
    expect(webhook.received.every((r) => r.headers['content-type'] === 'application/json')).toBe(true);
    expect(firing!.text).toMatch(/^\[district-7\] FIRING: critical alert pipe-pressure-drop on pump-station-3\/pressure\. pump-station-3: pressure 2\.1 bar, suspected pipe burst\. Value: 2\.1 bar\. Since \d{4}-\d\d-\d\d \d\d:\d\d:\d\d UTC\.$/);
    expect(firing!.alert).toMatchObject({ rule: 'pipe-pressure-drop', device: 'pump-station-3', kind: 'firing', severity: 'critical' });
    expect(resolved!.text).toMatch(/^\[district-7\] RESOLVED: critical alert pipe-pressure-drop on pump-station-3\/pressure\..* Value: 3\.4 bar\. Started .* UTC, now .* UTC\.$/);
  });
});
