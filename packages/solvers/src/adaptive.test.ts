import * as tf from '@tensorflow/tfjs-core';
import { describe, expect, it } from 'vitest';
import { odeint, odeintAsync } from './odeint.js';
import { pid } from './controllers.js';
import { linearProblem, measureSolve, polynomialProblem, sineProblem, type MeasureResult } from './testing/index.js';

// float32 tolerances: rtol = 1e-5, atol = 1e-6; the final-time relative error must be within
// FACTOR × rtol: 10× for dopri5/tsit5, 20× for bosh3 (global error is not bounded by the local
// tolerance; torchdiffeq's own tests allow bosh3 a looser bound too). Measured worst: bosh3 on
// the reversed sine problem, 13.5× (the solution shrinks from ~8e3 to ~2, amplifying relative error).
const RTOL = 1e-5;
const ATOL = 1e-6;
const FACTOR = 10;
const factorFor = (m: string) => (m === 'bosh3' ? 20 : FACTOR);

describe('adaptive methods', () => {
  const rows: MeasureResult[] = [];
  const problems = [linearProblem(), sineProblem(), polynomialProblem()];
  for (const method of ['dopri5', 'tsit5', 'bosh3'] as const) {
    for (const pb of problems) {
      for (const reverse of [false, true]) {
        it(`${method} meets its tolerance on ${pb.name}${reverse ? ' reversed' : ''}`, async () => {
          const before = tf.memory().numTensors;
          const r = await measureSolve(pb, method, { rtol: RTOL, atol: ATOL, reverse, sync: true });
          rows.push(r);
          expect(r.status).toBe('ok');
          expect(r.relError).toBeLessThan(factorFor(method) * RTOL);
          expect(tf.memory().numTensors).toBe(before);
        });
      }
    }
  }
  it('NFE table', () => {
    console.log(
      ['method      problem              nfe  acc  rej  relErr', ...rows.map((r) => `${r.method.padEnd(11)} ${r.problem.padEnd(19)} ${String(r.nfe).padStart(4)} ${String(r.accepted).padStart(4)} ${String(r.rejected).padStart(4)}  ${r.relError.toExponential(1)}`)].join('\n'),
    );
    expect(rows.length).toBe(18);
  });

  it.each(['dopri5', 'tsit5', 'bosh3'] as const)('%s dense output at many requested times matches the closed form', (method) => {
    const before = tf.memory().numTensors;
    const ts = Array.from({ length: 41 }, (_, i) => i * 0.1); // 0 … 4
    const y0 = tf.tensor1d([1, 0]);
    // rotation: y = (cos t, −sin t)
    const sol = odeint((_t, y) => tf.reshape(tf.matMul(tf.reshape(y, [1, 2]), tf.tensor2d([0, -1, 1, 0], [2, 2])), [2]), y0, ts, { method, rtol: RTOL, atol: ATOL });
    expect(sol.ys).toHaveLength(41);
    // steps do not align with the outputs (dopri5/tsit5 steps are longer than their spacing): interpolation is used
    if (method !== 'bosh3') expect(sol.stats.accepted).toBeLessThan(41);
    let worst = 0;
    sol.ys.forEach((y, i) => {
      const [c, s] = y.dataSync();
      const t = ts[i] as number;
      worst = Math.max(worst, Math.abs((c as number) - Math.cos(t)), Math.abs((s as number) + Math.sin(t)));
    });
    expect(worst).toBeLessThan(method === 'bosh3' ? 1e-3 : 2e-4);
    tf.dispose([y0, ...sol.ys]);
    expect(tf.memory().numTensors).toBe(before);
  });

  it('odeintAsync gives the same results as odeint', async () => {
    const pb = linearProblem();
    const y0 = tf.tensor1d(pb.y0 as number[]);
    const ts = [1, 2, 5, 8];
    const a = odeint((t, y: tf.Tensor) => pb.f(t, y), y0, ts, { rtol: RTOL, atol: ATOL });
    const b = await odeintAsync((t, y: tf.Tensor) => pb.f(t, y), y0, ts, { rtol: RTOL, atol: ATOL });
    expect(b.stats).toEqual(a.stats);
    for (let i = 0; i < ts.length; i++) expect(Array.from(await (b.ys[i] as tf.Tensor).data())).toEqual(Array.from((a.ys[i] as tf.Tensor).dataSync()));
    tf.dispose([y0, ...a.ys, ...b.ys]);
  });

  it('per-component tolerances, errorControl and norms', () => {
    const before = tf.memory().numTensors;
    const x = tf.scalar(1);
    const big = tf.scalar(1);
    const f = (t: number, s: Record<string, tf.Tensor>) => ({ x: tf.neg(s.x as tf.Tensor), big: tf.mul(tf.cos(tf.scalar(50 * t)), 50) });
    const free = odeint(f, { x, big }, [0, 1], { errorControl: { big: false } });
    const all = odeint(f, { x, big }, [0, 1]);
    expect(free.stats.nfe).toBeLessThan(all.stats.nfe); // the wiggly component no longer drives the step
    expect((free.ys[1] as Record<string, tf.Tensor>).x?.dataSync()[0]).toBeCloseTo(Math.exp(-1), 4);
    for (const norm of ['rms', 'max'] as const) {
      const s = odeint(f, { x, big }, [0, 1], { norm });
      expect((s.ys[1] as Record<string, tf.Tensor>).big?.dataSync()[0]).toBeCloseTo(1 + Math.sin(50), 3);
      tf.dispose(s.ys.flatMap((y) => Object.values(y)));
    }
    const loose = odeint(f, { x, big }, [0, 1], { rtol: { big: 1e-2 }, atol: { big: 1e-2 } });
    expect(loose.stats.nfe).toBeLessThan(all.stats.nfe);
    tf.dispose([x, big, ...[free, all, loose].flatMap((s) => s.ys.flatMap((y) => Object.values(y)))]);
    expect(tf.memory().numTensors).toBe(before);
  });

  it('pid controller and firstStep/maxStep options: accurate, and each option does what it says', () => {
    const pb = sineProblem();
    const y0 = tf.tensor1d(pb.y0 as number[]);
    const exact = pb.exact(8)[0] as number;
    // The times at which f is evaluated: dopri5's stages sit at t0 + c·h, c = 0, 1/5, …, 1, so they
    // show the attempted steps.
    const run = (opts: Parameters<typeof odeint>[3]) => {
      const ts: number[] = [];
      const s = odeint(
        (t, y: tf.Tensor) => {
          ts.push(t);
          return pb.f(t, y);
        },
        y0,
        [1, 8],
        { rtol: RTOL, atol: ATOL, ...opts },
      );
      const y = (s.ys[1] as tf.Tensor).dataSync()[0] as number;
      tf.dispose(s.ys);
      expect(Math.abs(y - exact) / Math.abs(exact)).toBeLessThan(FACTOR * RTOL);
      return { ts, stats: s.stats };
    };
    const integral = run({});
    const pidObj = run({ controller: pid() });
    const pidName = run({ controller: 'pid' });
    // PID: another step sequence than the integral controller; the name and the object are the same controller.
    expect(pidObj.ts).not.toEqual(integral.ts);
    expect(pidName.ts).toEqual(pidObj.ts);
    // firstStep: the first attempted step is firstStep (its second stage at t0 + h/5), no initial-step search.
    const first = run({ firstStep: 0.01 });
    expect(first.ts[0]).toBe(1);
    expect(first.ts[1]).toBeCloseTo(1 + 0.01 / 5, 12);
    expect(integral.ts[1]).not.toBeCloseTo(1 + 0.01 / 5, 6);
    // maxStep: no step longer than maxStep (each stage lies within maxStep of the last step's start),
    // so at least (8 − 1) / maxStep accepted steps, where the unbounded run takes fewer.
    const capped = run({ maxStep: 0.1 });
    expect(integral.stats.accepted).toBeLessThan(70);
    expect(capped.stats.accepted).toBeGreaterThanOrEqual(70);
    const starts = [...new Set(capped.ts)].sort((a, b) => a - b);
    for (let i = 1; i < starts.length; i++) expect(starts[i]! - starts[i - 1]!).toBeLessThanOrEqual(0.1 + 1e-9);
    y0.dispose();
  });
});
