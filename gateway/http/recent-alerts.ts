import type { AlertChange } from '../alerts/alerting.js';

/** The last alert changes (firing, reminders, resolved, acknowledged), newest last, for /api/alerts; bounded. */
export class RecentAlerts {
  private readonly changes: AlertChange[] = [];

  constructor(private readonly max: number) {}

  add(change: AlertChange): void {
    this.changes.push(change);
    if (this.changes.length > this.max) this.changes.shift();
  }

  list(): readonly AlertChange[] {
    return [...this.changes];
  }
}
