// Float64 host-side checks of every tableau, independent of tfjs: a transcription slip in a
// coefficient shows up as a wrong convergence order here. Problem: y' = −2t y², y(0) = 1 on [0, 1],
// y = 1/(1 + t²). Orders are the mean log2 error ratio over n = 32 → 64 → 128 steps.
import { describe, expect, it } from 'vitest';
import { BOSH3, DOPRI5, EULER, HEUN, MIDPOINT, RK38, RK4, TSIT5 } from './tableaux.js';
import type { Tableau } from './runge-kutta.js';

const f = (t: number, y: number) => -2 * t * y * y;
const exact = (t: number) => 1 / (1 + t * t);

function step(tb: Tableau, t: number, y: number, h: number) {
  const k: number[] = [];
  for (let i = 0; i < tb.b.length; i++) {
    let yi = y;
    (tb.a[i - 1] ?? []).forEach((aij, j) => (yi += h * aij * (k[j] as number)));
    k.push(f(t + (tb.c[i] as number) * h, yi));
  }
  const y1 = y + h * tb.b.reduce((s, bi, i) => s + bi * (k[i] as number), 0);
  const yHat = tb.bErr ? y1 - h * tb.bErr.reduce((s, e, i) => s + e * (k[i] as number), 0) : NaN;
  const dense = (theta: number) =>
    y + h * (tb.interp ?? []).reduce((s, row, i) => s + row.reduce((a, w, p) => a + w * theta ** (p + 1), 0) * (k[i] as number), 0);
  return { y1, yHat, dense };
}

/** Max error of the final value ('y1', 'yHat') or of the dense output at θ = 0.5 of every step ('mid'). */
function error(tb: Tableau, n: number, which: 'y1' | 'yHat' | 'mid'): number {
  let y = 1;
  const h = 1 / n;
  let maxMid = 0;
  for (let i = 0; i < n; i++) {
    const s = step(tb, i * h, y, h);
    maxMid = Math.max(maxMid, Math.abs(s.dense(0.5) - exact((i + 0.5) * h)));
    y = which === 'yHat' ? s.yHat : s.y1;
  }
  return which === 'mid' ? maxMid : Math.abs(y - exact(1));
}

const order = (tb: Tableau, which: 'y1' | 'yHat' | 'mid') => {
  const e = [32, 64, 128].map((n) => error(tb, n, which));
  return (Math.log2((e[0] as number) / (e[1] as number)) + Math.log2((e[1] as number) / (e[2] as number))) / 2;
};

describe('tableaux (float64 on the host)', () => {
  it.each([
    ['euler', EULER, 1],
    ['midpoint', MIDPOINT, 2],
    ['heun', HEUN, 2],
    ['rk4', RK4, 4],
    ['rk38', RK38, 4],
    ['bosh3', BOSH3, 3],
    ['dopri5', DOPRI5, 5],
    ['tsit5', TSIT5, 5],
  ] as const)('%s has global order %i', (_n, tb, p) => {
    expect(Math.abs(order(tb, 'y1') - p)).toBeLessThan(0.2);
  });

  it.each([
    ['bosh3', BOSH3, 2],
    ['dopri5', DOPRI5, 4],
    ['tsit5', TSIT5, 4],
  ] as const)('%s embedded method has order %i', (_n, tb, p) => {
    expect(Math.abs(order(tb, 'yHat') - p)).toBeLessThan(0.25);
  });

  it.each([
    ['dopri5', DOPRI5],
    ['tsit5', TSIT5],
  ] as const)('%s dense output is exact at θ = 1 and 4th order or better at θ = 0.5', (_n, tb) => {
    const s = step(tb, 0.3, 0.8, 0.1);
    expect(Math.abs(s.dense(1) - s.y1)).toBeLessThan(1e-15);
    expect(order(tb, 'mid')).toBeGreaterThan(3.8);
  });
});
