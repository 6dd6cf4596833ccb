'use strict';
/**
 * The config node: where the gateway's embedded broker is and who we are to it. Blank fields fall back to the
 * environment the gateway gives its Node-RED child (GATEWAY_MQTT_URL, GATEWAY_MQTT_USERNAME, GATEWAY_MQTT_PASSWORD,
 * GATEWAY_TOPIC_ROOT), so the shipped flows run unchanged on any gateway.
 */
const { GatewayConnection } = require('../lib/connection');

module.exports = function (RED) {
  function GatewayBrokerNode(config) {
    RED.nodes.createNode(this, config);
    const node = this;
    const setting = (value, name) => (typeof value === 'string' && value.trim() !== '' ? value.trim() : String(RED.util.getSetting(node, name) ?? ''));
    const url = setting(config.url, 'GATEWAY_MQTT_URL');
    const root = setting(config.root, 'GATEWAY_TOPIC_ROOT').replace(/\/+$/, '');
    const credentials = node.credentials ?? {};
    const missing = [!url && 'the broker URL (GATEWAY_MQTT_URL)', !root && 'the topic root (GATEWAY_TOPIC_ROOT)'].filter(Boolean);
    node.root = root;
    if (missing.length > 0) {
      node.problem = `not configured: ${missing.join(' and ')}`;
      node.error(`gateway-broker ${node.name || node.id}: ${node.problem} missing`);
      return;
    }
    node.connection = new GatewayConnection(
      {
        url,
        root,
        username: setting(credentials.username, 'GATEWAY_MQTT_USERNAME'),
        password: setting(credentials.password, 'GATEWAY_MQTT_PASSWORD'),
        clientId: (config.clientId ?? '').trim() || `node-red-${node.id}`,
      },
      { warn: (text) => node.warn(text), log: (text) => node.log(text) },
    );
    node.connection.start();
    node.on('close', (done) => {
      node.connection.stop().then(() => done(), done);
    });
  }

  RED.nodes.registerType('gateway-broker', GatewayBrokerNode, {
    credentials: { username: { type: 'text' }, password: { type: 'password' } },
  });
};
