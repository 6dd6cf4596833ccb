import type { Broker } from '../broker/broker.js';
import type { Topics } from '../topics.js';
import type { Logger } from '../util/log.js';
import type { AlertEvent } from './alert.js';
import type { ActiveAlert } from './engine.js';

/**
 * Alerts on the embedded broker, per the MQTT contract:
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

  /** Listens for acknowledgements; `acknowledge` answers whether the alert existed. */
  listen(acknowledge: (id: string, by: string) => boolean): void {
    const prefix = this.topics.alert('', '', '').slice(0, -2);
    // Watched as the client publishes it (the ACL has allowed it): a subscription would not say who sent it.
    this.unwatch = this.broker.watchPublishes(this.topics.alertAckFilter, (client, topic) => {
      const id = topic.slice(prefix.length, -'/ack'.length);
      const by = client.identity.user;
      const ok = acknowledge(id, by);
      if (ok) this.log.info('alert acknowledged', { alert: id, by });
      else this.log.warn('acknowledgement of an alert that is not active', { alert: id, by });
      const answer = ok ? { ok: true, by } : { ok: false, error: `no active alert ${id}` };
      this.send(`${topic}/result`, JSON.stringify(answer), false);
    });
  }

  event(event: AlertEvent, alert: ActiveAlert): void {
    const topic = this.topics.alert(event.rule, event.device, event.metric);
    if (event.kind === 'firing') this.send(topic, statePayload(alert, event, 'firing'), true);
    if (event.kind === 'resolved') {
      this.send(topic, statePayload(alert, event, 'resolved'), false);
      // An empty retained message deletes the retained state [MQTT-3.3.1-10].
      this.send(topic, '', true);
    }
    this.send(this.topics.alertEvents, JSON.stringify(event), false);
  }

  /** Republishes the retained state of a firing alert (after an acknowledgement, or a restart). */
  state(alert: ActiveAlert, event: Pick<AlertEvent, 'severity' | 'message' | 'ts' | 'value'>): void {
    if (alert.state !== 'firing') return;
    this.send(this.topics.alert(alert.rule, alert.device, alert.metric), statePayload(alert, event, 'firing'), true);
  }

  close(): void {
    this.unwatch?.();
  }

  private send(topic: string, payload: string, retain: boolean): void {
    this.broker.publish(topic, payload, 1, retain).catch((error: unknown) => this.log.error('cannot publish an alert', { topic, error }));
  }
}

/** The retained state: the alert as it stands, with the event's value (on resolve, the value that ended it). */
function statePayload(alert: ActiveAlert, event: Pick<AlertEvent, 'severity' | 'message' | 'ts' | 'value'>, state: 'firing' | 'resolved'): string {
  return JSON.stringify({
    state,
    severity: event.severity,
    rule: alert.rule,
    device: alert.device,
    metric: alert.metric,
    value: event.value ?? null,
    unit: alert.unit ?? null,
    message: event.message,
    since: alert.since,
    ts: event.ts,
    acknowledged: alert.acknowledged ?? null,
  });
}
