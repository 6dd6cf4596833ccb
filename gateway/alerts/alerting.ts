import type { DeviceStatus, Reading } from '../model.js';
import type { Sink } from '../pipeline/sink.js';
import { systemClock, type Clock } from '../util/clock.js';
import type { Logger } from '../util/log.js';
import type { AlertEvent, AlertEventKind } from './alert.js';
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

/** A change of an alert as watchers (the HTTP API's live events) see it: an event, or an acknowledgement. */
export type AlertChange = Omit<AlertEvent, 'kind'> & { readonly kind: AlertEventKind | 'acknowledged' };

/** An active alert with what its rule says of it. */
export interface AlertView extends Omit<AlertEvent, 'kind' | 'ts'> {
  readonly state: ActiveAlert['state'];
}

/**
 * The alerting consumer of the pipeline: readings and device statuses go through the rule engine as they arrive
 * (while the device's message is being read; an alert is on the staff's connections within microseconds of its
 * reading), and its decisions fan out to the MQTT topics, the notifiers, and the store that carries active alerts
 * across restarts.
 */
export class Alerting implements Sink {
  readonly name = 'alerts';
  /** A reading is judged when it arrives, not once it is stored: an alert waits for no disk, full or slow. */
  readonly judgesFirst = true;
  private readonly engine: RuleEngine;
  private readonly timer: NodeJS.Timeout;
  /** After close, readings and statuses are ignored: the gateway marking its devices offline as it stops is no alarm. */
  private closed = false;
  private readonly watchers = new Set<(change: AlertChange) => void>();

  private constructor(private readonly parts: AlertingParts) {
    const clock = parts.clock ?? systemClock;
    this.engine = new RuleEngine(parts.site, clock, {
      event: (event, alert, notify) => {
        parts.topics.event(event, alert);
        if (notify.length) parts.dispatch.send(event, notify);
        const fields = { alert: event.id, severity: event.severity, message: event.message };
        if (event.kind === 'firing') parts.log.warn('alert firing', fields);
        else if (event.kind === 'resolved') parts.log.info('alert resolved', fields);
        this.tell(event);
      },
      acknowledged: (alert) => {
        const view = this.republish(alert, clock.now());
        if (view) this.tell({ ...view, kind: 'acknowledged', ts: alert.acknowledged?.at ?? clock.now() });
      },
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

  /** Records who acknowledged (over MQTT or HTTP: the same record, log line and MQTT answer); false when not active. */
  acknowledge(id: string, by: string): boolean {
    const ok = this.engine.acknowledge(id, by);
    this.parts.topics.acknowledged(id, by, ok);
    return ok;
  }

  /** Calls `watch` with every change of an alert; returns a function that ends the watch. */
  watch(watch: (change: AlertChange) => void): () => void {
    this.watchers.add(watch);
    return () => this.watchers.delete(watch);
  }

  /** The active alerts with their rule's severity and message. */
  views(): AlertView[] {
    return this.engine.active().flatMap((alert) => {
      const view = this.viewOf(alert);
      return view ? [view] : [];
    });
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
    this.parts.store.close();
    this.parts.topics.close();
    await this.parts.dispatch.close();
  }

  private republish(alert: ActiveAlert, now: number): AlertView | undefined {
    const view = this.viewOf(alert);
    if (view) this.parts.topics.state(alert, { severity: view.severity, message: view.message, ts: now, value: alert.value });
    return view;
  }

  private viewOf(alert: ActiveAlert): AlertView | undefined {
    const rule = this.engine.ruleNamed(alert.rule);
    if (!rule) return undefined;
    const { id, device, metric, domain, unit, since, acknowledged, state } = alert;
    const value = typeof alert.value === 'number' && !Number.isFinite(alert.value) ? undefined : alert.value;
    return { id, site: this.parts.site, rule: rule.name, device, metric, domain, severity: rule.severity, message: renderMessage(rule, alert, alert.value, this.parts.site), value, unit, since, acknowledged, state };
  }

  private tell(change: AlertChange): void {
    for (const watch of this.watchers) {
      try {
        watch(change);
      } catch (error) {
        this.parts.log.error('alert watcher failed', { alert: change.id, error });
      }
    }
  }
}
