import { z } from 'zod';

const units: Record<string, number> = { B: 1, KB: 1024, MB: 1024 ** 2, GB: 1024 ** 3 };

/** What a size field expects, for messages. */
export const SIZE_EXPECTED = 'a size like 64KB, 512MB or 2GB';

/** Parses "512MB", "64KB", "1.5GB", "100B" (binary multiples) into bytes. */
export function parseSize(text: string): number | undefined {
  const match = /^(\d+(?:\.\d+)?)\s*(B|KB|MB|GB)$/i.exec(text.trim());
  if (!match) return undefined;
  return Math.floor(Number(match[1]) * units[match[2]!.toUpperCase()]!);
}

/** A size field: "512MB", "64KB" or a number of bytes; yields bytes. */
export function size(opts: { min?: number } = {}) {
  const min = opts.min ?? 0;
  return z
    .union([z.number(), z.string()])
    .transform((input, ctx) => {
      const bytes = typeof input === 'number' ? input : parseSize(input);
      if (bytes === undefined || !Number.isFinite(bytes)) {
        ctx.addIssue({ code: 'custom', message: `expected ${SIZE_EXPECTED}, got ${JSON.stringify(input)}` });
        return z.NEVER;
      }
      if (bytes < min) {
        ctx.addIssue({ code: 'custom', message: `${input} is too small (at least ${min} bytes)` });
        return z.NEVER;
      }
      return bytes;
    })
    .describe(SIZE_EXPECTED);
}
