'use strict';
/** Readings the gateway publishes (`{root}/{domain}/{device}/{metric}`), selected by domain, device and metric. */
const { levelSelector, parseReadingTopic, topics } = require('../lib/contract');
const { attach } = require('../lib/node-status');

module.exports = function (RED) {
  function GatewayReadingInNode(config) {
    RED.nodes.createNode(this, config);
    const node = this;
    const { connection, status } = attach(RED, node, config.broker);
    if (connection === undefined) return;
    const select = { domain: levelSelector(config.domain), device: levelSelector(config.device), metric: levelSelector(config.metric) };
    const problem = Object.entries(select).find(([, selector]) => selector.problem !== undefined);
    if (problem !== undefined) {
      status.broken(`bad ${problem[0]} selector`);
      node.error(`${problem[0]} selector: ${problem[1].problem}`);
      return;
    }
    const root = connection.root;
    const filter = topics.reading(root, select.domain.level, select.device.level, select.metric.level);
    const subscription = connection.subscribe(filter, 0, (topic, payload) => {
      const address = parseReadingTopic(root, topic);
      // `{root}/+/+/+` also matches the gateway's own three-level topics (command/…, clients/…/errors): not readings.
      if (address === undefined) return;
      if (!select.domain.matches(address.domain) || !select.device.matches(address.device) || !select.metric.matches(address.metric)) return;
      let body;
      try {
        body = JSON.parse(payload.toString('utf8'));
      } catch (error) {
        node.warn(`${topic}: not a reading (${error.message})`);
        return;
      }
      const reading = { ...address, value: body.value, ...(body.unit === undefined ? {} : { unit: body.unit }), ts: body.ts, quality: body.quality };
      node.send({ topic, payload: reading.value, reading });
      status.show(reading.quality === 'good' ? 'green' : 'yellow', `${address.device}/${address.metric} = ${reading.value}${reading.unit ? ` ${reading.unit}` : ''}`);
    });
    subscription.ready.catch((error) => {
      status.broken('subscription refused');
      node.error(error.message);
    });
    node.on('close', () => subscription.release());
  }

  RED.nodes.registerType('gateway-reading-in', GatewayReadingInNode);
};
