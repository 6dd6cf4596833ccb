/** The public MQTT topic contract (DESIGN.md, "MQTT contract"), in one place. */
export class Topics {
  readonly root: string;

  constructor(prefix: string, site: string) {
    this.root = `${prefix}/${site}`;
  }

  reading(domain: string, device: string, metric: string): string {
    return `${this.root}/${domain}/${device}/${metric}`;
  }

  status(device: string): string {
    return `${this.root}/status/${device}`;
  }

  /** Retained while the alert is active; cleared once it resolves. */
  alert(rule: string, device: string, metric: string): string {
    return `${this.root}/alerts/${rule}/${device}/${metric}`;
  }

  /** Where staff acknowledge an alert: `{alert topic}/ack` (any payload; the login says who); the answer comes on `.../ack/result`. */
  get alertAckFilter(): string {
    return `${this.root}/alerts/+/+/+/ack`;
  }

  /**
   * Where a client is told why its publish was refused (bad payload, not allowed, too big). A client id is free text:
   * characters that would break the topic (`/`, `+`, `#`, ...) are percent-encoded.
   */
  clientErrors(clientId: string): string {
    return `${this.root}/clients/${encodeURIComponent(clientId)}/errors`;
  }

  /** Every firing, reminder and resolved event, in order (not retained). */
  get alertEvents(): string {
    return `${this.root}/events/alerts`;
  }
}
