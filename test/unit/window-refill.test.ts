import { describe, expect, it } from 'vitest';
import { WindowRefill } from '../../gateway/bridge/window-refill.js';

/** A refill whose fills are counted, and a promise for the next one. */
function counted(window: number) {
  let fills = 0;
  let wake: (() => void) | undefined;
  const refill = new WindowRefill(window, () => {
    fills++;
    wake?.();
  });
  return {
    refill,
    fills: () => fills,
    nextFill: () => new Promise<void>((resolve) => (wake = resolve)),
  };
}

describe('WindowRefill', () => {
  it('fills once a quarter of the window is free, after the acknowledgements read with the one that freed it', async () => {
    const { refill, fills } = counted(100);
    for (let unacknowledged = 80; unacknowledged >= 70; unacknowledged--) refill.acknowledged(unacknowledged);
    expect(fills()).toBe(0);
    await Promise.resolve();
    expect(fills()).toBe(1);
  });

  it('fills what is free soon after an acknowledgement, short of a quarter too: a broker that holds its PUBACKs (Nagle) waits for the next send', async () => {
    const { refill, fills, nextFill } = counted(100);
    const filled = nextFill();
    refill.acknowledged(99);
    refill.acknowledged(98);
    await Promise.resolve();
    expect(fills()).toBe(0);
    await filled;
    expect(fills()).toBe(1);
  });

  it('fills at once when nothing is awaited, and not again for a cancelled or a spent wait', async () => {
    const { refill, fills, nextFill } = counted(100);
    refill.acknowledged(99);
    refill.cancel();
    refill.acknowledged(0);
    await Promise.resolve();
    expect(fills()).toBe(1);
    // The timer of the first acknowledgement was cancelled: a later fill is the next one asked for, not a stray one.
    const filled = nextFill();
    refill.acknowledged(90);
    await filled;
    expect(fills()).toBe(2);
  });
});
