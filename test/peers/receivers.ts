/**
 * Real receivers for alert notifications: a node:http server in the part of a webhook receiver, and the
 * `smtp-server` package (from the nodemailer authors) in the part of a mail relay. Both bind 127.0.0.1 on a free port.
 */
import { once } from 'node:events';
import { createServer, type IncomingHttpHeaders, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { SMTPServer } from 'smtp-server';
import type { AlertEvent } from '../../gateway/alerts/alert.js';

export interface Received {
  readonly headers: IncomingHttpHeaders;
  readonly url: string;
  readonly body: string;
}

export type Answer = (res: ServerResponse) => void;

export interface Receiver {
  readonly url: string;
  readonly received: Received[];
  /** Devices of the events received, in order. */
  devices(): string[];
  close(): Promise<void>;
}

/** A webhook receiver answering the i-th request with answers[i] (the last one from then on). */
export function startWebhookReceiver(...answers: Answer[]): Promise<Receiver> {
  return startWebhookReceiverOn(0, ...answers);
}

/** The same on a given port (0: a free one), e.g. to bring a receiver up where a gateway already expects it. */
export async function startWebhookReceiverOn(port: number, ...answers: Answer[]): Promise<Receiver> {
  const received: Received[] = [];
  const server: Server = createServer((req: IncomingMessage, res: ServerResponse) => {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => {
      received.push({ headers: req.headers, url: req.url ?? '', body: Buffer.concat(chunks).toString('utf8') });
      answers[Math.min(received.length - 1, answers.length - 1)]!(res);
    });
  });
  server.listen(port, '127.0.0.1');
  await once(server, 'listening');
  const bound = (server.address() as AddressInfo).port;
  return {
    url: `http://127.0.0.1:${bound}/hook`,
    received,
    devices: () => received.map((r) => (JSON.parse(r.body) as AlertEvent).device),
    async close() {
      // A hanging receiver holds its connections open; close() alone would wait for them.
      server.closeAllConnections();
      server.close();
      await once(server, 'close');
    },
  };
}

export const status = (code: number, body = ''): Answer => (res) => {
  res.writeHead(code, { 'content-type': 'text/plain' });
  res.end(body);
};

export const neverAnswer: Answer = () => undefined;

export interface Mail {
  readonly mailFrom: string | undefined;
  readonly rcptTo: string[];
  readonly raw: string;
}

export interface SmtpRelay {
  readonly port: number;
  readonly mails: Mail[];
  close(): Promise<void>;
}

/** An SMTP relay taking any mail without authentication or TLS, recording what it receives; on `port` (0: a free one). */
export async function startSmtpRelay(port = 0): Promise<SmtpRelay> {
  const mails: Mail[] = [];
  const server = new SMTPServer({
    authOptional: true,
    disabledCommands: ['STARTTLS'],
    logger: false,
    onData(stream, session, callback) {
      const chunks: Buffer[] = [];
      stream.on('data', (chunk: Buffer) => chunks.push(chunk));
      // The session's envelope is reset once the transaction ends: copy it now.
      const mailFrom = session.envelope.mailFrom ? session.envelope.mailFrom.address : undefined;
      const rcptTo = session.envelope.rcptTo.map((r) => r.address);
      stream.on('end', () => {
        mails.push({ mailFrom, rcptTo, raw: Buffer.concat(chunks).toString('utf8') });
        callback();
      });
    },
  });
  await new Promise<void>((resolve) => server.listen(port, '127.0.0.1', resolve));
  return { port: (server.server.address() as AddressInfo).port, mails, close: () => new Promise<void>((resolve) => server.close(resolve)) };
}
