/** The `influx:` section: where time series go and how the store-and-forward buffer in front of InfluxDB behaves. */
import { z } from 'zod';
import { bufferSchema } from '../buffer/config.js';
import { duration } from '../config/duration.js';

export const influxSchema = z
  .strictObject({
    url: z.url({ protocol: /^https?$/, error: 'must be an http:// or https:// URL' }),
    /** v2: /api/v2/write (InfluxDB 2.x, 3.x, 1.8+, VictoriaMetrics); v1: /write (InfluxDB 1.x before 1.8). */
    api: z.enum(['v2', 'v1']).default('v2'),
    token: z.string().optional(),
    org: z.string().min(1).optional(),
    bucket: z.string().min(1).optional(),
    database: z.string().min(1).optional(),
    retention_policy: z.string().min(1).optional(),
    username: z.string().optional(),
    password: z.string().optional(),
    /** v1: create the database when the server says it does not exist. */
    create_database: z.boolean().default(false),
    batch_size: z.number().int().min(1).max(50_000).default(5000),
    flush_interval: duration({ min: 10 }).default(1000),
    timeout: duration({ min: 100 }).default(10_000),
    gzip: z.boolean().default(true),
    retry_initial: duration({ min: 10 }).default(1000),
    retry_max: duration({ min: 10 }).default(60_000),
    buffer: bufferSchema(512 * 1024 ** 2),
  })
  .superRefine((influx, ctx) => {
    const only = (keys: readonly (keyof typeof influx)[], api: string) => {
      for (const key of keys) {
        if (influx[key] !== undefined) ctx.addIssue({ code: 'custom', path: [key], message: `is for api ${api} (this section says api: ${influx.api})` });
      }
    };
    if (influx.api === 'v2') {
      for (const key of ['org', 'bucket'] as const) {
        if (influx[key] === undefined) ctx.addIssue({ code: 'custom', path: [key], message: 'missing (required with api v2)' });
      }
      only(['database', 'retention_policy', 'username', 'password'], 'v1');
      if (influx.create_database) ctx.addIssue({ code: 'custom', path: ['create_database'], message: 'is for api v1 (this section says api: v2)' });
    } else {
      if (influx.database === undefined) ctx.addIssue({ code: 'custom', path: ['database'], message: 'missing (required with api v1)' });
      only(['token', 'org', 'bucket'], 'v2');
      if ((influx.username === undefined) !== (influx.password === undefined)) {
        ctx.addIssue({ code: 'custom', path: [influx.username === undefined ? 'username' : 'password'], message: 'username and password go together' });
      }
    }
    if (influx.retry_max < influx.retry_initial) ctx.addIssue({ code: 'custom', path: ['retry_max'], message: 'must not be shorter than retry_initial' });
  });
export type InfluxConfig = z.output<typeof influxSchema>;
