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
}
