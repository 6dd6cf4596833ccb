'use strict';
/**
 * A derived reading back into the gateway: published on `{root}/ingest/{domain}/{device}` (QoS 1), so it gets the
 * rules, MQTT and InfluxDB like any reading. Checked here as ingest checks it; what only the gateway can judge (its
 * limits, a name it polls itself, a device's declared domain) comes back on this client's error topic and is shown.
 */
const { judgeIngest, nameProblem, topics } = require('../lib/contract');
const { attach } = require('../lib/node-status');

/** Recent messages by ingest topic, to hand a late refusal to Catch nodes with the message that caused it. */
const MAX_REMEMBERED_TOPICS = 1000;

module.exports = function (RED) {
  function GatewayReadingOutNode(config) {
    RED.nodes.createNode(this, config);
    const node = this;
    const { connection, status } = attach(RED, node, config.broker);
    if (connection === undefined) return;
    const fixed = (name) => (typeof config[name] === 'string' && config[name].trim() !== '' ? config[name].trim() : undefined);
    const sentTo = new Map();
    const counts = { sent: 0, refusedHere: 0, refusedByGateway: 0 };
    node.counts = counts;

    const stopListening = connection.onClientError((refusal) => {
      const sent = sentTo.get(refusal.topic);
      if (sent === undefined) return;
      // The gateway tells before it acknowledges: the PUBACK that follows must not paint the status green again.
      sent.refused = true;
      counts.refusedByGateway++;
      const reasons = Array.isArray(refusal.errors) ? refusal.errors.join('; ') : String(refusal.errors);
      status.show('red', `refused: ${reasons}`, 'ring');
      node.error(`the gateway refused readings on ${refusal.topic}: ${reasons}`, sent.msg);
    });
    node.on('close', stopListening);

    node.on('input', (msg, send, done) => {
      const domain = fixed('domain') ?? msg.domain;
      const device = fixed('device') ?? msg.device;
      const metrics = metricsOf(msg, fixed('metric') ?? msg.metric, fixed('unit') ?? msg.unit);
      const addressProblems = [nameProblem('domain', domain), nameProblem('device', device)].filter((problem) => problem !== undefined);
      if (metrics === undefined) addressProblems.push('metric is missing: set it in the node or as msg.metric, or send msg.payload as an object of metrics');
      const { accepted, problems } = addressProblems.length > 0 ? { accepted: {}, problems: addressProblems } : judgeIngest(metrics);
      const refuse = () => {
        counts.refusedHere++;
        status.show('red', problems.join('; '), 'ring');
        return new Error(`refused: ${problems.join('; ')}`);
      };
      if (Object.keys(accepted).length === 0) {
        done(refuse());
        return;
      }
      const topic = topics.ingest(connection.root, domain, device);
      const sent = remember(sentTo, topic, msg);
      connection.publish(topic, JSON.stringify(accepted), 1).then(
        () => {
          counts.sent++;
          if (problems.length > 0) {
            done(refuse());
            return;
          }
          if (!sent.refused) status.show('green', describe(device, accepted));
          done();
        },
        (error) => {
          status.show('red', error.message, 'ring');
          done(error);
        },
      );
    });
  }

  RED.nodes.registerType('gateway-reading-out', GatewayReadingOutNode);
};

/**
 * The ingest payload of a message: msg.payload as an object of metrics, or one value (number, boolean, string) as
 * `metric`, with unit, msg.ts and msg.quality when given; undefined for a single value without a metric name.
 */
function metricsOf(msg, metric, unit) {
  const value = msg.payload;
  if (typeof value === 'object' && value !== null && !Array.isArray(value)) return value;
  if (typeof metric !== 'string' || metric === '') return undefined;
  const extras = { ...(unit === undefined || unit === '' ? {} : { unit }), ...(msg.ts === undefined ? {} : { ts: msg.ts }), ...(msg.quality === undefined ? {} : { quality: msg.quality }) };
  return { [metric]: Object.keys(extras).length === 0 ? value : { value, ...extras } };
}

/** Remembers the last message sent on a topic (most recent last, the oldest forgotten beyond the bound). */
function remember(sentTo, topic, msg) {
  const sent = { msg, refused: false };
  sentTo.delete(topic);
  sentTo.set(topic, sent);
  if (sentTo.size > MAX_REMEMBERED_TOPICS) sentTo.delete(sentTo.keys().next().value);
  return sent;
}

function describe(device, metrics) {
  const entries = Object.entries(metrics);
  const [name, raw] = entries[0];
  const value = typeof raw === 'object' && raw !== null ? raw.value : raw;
  return `${device}/${name} = ${value}${entries.length > 1 ? ` (+${entries.length - 1})` : ''}`;
}
