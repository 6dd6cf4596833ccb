import { z } from 'zod';

const units: Record<string, number> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000 };

/** What a duration field expects, for messages. */
export const DURATION_EXPECTED = 'a duration like 500ms, 2s, 5m or 1h';

/** Node's timers hold a signed 32-bit count of ms; a longer delay fires after 1 ms instead (a busy loop, not a pause). */
export const MAX_TIMER_MS = 2 ** 31 - 1;

/** Parses "250ms", "1.5s", "5m", "2h" (or a bare number of milliseconds) into milliseconds. */
export function parseDuration(text: string): number | undefined {
  const match = /^(\d+(?:\.\d+)?)\s*(ms|s|m|h)$/.exec(text.trim());
  if (!match) return undefined;
  return Math.round(Number(match[1]) * units[match[2]!]!);
}

/**
 * A duration field: accepts "500ms", "2s", "1m", "1h" or milliseconds as a number; yields milliseconds. Most durations
 * end up in a timer, so they are capped at MAX_TIMER_MS unless `max` says otherwise (a limit compared against clocks).
 */
export function duration(opts: { min?: number; max?: number } = {}) {
  const min = opts.min ?? 0;
  const max = opts.max ?? MAX_TIMER_MS;
  return z
    .union([z.number(), z.string()])
    .transform((input, ctx) => {
      const ms = typeof input === 'number' ? input : parseDuration(input);
      if (ms === undefined || !Number.isFinite(ms)) {
        ctx.addIssue({ code: 'custom', message: `expected ${DURATION_EXPECTED}, got ${JSON.stringify(input)}` });
        return z.NEVER;
      }
      if (ms < min) {
        ctx.addIssue({ code: 'custom', message: `${input} is too short (at least ${min} ms)` });
        return z.NEVER;
      }
      if (ms > max) {
        ctx.addIssue({ code: 'custom', message: `${input} is too long (at most ${formatLimit(max)})` });
        return z.NEVER;
      }
      return ms;
    })
    .describe(DURATION_EXPECTED);
}

function formatLimit(ms: number): string {
  const days = ms / 86_400_000;
  return days >= 1 ? `about ${Math.floor(days)} days, ${ms} ms` : `${ms} ms`;
}
