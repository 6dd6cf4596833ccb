import type { Broker } from '../broker/broker.js';
import { ackResultPayload, alertEventPayload, alertStatePayload } from '../contract/payloads.js';
import type { Topics } from '../contract/topics.js';
import type { Logger } from '../util/log.js';
import type { AlertEvent } from './alert.js';
import type { ActiveAlert } from './engine.js';

/**
 * Alerts on the embedded broker, per the MQTT contract (CONTRACT.md):
 *  - `{prefix}/{site}/alerts/{rule}/{device}/{metric}`: the alert's state, retained while it fires (so staff who connect
 *    later see it), `"state":"resolved"` once it ends, then the retained message is cleared;
 *  - `{prefix}/{site}/events/alerts`: every firing, reminder and resolved event, in order;
 *  - a publish on `{...alert topic}/ack` acknowledges, in the name of the user logged in as the publishing client (its
 *    payload is not read: a name in it would be anyone's claim); the answer comes on `{...}/ack/result`.
 * QoS 1 throughout: an alert is worth a retransmission.
 */
export class AlertTopics {
  private unwatch: (() => void) | undefined;

  constructor(
    private readonly broker: Broker,
    private readonly topics: Topics,
    private readonly log: Logger,
  ) {}

  /** Listens for acknowledgements made over MQTT, in the name of the publishing client's user. */
  listen(acknowledge: (id: string, by: string) => void): void {
    // Watched as the client publishes it (the ACL has allowed it): a subscription would not say who sent it.
    this.unwatch = this.broker.watchPublishes(this.topics.alertAckFilter, (client, topic) => {
      const ack = this.topics.parse(topic);
      if (ack?.kind === 'alert-ack') acknowledge(`${ack.rule}/${ack.device}/${ack.metric}`, client.identity.user);
    });
  }

  /** The answer to an acknowledgement (over MQTT or HTTP alike), on `{...alert topic}/ack/result`. */
  acknowledged(id: string, by: string, ok: boolean): void {
    if (ok) this.log.info('alert acknowledged', { alert: id, by });
    else this.log.warn('acknowledgement of an alert that is not active', { alert: id, by });
    // An id is `{rule}/{device}/{metric}`, three topic levels that hold no "/".
    const [rule = '', device = '', metric = ''] = id.split('/');
    this.send(this.topics.alertAckResult(rule, device, metric), ackResultPayload(id, by, ok), false);
  }

  event(event: AlertEvent, alert: ActiveAlert): void {
    const topic = this.topics.alert(event.rule, event.device, event.metric);
    if (event.kind === 'firing') this.send(topic, alertStatePayload(alert, event, 'firing'), true);
    if (event.kind === 'resolved') {
      this.send(topic, alertStatePayload(alert, event, 'resolved'), false);
      // An empty retained message deletes the retained state [MQTT-3.3.1-10].
      this.send(topic, '', true);
    }
    this.send(this.topics.alertEvents, alertEventPayload(event), false);
  }

  /** Republishes the retained state of a firing alert (after an acknowledgement, or a restart). */
  state(alert: ActiveAlert, event: Pick<AlertEvent, 'severity' | 'message' | 'ts' | 'value'>): void {
    if (alert.state !== 'firing') return;
    this.send(this.topics.alert(alert.rule, alert.device, alert.metric), alertStatePayload(alert, event, 'firing'), true);
  }

  close(): void {
    this.unwatch?.();
  }

  private send(topic: string, payload: string, retain: boolean): void {
    this.broker.publish(topic, payload, 1, retain, { urgent: true }).catch((error: unknown) => this.log.error('cannot publish an alert', { topic, error }));
  }
}
