/**
 * The flow an operator would otherwise build for the same job, as Node-RED's flows.json: `mqtt in` (the ingest
 * topics, JSON) → a function node (normalise each metric, apply the five threshold rules with hysteresis) → `mqtt out`
 * (the normalised reading at QoS 0, an alert event at QoS 1 when a rule fires or resolves) and → join (1,000 points or
 * 100 ms) → `influxdb batch` (node-red-contrib-influxdb) into InfluxDB: batched, as InfluxDB's guidance asks, and each
 * point with its own measurement (the domain) and timestamp, as the gateway writes them.
 */
import { PREFIX, rules, SITE, topics } from './workload.js';

/** The function node's body: Node-RED runs it per message with `msg` and `context` in scope. */
function normaliseAndAlert(): string {
  return `
const rules = ${JSON.stringify(rules)};
const levels = msg.topic.split('/');
const domain = levels[3];
const device = levels[4];
let firing = context.get('firing');
if (!firing) context.set('firing', (firing = {}));
const readings = [], alerts = [], points = [];
for (const metric of Object.keys(msg.payload)) {
  const raw = msg.payload[metric];
  const r = raw !== null && typeof raw === 'object' ? raw : { value: raw };
  const ts = r.ts === undefined ? Date.now() : r.ts;
  const quality = r.quality || 'good';
  const reading = r.unit === undefined ? { value: r.value, ts, quality } : { value: r.value, unit: r.unit, ts, quality };
  readings.push({ topic: ${JSON.stringify(`${PREFIX}/${SITE}/`)} + domain + '/' + device + '/' + metric, payload: JSON.stringify(reading) });
  points.push({ payload: { measurement: domain, tags: { site: ${JSON.stringify(SITE)}, device }, fields: { [metric]: r.value }, timestamp: ts } });
  for (const rule of rules) {
    if (typeof r.value !== 'number') continue;
    const id = rule.name + '/' + device + '/' + metric;
    const trips = rule.above !== undefined ? r.value > rule.above : r.value < rule.below;
    const clears = rule.above !== undefined ? r.value < rule.clear : r.value > rule.clear;
    const since = firing[id];
    let kind;
    if (since === undefined && trips) kind = 'firing';
    else if (since !== undefined && clears) kind = 'resolved';
    else continue;
    const now = Date.now();
    if (kind === 'firing') firing[id] = now; else delete firing[id];
    alerts.push({ topic: ${JSON.stringify(topics.alertEvents)}, payload: JSON.stringify({ id, site: ${JSON.stringify(SITE)}, rule: rule.name, device, metric, domain, kind,
      severity: rule.severity, message: device + ' ' + metric + ' = ' + r.value, value: r.value, since: since === undefined ? now : since, ts: now }) });
  }
}
return [readings, alerts, points];
`;
}

/** flows.json for a Node-RED whose MQTT broker is Mosquitto on `mqttPort`, writing into `database`. */
/**
 * Node ids of their own: Node-RED reads any property value equal to a node id as a reference to that node, so a node
 * named like its id would depend on itself ("Circular config node dependency").
 */
const id = (name: string): string => `bench-node.${name}`;

export function peerFlows(mqttPort: number, influxPort: number, database: string): object[] {
  const tab = 'bench-tab';
  return [
    { id: tab, type: 'tab', label: 'city gateway peer' },
    { id: id('broker'), type: 'mqtt-broker', name: 'mosquitto', broker: '127.0.0.1', port: String(mqttPort), clientid: '', autoConnect: true, usetls: false, protocolVersion: '4', keepalive: '60', cleansession: true },
    { id: id('influx'), type: 'influxdb', hostname: '127.0.0.1', port: String(influxPort), protocol: 'http', database, name: 'bench', usetls: false, influxdbVersion: '1.x' },
    { id: id('ingest'), type: 'mqtt in', z: tab, name: 'ingest', topic: topics.ingest('+', '+'), qos: '1', datatype: 'json', broker: id('broker'), nl: false, rap: true, inputs: 0, wires: [[id('rules')]] },
    { id: id('rules'), type: 'function', z: tab, name: 'normalise + 5 rules', func: normaliseAndAlert(), outputs: 3, wires: [[id('readings-out')], [id('alerts-out')], [id('batch')]] },
    { id: id('readings-out'), type: 'mqtt out', z: tab, name: 'readings', topic: '', qos: '0', retain: 'false', broker: id('broker'), wires: [] },
    { id: id('alerts-out'), type: 'mqtt out', z: tab, name: 'alert events', topic: '', qos: '1', retain: 'false', broker: id('broker'), wires: [] },
    { id: id('batch'), type: 'join', z: tab, name: '1000 points', mode: 'custom', build: 'array', property: 'payload', propertyType: 'msg', key: 'topic', joiner: '\\n', joinerType: 'str', accumulate: false, timeout: '0.1', count: '1000', reduceRight: false, wires: [[id('influx-out')]] },
    { id: id('influx-out'), type: 'influxdb batch', z: tab, influxdb: id('influx'), precision: 'ms', retentionPolicy: '', name: 'InfluxDB', wires: [] },
  ];
}
