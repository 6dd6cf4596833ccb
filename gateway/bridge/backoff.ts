/**
 * The wait before reconnect attempt `attempt` (0 after the first failure): drawn at random between `minMs` and an
 * exponentially growing ceiling (2·min, 4·min, ... up to `maxMs`). The randomness starts at the first retry, because
 * gateways that lost the same platform at the same instant would otherwise all knock again at the same instant.
 */
export function reconnectDelay(attempt: number, minMs: number, maxMs: number, random: () => number = Math.random): number {
  const ceiling = Math.min(maxMs, minMs * 2 ** Math.min(attempt + 1, 30));
  return minMs + (ceiling - minMs) * random();
}
