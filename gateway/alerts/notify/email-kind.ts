/** The `type: email` notifier: its config and how it is built. */
import { z } from 'zod';
import { duration } from '../../config/duration.js';
import { EmailNotifier } from './email.js';
import type { NotifierKind } from './kind.js';
import { outboxSchema } from './outbox-config.js';

/** "gateway@example.org" or "Water duty <duty@example.org>". */
const mailbox = z
  .string()
  .regex(/^(?:[^<>\r\n]*<[^\s@<>]+@[^\s@<>]+>|[^\s@<>]+@[^\s@<>]+)$/, 'is not a mail address (e.g. duty@example.org or "Duty <duty@example.org>")');

export const emailNotifierSchema = z
  .strictObject({
    type: z.literal('email'),
    host: z.string().min(1),
    /** Defaults to 465 with secure, 587 (submission) otherwise. */
    port: z.number().int().min(1).max(65535).optional(),
    /** TLS from the first byte (usually port 465). */
    secure: z.boolean().default(false),
    /** Refuse to send unless the server upgrades the connection with STARTTLS: credentials and alerts never go out in clear. */
    require_tls: z.boolean().default(true),
    username: z.string().min(1).optional(),
    password: z.string().optional(),
    from: mailbox,
    to: z.array(mailbox).min(1, 'list at least one recipient'),
    /** Bound of each step: connecting, waiting for the greeting, and any silence on the socket. */
    timeout: duration({ min: 100 }).default(10_000),
    outbox: outboxSchema,
  })
  .superRefine((email, ctx) => {
    if ((email.username === undefined) !== (email.password === undefined)) {
      ctx.addIssue({ code: 'custom', path: [email.username === undefined ? 'username' : 'password'], message: 'username and password go together' });
    }
  });
export type EmailNotifierConfig = z.output<typeof emailNotifierSchema>;


export const emailKind: NotifierKind<EmailNotifierConfig> = {
  type: 'email',
  schema: emailNotifierSchema,
  create: (name, config, log) =>
    new EmailNotifier(
      name,
      {
        host: config.host,
        port: config.port,
        secure: config.secure,
        requireTls: config.require_tls,
        username: config.username,
        password: config.password,
        from: config.from,
        to: config.to,
        timeout: config.timeout,
      },
      log,
    ),
};
