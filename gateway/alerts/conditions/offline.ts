/** `offline: true`: a device the rule matches is offline. Device-level: domain and metric selectors do not apply. */
import { z } from 'zod';
import type { DeviceStatus } from '../../model.js';
import type { ConditionType } from './condition.js';

export interface OfflineCondition {
  readonly kind: 'offline';
}

export const offline: ConditionType<OfflineCondition, true, DeviceStatus> = {
  schema: z.literal(true),
  takesClear: false,
  parse: () => ({ kind: 'offline' }),
  judge: (_condition, status) => (status.state === 'offline' ? 'trip' : 'clear'),
  threshold: () => 'offline',
  defaultMessage: '{device} offline',
};
