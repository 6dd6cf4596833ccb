'use strict';
/**
 * Alerts of the gateway's rules: the events (`{root}/events/alerts`: firing, reminder, resolved) and/or the alert
 * states (`{root}/alerts/{rule}/{device}/{metric}`, retained while firing), filtered by severity, rule and device.
 */
const { levelSelector, topics } = require('../lib/contract');
const { attach } = require('../lib/node-status');

const severities = ['info', 'warning', 'critical'];
const colours = { info: 'blue', warning: 'yellow', critical: 'red' };

module.exports = function (RED) {
  function GatewayAlertInNode(config) {
    RED.nodes.createNode(this, config);
    const node = this;
    const { connection, status } = attach(RED, node, config.broker);
    if (connection === undefined) return;
    const rule = levelSelector(config.rule);
    const device = levelSelector(config.device);
    const wanted = new Set(severities.filter((severity) => config[severity] !== false));
    const problem = rule.problem ?? device.problem;
    if (problem !== undefined) {
      status.broken('bad selector');
      node.error(problem);
      return;
    }
    const source = config.source === 'state' || config.source === 'both' ? config.source : 'events';

    const deliver = (kind) => (topic, payload) => {
      // The retained state is cleared with an empty message once an alert resolved (the resolved state came before).
      if (payload.length === 0) return;
      let alert;
      try {
        alert = JSON.parse(payload.toString('utf8'));
      } catch (error) {
        node.warn(`${topic}: not an alert (${error.message})`);
        return;
      }
      if (!wanted.has(alert.severity) || !rule.matches(String(alert.rule)) || !device.matches(String(alert.device))) return;
      node.send({ topic, payload: alert, alert: kind });
      status.show(colours[alert.severity] ?? 'grey', `${alert.severity} ${alert.kind ?? alert.state}: ${alert.rule} ${alert.device}`);
    };

    const subscriptions = [];
    if (source !== 'state') subscriptions.push(connection.subscribe(topics.alertEvents(connection.root), 1, deliver('event')));
    if (source !== 'events') {
      subscriptions.push(connection.subscribe(topics.alertState(connection.root, rule.level, device.level, '+'), 1, deliver('state')));
    }
    for (const subscription of subscriptions) {
      subscription.ready.catch((error) => {
        status.broken('subscription refused');
        node.error(error.message);
      });
    }
    node.on('close', () => subscriptions.forEach((subscription) => subscription.release()));
  }

  RED.nodes.registerType('gateway-alert-in', GatewayAlertInNode);
};
