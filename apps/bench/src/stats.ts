/** Order statistics of timing samples (linear interpolation between order statistics, as numpy's default). */
export function quantile(xs: readonly number[], q: number): number {
  if (xs.length === 0) return Number.NaN;
  const s = xs.slice().sort((a, b) => a - b);
  const pos = (s.length - 1) * q;
  const lo = Math.floor(pos);
  const hi = Math.ceil(pos);
  return s[lo]! + (s[hi]! - s[lo]!) * (pos - lo);
}

export const median = (xs: readonly number[]): number => quantile(xs, 0.5);

export const mean = (xs: readonly number[]): number => (xs.length ? xs.reduce((a, b) => a + b, 0) / xs.length : Number.NaN);

export interface Spread {
  min: number;
  p25: number;
  p75: number;
  max: number;
}

export function spreadOf(xs: readonly number[]): Spread {
  return { min: quantile(xs, 0), p25: quantile(xs, 0.25), p75: quantile(xs, 0.75), max: quantile(xs, 1) };
}

/** Peak resident set size of this process so far, in MiB (ru_maxrss; KiB on Linux). */
export function peakRssMib(): number {
  return Math.round((process.resourceUsage().maxRSS / 1024) * 10) / 10;
}
