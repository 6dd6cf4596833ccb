import { z } from 'zod';

const units: Record<string, number> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000 };

/** Parses "250ms", "1.5s", "5m", "2h" (or a bare number of milliseconds) into milliseconds. */
export function parseDuration(text: string): number | undefined {
  const match = /^(\d+(?:\.\d+)?)\s*(ms|s|m|h)$/.exec(text.trim());
  if (!match) return undefined;
  return Math.round(Number(match[1]) * units[match[2]!]!);
}

/** A duration field: accepts "500ms", "2s", "1m", "1h" or milliseconds as a number; yields milliseconds. */
export function duration(opts: { min?: number } = {}) {
  const min = opts.min ?? 0;
  return z.union([z.number(), z.string()]).transform((input, ctx) => {
    const ms = typeof input === 'number' ? input : parseDuration(input);
    if (ms === undefined || !Number.isFinite(ms)) {
      ctx.addIssue({ code: 'custom', message: `"${input}" is not a duration (use e.g. 500ms, 2s, 5m, 1h)` });
      return z.NEVER;
    }
    if (ms < min) {
      ctx.addIssue({ code: 'custom', message: `${input} is too short (at least ${min} ms)` });
      return z.NEVER;
    }
    return ms;
  });
}
