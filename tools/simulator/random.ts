/** mulberry32: a tiny seeded PRNG, so a simulated district replays the same day for the same seed. */
export function seededRandom(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** Roughly normal noise (Irwin–Hall of 4 uniforms), scaled to a standard deviation of `sd`. */
export function noise(random: () => number, sd: number): number {
  return (random() + random() + random() + random() - 2) * Math.sqrt(3) * sd;
}

/** Hour of the local day as a fraction, 0 ≤ h < 24. */
export function hourOfDay(ts: number): number {
  const d = new Date(ts);
  return d.getHours() + d.getMinutes() / 60 + d.getSeconds() / 3600;
}

/** A smooth bump around `peak` (hours) of the given width, 0..1, wrapping round midnight. */
export function bump(hour: number, peak: number, width: number): number {
  const distance = Math.min(Math.abs(hour - peak), 24 - Math.abs(hour - peak));
  return Math.exp(-(distance * distance) / (2 * width * width));
}
