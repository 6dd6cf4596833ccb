'use strict';
/**
 * The status under a node: the connection's state while it is down, else what the node last did. Updates go to every
 * open editor, so a node seeing thousands of readings a second shows at most one per second.
 */
const MIN_INTERVAL_MS = 1000;

class NodeStatus {
  constructor(node) {
    this.node = node;
    this.state = { connected: false, error: undefined };
    this.activity = { fill: 'green', shape: 'ring', text: 'connected' };
    this.shownAt = 0;
    this.timer = undefined;
  }

  /** The connection state: `{connected, error}` from GatewayConnection.onState. */
  connection(state) {
    this.state = state;
    this.flush();
  }

  /** What the node did (a value, a result); shown while connected. */
  show(fill, text, shape = 'dot') {
    this.activity = { fill, shape, text: text.length > 60 ? `${text.slice(0, 59)}…` : text };
    if (this.timer !== undefined) return;
    const wait = this.shownAt + MIN_INTERVAL_MS - Date.now();
    if (wait <= 0) this.flush();
    else this.timer = setTimeout(() => this.flush(), wait);
  }

  /** A configuration problem: shown for good, the node does nothing. */
  broken(text) {
    this.clear();
    this.node.status({ fill: 'red', shape: 'ring', text });
  }

  clear() {
    clearTimeout(this.timer);
    this.timer = undefined;
  }

  flush() {
    this.clear();
    this.shownAt = Date.now();
    const { connected, error } = this.state;
    this.node.status(connected ? this.activity : { fill: 'red', shape: 'ring', text: error ? `disconnected: ${error}` : 'disconnected' });
  }
}

/**
 * Wires a node to its gateway-broker config node: status follows the connection; returns the connection, or
 * undefined (with the reason on the node) when there is none.
 */
function attach(RED, node, brokerId) {
  const status = new NodeStatus(node);
  const broker = RED.nodes.getNode(brokerId);
  if (!broker) {
    status.broken('no gateway-broker configured');
    node.error('no gateway-broker config node: pick one in the node\'s settings');
    return { connection: undefined, status };
  }
  if (broker.connection === undefined) {
    status.broken(broker.problem);
    return { connection: undefined, status };
  }
  const stopWatching = broker.connection.onState((state) => status.connection(state));
  node.on('close', () => {
    stopWatching();
    status.clear();
  });
  return { connection: broker.connection, status };
}

module.exports = { NodeStatus, attach };
