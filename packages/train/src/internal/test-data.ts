import type { Random } from '@rnode/core';

/** 8 Gaussians on a circle of radius 4/√2 (std 0.5/√2): the FFJORD toy, for the package's own tests. */
export function eightGaussians(n: number, rng: Random): Float32Array {
  const out = new Float32Array(n * 2);
  const s = 1 / 1.414;
  for (let i = 0; i < n; i++) {
    const k = rng.nextInt(8);
    const a = (k * Math.PI) / 4;
    out[2 * i] = (4 * Math.cos(a) + 0.5 * rng.nextNormal()) * s;
    out[2 * i + 1] = (4 * Math.sin(a) + 0.5 * rng.nextNormal()) * s;
  }
  return out;
}
