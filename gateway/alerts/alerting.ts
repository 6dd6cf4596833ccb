import type { DeviceStatus, Reading } from '../model.js';
import type { Sink } from '../pipeline/sink.js';
import { systemClock, type Clock } from '../util/clock.js';
import type { Logger } from '../util/log.js';
import type { AlertEvent } from './alert.js';
import type { AlertStore } from './alert-store.js';
import type { AlertTopics } from './alert-topics.js';
import { RuleEngine, renderMessage, type ActiveAlert } from './engine.js';
import type { Rule } from './rule.js';

/** Where notifications go besides MQTT (the notification dispatcher). */
export interface AlertDispatch {
  send(event: AlertEvent, targets: readonly string[]): void;
  close(): Promise<void>;
}

export interface AlertingParts {
  readonly site: string;
  readonly topics: AlertTopics;
  readonly dispatch: AlertDispatch;
  readonly store: AlertStore;
  readonly log: Logger;
  readonly clock?: Clock;
  /** How often time-driven conditions (`for`, staleness, reminders) are checked. */
  readonly tickMs?: number;
}

/**
 * The alerting consumer of the pipeline: readings and device statuses go through the rule engine in the very tick
 * they arrive (an alert is published on the broker within microseconds of its reading), and its decisions fan out
 * to the MQTT topics, the notifiers, and the store that carries active alerts across restarts.
 */
export class Alerting implements Sink {
  readonly name = 'alerts';
  private readonly engine: RuleEngine;
  private readonly timer: NodeJS.Timeout;
  /** After close, readings and statuses are ignored: the gateway marking its devices offline as it stops is no alarm. */
  private closed = false;

  private constructor(private readonly parts: AlertingParts) {
    const clock = parts.clock ?? systemClock;
    this.engine = new RuleEngine(parts.site, clock, {
      event: (event, alert, notify) => {
        parts.topics.event(event, alert);
        if (notify.length) parts.dispatch.send(event, notify);
        const fields = { alert: event.id, severity: event.severity, message: event.message };
        if (event.kind === 'firing') parts.log.warn('alert firing', fields);
        else if (event.kind === 'resolved') parts.log.info('alert resolved', fields);
      },
      acknowledged: (alert) => this.republish(alert, clock.now()),
      changed: () => parts.store.save(() => this.engine.active()),
    });
    this.timer = setInterval(() => this.engine.tick(), parts.tickMs ?? 250);
    this.timer.unref();
  }

  /** Restores the alerts a previous run left active (republishing the retained state of firing ones) and starts. */
  static async start(parts: AlertingParts, rules: readonly Rule[]): Promise<Alerting> {
    const alerting = new Alerting(parts);
    // Restored first, so that alerts of rules removed meanwhile are resolved by setRules.
    alerting.engine.restore(parts.store.load());
    alerting.setRules(rules);
    const now = (parts.clock ?? systemClock).now();
    const restored = alerting.engine.active();
    // The broker's retained messages did not survive the restart; the alerts did.
    for (const alert of restored) alerting.republish(alert, now);
    if (restored.length) parts.log.info('alerts still active from the last run', { alerts: restored.map((a) => a.id).join(', ') });
    parts.topics.listen((id, by) => alerting.acknowledge(id, by));
    return alerting;
  }

  write(readings: readonly Reading[]): void {
    if (!this.closed) this.engine.onReadings(readings);
  }

  onStatus(status: DeviceStatus): void {
    if (!this.closed) this.engine.onStatus(status);
  }

  acknowledge(id: string, by: string): boolean {
    return this.engine.acknowledge(id, by);
  }

  /** Installs new rules (a reload); alerts of unchanged rules keep their state. */
  setRules(rules: readonly Rule[]): void {
    this.engine.setRules(rules);
  }

  active(): ActiveAlert[] {
    return this.engine.active();
  }

  async close(): Promise<void> {
    this.closed = true;
    clearInterval(this.timer);
    this.parts.store.flush();
    this.parts.topics.close();
    await this.parts.dispatch.close();
  }

  private republish(alert: ActiveAlert, now: number): void {
    const rule = this.engine.ruleNamed(alert.rule);
    if (!rule) return;
    this.parts.topics.state(alert, { severity: rule.severity, message: renderMessage(rule, alert, alert.value, this.parts.site), ts: now, value: alert.value });
  }
}
