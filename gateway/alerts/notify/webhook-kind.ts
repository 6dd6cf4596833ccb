/** The `type: webhook` notifier: its config and how it is built. */
import { z } from 'zod';
import { duration } from '../../config/duration.js';
import { keyProblem } from '../../config/errors.js';
import type { NotifierKind } from './kind.js';
import { outboxSchema } from './outbox-config.js';
import { SIGNATURE_HEADER, TIMESTAMP_HEADER, WebhookNotifier } from './webhook.js';

/** Headers the webhook notifier sets itself; letting the config set them would break the body or the signature. */
const notifierOwnedHeaders = ['content-type', 'content-length', 'host', SIGNATURE_HEADER.toLowerCase(), TIMESTAMP_HEADER.toLowerCase()];

const headerName = z
  .string()
  .regex(/^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/, 'is not an HTTP header name')
  .refine((name) => !notifierOwnedHeaders.includes(name.toLowerCase()), { message: 'is set by the notifier itself' });

export const webhookNotifierSchema = z
  .strictObject({
    type: z.literal('webhook'),
    url: z.url({ protocol: /^https?$/, error: 'must be an http:// or https:// URL' }),
    /** Signs each request (see webhook.ts) so the receiver can tell the gateway's requests from forged ones. */
    secret: z.string().min(1, 'must not be empty (is the environment variable set?)').optional(),
    /** Bound of one request, connection included. */
    timeout: duration({ min: 100 }).default(10_000),
    headers: z.record(headerName, z.string().regex(/^[^\r\n]*$/, 'must be on one line'), { error: keyProblem }).default({}),
    outbox: outboxSchema,
  })
  .superRefine((webhook, ctx) => {
    const hasCredentials = URL.canParse(webhook.url) && new URL(webhook.url).username !== '';
    const hasAuthorization = Object.keys(webhook.headers).some((name) => name.toLowerCase() === 'authorization');
    if (hasCredentials && hasAuthorization) {
      ctx.addIssue({ code: 'custom', path: ['headers'], message: 'Authorization is already given by the credentials in url (keep one of the two)' });
    }
  });
export type WebhookNotifierConfig = z.output<typeof webhookNotifierSchema>;


export const webhookKind: NotifierKind<WebhookNotifierConfig> = {
  type: 'webhook',
  schema: webhookNotifierSchema,
  create: (name, config) => new WebhookNotifier(name, { url: config.url, secret: config.secret, timeout: config.timeout, headers: config.headers }),
};
