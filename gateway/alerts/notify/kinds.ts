/** The registry of notifiers by `type:`. A new kind is its module (schema, create) and one line here. */
import { emailKind } from './email-kind.js';
import { registerNotifierKind } from './kind.js';
import { webhookKind } from './webhook-kind.js';

export const notifierKinds = [registerNotifierKind(webhookKind), registerNotifierKind(emailKind)] as const;
