/**
 * Delivers an alert event as a plain-text mail through an SMTP relay (nodemailer), for staff who read alerts on a
 * phone's mail client rather than on a dashboard.
 */
import type { createTransport } from 'nodemailer';
import type { Logger } from '../../util/log.js';
import type { AlertEvent, Notifier } from '../alert.js';

export interface EmailOptions {
  readonly host: string;
  /** Defaults to 465 with `secure`, 587 (submission) otherwise. */
  readonly port?: number | undefined;
  /** TLS from the first byte. */
  readonly secure: boolean;
  /** Fail unless the server upgrades the connection with STARTTLS. */
  readonly requireTls: boolean;
  readonly username?: string | undefined;
  readonly password?: string | undefined;
  readonly from: string;
  readonly to: readonly string[];
  /** Milliseconds allowed to connect, to be greeted, and for any silence on the socket. */
  readonly timeout: number;
}

/**
 * Each SMTP step has its own timeout; the whole send is also bounded so a relay that answers just often enough
 * cannot hold the notifier's queue: connect, greeting, authentication and data, each up to `timeout`.
 */
const STEPS_PER_SEND = 4;

type Transport = ReturnType<typeof createTransport>;

export class EmailNotifier implements Notifier {
  private transport: Promise<Transport> | undefined;
  private readonly port: number;
  private readonly relay: string;

  constructor(
    readonly name: string,
    private readonly options: EmailOptions,
    private readonly log: Logger,
  ) {
    this.port = options.port ?? (options.secure ? 465 : 587);
    this.relay = `${options.host}:${this.port}`;
  }

  /** nodemailer takes about 0.3 s to load on the box: it is loaded for the first mail, not at every start. */
  private connect(): Promise<Transport> {
    const { options } = this;
    this.transport ??= import('nodemailer').then(({ createTransport }) =>
      // No pool: alerts are rare, and a fresh connection per mail cannot be left half-dead by a relay restart.
      createTransport({
        host: options.host,
        port: this.port,
        secure: options.secure,
        requireTLS: options.requireTls,
        auth: options.username !== undefined ? { user: options.username, pass: options.password ?? '' } : undefined,
        connectionTimeout: options.timeout,
        greetingTimeout: options.timeout,
        socketTimeout: options.timeout,
      }),
    );
    return this.transport;
  }

  async deliver(event: AlertEvent, eventId: string): Promise<void> {
    let refused: string[];
    try {
      const transport = await this.connect();
      const info = await transport.sendMail({
        // The same Message-ID when a mail is sent again (after a crash between sending and noting it): mail
        // systems and clients that deduplicate on it show the mail once.
        messageId: `<${eventId}@${domainOf(this.options.from)}>`,
        from: this.options.from,
        to: [...this.options.to],
        subject: alertSubject(event),
        text: alertText(event, eventId),
        signal: AbortSignal.timeout(this.options.timeout * STEPS_PER_SEND),
      });
      refused = info.rejected;
    } catch (error) {
      throw new Error(`email ${this.name}: sending through ${this.relay} failed: ${error instanceof Error ? error.message : String(error)}`, { cause: error });
    }
    // The relay took the mail for the others; sending again would duplicate it for them, so say it and carry on.
    if (refused.length > 0) this.log.warn('the mail relay refused some recipients', { notifier: this.name, relay: this.relay, refused: refused.join(',') });
  }

  async close(): Promise<void> {
    (await this.transport)?.close();
  }
}

/** `[CRITICAL] district-7: reservoir-level-high firing — pump-3 level = 4.81 m` */
export function alertSubject(event: AlertEvent): string {
  return `[${event.severity.toUpperCase()}] ${event.site}: ${event.rule} ${event.kind} — ${event.message}`;
}

/** The event's fields, one per line, so the mail stands on its own on a phone. */
export function alertText(event: AlertEvent, eventId: string): string {
  const rows: [string, string][] = [
    ['Site', event.site],
    ['Rule', event.rule],
    ['Severity', event.severity],
    ['State', event.kind],
    ['Device', event.device],
    ['Metric', event.metric],
    ['Domain', event.domain ?? 'n/a'],
    ['Value', formatValue(event)],
    ['Since', new Date(event.since).toISOString()],
    ['Event time', new Date(event.ts).toISOString()],
    ['Acknowledged', event.acknowledged ? `by ${event.acknowledged.by} at ${new Date(event.acknowledged.at).toISOString()}` : 'no'],
    ['Alert id', event.id],
    ['Event id', eventId],
  ];
  const width = Math.max(...rows.map(([label]) => label.length)) + 1;
  const table = rows.map(([label, value]) => `${`${label}:`.padEnd(width)} ${value}`).join('\n');
  return `${event.message}\n\n${table}\n`;
}

/** `duty@example.org` or `Duty <duty@example.org>` → `example.org`. */
function domainOf(mailbox: string): string {
  return /@([^\s@<>]+)>?\s*$/.exec(mailbox)?.[1] ?? 'gateway.invalid';
}

function formatValue(event: AlertEvent): string {
  if (event.value === undefined) return 'n/a';
  return event.unit ? `${String(event.value)} ${event.unit}` : String(event.value);
}
