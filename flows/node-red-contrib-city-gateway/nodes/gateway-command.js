'use strict';
/**
 * Writes a device point: publishes `{"value": …}` on `{root}/command/{device}/{point}` and waits for the device's
 * answer on `…/result`. The contract has no correlation id, so commands to one point go one at a time: a second one
 * waits until the first is answered or timed out.
 */
const { nameProblem, topics, valueProblem } = require('../lib/contract');
const { attach } = require('../lib/node-status');

const DEFAULT_TIMEOUT_S = 10;
/** Commands waiting behind the one in flight, per point; beyond this they are refused (counted, done(err)). */
const MAX_WAITING_PER_POINT = 100;

module.exports = function (RED) {
  function GatewayCommandNode(config) {
    RED.nodes.createNode(this, config);
    const node = this;
    const { connection, status } = attach(RED, node, config.broker);
    if (connection === undefined) return;
    const timeoutMs = (Number(config.timeout) > 0 ? Number(config.timeout) : DEFAULT_TIMEOUT_S) * 1000;
    const fixed = (name) => (typeof config[name] === 'string' && config[name].trim() !== '' ? config[name].trim() : undefined);
    /** command topic → commands waiting (the first is in flight) */
    const queues = new Map();
    /** command topic → settle(result, error) of the command in flight */
    const inFlight = new Map();
    const counts = { sent: 0, ok: 0, notOk: 0, refused: 0, failed: 0, timedOut: 0, refusedHere: 0, refusedQueueFull: 0, stopped: 0 };
    node.counts = counts;
    let closing = false;

    const stopListening = connection.onClientError((refusal) => {
      const reasons = Array.isArray(refusal.errors) ? refusal.errors.join('; ') : String(refusal.errors);
      inFlight.get(refusal.topic)?.({ kind: 'refused', result: { ok: false, error: `refused by the gateway: ${reasons}` }, error: new Error(`the gateway refused the command on ${refusal.topic}: ${reasons}`) });
    });

    node.on('input', (msg, send, done) => {
      const device = fixed('device') ?? msg.device;
      const point = fixed('point') ?? msg.point;
      const problem = nameProblem('device', device) ?? nameProblem('point', point) ?? valueProblem(msg.payload);
      if (problem !== undefined) {
        counts.refusedHere++;
        status.show('red', problem, 'ring');
        done(new Error(`command refused: ${problem}`));
        return;
      }
      const topic = topics.command(connection.root, device, point);
      let queue = queues.get(topic);
      if (queue === undefined) queues.set(topic, (queue = []));
      if (queue.length > MAX_WAITING_PER_POINT) {
        counts.refusedQueueFull++;
        status.show('red', `${device}/${point}: too many commands waiting`, 'ring');
        done(new Error(`command refused: ${queue.length} commands to ${device}/${point} are already waiting for its answers`));
        return;
      }
      queue.push({ msg, send, done, device, point });
      if (queue.length === 1) void run(topic);
    });

    async function run(topic) {
      const queue = queues.get(topic);
      while (queue.length > 0 && !closing) {
        await execute(topic, queue[0]);
        queue.shift();
      }
      queues.delete(topic);
    }

    /** One command: subscribe to the result, publish, wait for the answer, a refusal or the timeout. */
    async function execute(topic, { msg, send, done, device, point }) {
      const resultTopic = topics.commandResult(connection.root, device, point);
      /** settle({kind, result, error?}): the first call counts. */
      let settle;
      const outcome = new Promise((resolve) => (settle = resolve));
      const subscription = connection.subscribe(resultTopic, 1, (_topic, payload, packet) => {
        // A retained result answers some earlier command, not this one.
        if (!packet?.retain) settle(parseResult(payload));
      });
      inFlight.set(topic, settle);
      const seconds = timeoutMs / 1000;
      const timer = setTimeout(
        () => settle({ kind: 'timedOut', result: { ok: false, error: `no result from ${device} within ${seconds} s` }, error: new Error(`command to ${device}/${point}: no result within ${seconds} s`) }),
        timeoutMs,
      );
      try {
        await subscription.ready;
        await connection.publish(topic, JSON.stringify({ value: msg.payload }), 1);
        counts.sent++;
        status.show('blue', `${device}/${point} ← ${msg.payload}`);
      } catch (error) {
        settle({ kind: 'failed', result: { ok: false, error: error.message }, error });
      }
      const { kind, result, error } = await outcome;
      clearTimeout(timer);
      inFlight.delete(topic);
      subscription.release();
      counts[kind]++;
      if (kind === 'stopped') {
        done(error);
        return;
      }
      const text = result.ok ? `ok${result.value === undefined ? '' : ` ${result.value}`}` : result.error;
      status.show(result.ok ? 'green' : 'red', `${device}/${point}: ${text}`, result.ok ? 'dot' : 'ring');
      send({ ...msg, topic: resultTopic, payload: result });
      done(error);
    }

    node.on('close', (done) => {
      closing = true;
      stopListening();
      const stopped = () => ({ kind: 'stopped', result: { ok: false, error: 'the node was stopped' }, error: new Error('the node was stopped before the device answered') });
      for (const settle of inFlight.values()) settle(stopped());
      // Commands still waiting are never sent: each is reported, none vanishes.
      for (const queue of queues.values()) {
        for (const waiting of queue.splice(1)) {
          counts.stopped++;
          waiting.done(new Error(`command to ${waiting.device}/${waiting.point} not sent: the node was stopped`));
        }
      }
      done();
    });
  }

  RED.nodes.registerType('gateway-command', GatewayCommandNode);
};

/** The device's answer: `ok` or `notOk` (the device said no), `failed` when the answer breaks the contract. */
function parseResult(payload) {
  const text = payload.toString('utf8');
  try {
    const result = JSON.parse(text);
    if (typeof result === 'object' && result !== null && typeof result.ok === 'boolean') return { kind: result.ok ? 'ok' : 'notOk', result };
  } catch {
    // Reported below as a broken answer.
  }
  const shown = text.slice(0, 200);
  return { kind: 'failed', result: { ok: false, error: `unreadable result: ${shown}` }, error: new Error(`the device's result is not {"ok": …}: ${shown}`) };
}
