import * as tf from '@tensorflow/tfjs-core';
import { Random, isRnodeError, list, type PluginBase } from '@rnode/core';
import { describe, expect, it } from 'vitest';
import { registerBuiltinDatasets, resolveDataset, sampleToy, sampleToyTensor, toyNames, type ToyName } from './index.js';

const N = 20_000;
const draw = (name: ToyName, n = N, seed = 1) => sampleToy(name, n, new Random(seed));

function rowsOf(a: Float32Array): Array<[number, number]> {
  const out: Array<[number, number]> = [];
  for (let i = 0; i < a.length; i += 2) out.push([a[i]!, a[i + 1]!]);
  return out;
}
const mean = (v: number[]) => v.reduce((s, x) => s + x, 0) / v.length;
const std = (v: number[]) => {
  const m = mean(v);
  return Math.sqrt(v.reduce((s, x) => s + (x - m) ** 2, 0) / v.length);
};
const radius = ([x, y]: [number, number]) => Math.hypot(x, y);
/** Distance from a to the nearest multiple of p. */
const modDist = (a: number, p: number) => {
  const r = ((a % p) + p) % p;
  return Math.min(r, p - r);
};

describe('toy datasets: common contract', () => {
  it.each(toyNames)('%s: n×2 float32, finite, deterministic by seed, seeds differ', (name) => {
    for (const n of [1, 7, 200, 1001]) {
      const a = draw(name, n, 3);
      expect(a).toBeInstanceOf(Float32Array);
      expect(a.length).toBe(2 * n);
      expect(a.every(Number.isFinite)).toBe(true);
    }
    expect(draw(name, 500, 42)).toEqual(draw(name, 500, 42));
    const a = draw(name, 500, 1);
    const b = draw(name, 500, 2);
    let same = 0;
    for (let i = 0; i < a.length; i++) if (a[i] === b[i]) same++;
    expect(same).toBeLessThan(a.length / 10);
    expect(draw(name, 0).length).toBe(0);
  });

  it('registers the eight sets as dataset plugins, idempotently', () => {
    registerBuiltinDatasets();
    registerBuiltinDatasets();
    const names = list<PluginBase>('dataset').map((p) => p.name);
    for (const n of toyNames) expect(names).toContain(n);
    expect(resolveDataset('moons').name).toBe('moons');
  });

  it('an unknown name throws and lists the registered names (no fallback to 8gaussians)', () => {
    let err: unknown;
    try {
      // @ts-expect-error a misspelt name is a type error too; here it is passed anyway, for the run-time check
      sampleToy('8gausians', 10, new Random(0));
    } catch (e) {
      err = e;
    }
    expect(isRnodeError(err, 'PLUGIN_NOT_FOUND')).toBe(true);
    const msg = (err as Error).message;
    expect(msg).toContain('8gausians');
    for (const n of toyNames) expect(msg).toContain(n);
  });

  it('rejects a bad count', () => {
    expect(() => sampleToy('moons', -1, new Random(0))).toThrow(/non-negative integer/);
    expect(() => sampleToy('moons', 2.5, new Random(0))).toThrow(/non-negative integer/);
  });

  it('sampleToyTensor returns [n, 2] float32 equal to sampleToy, leaking nothing else', () => {
    const before = tf.memory().numTensors;
    const t = sampleToyTensor('pinwheel', 50, new Random(9));
    expect(t.shape).toEqual([50, 2]);
    expect(t.dtype).toBe('float32');
    expect(Array.from(t.dataSync())).toEqual(Array.from(sampleToy('pinwheel', 50, new Random(9))));
    t.dispose();
    expect(tf.memory().numTensors).toBe(before);
  });
});

describe('toy datasets: distributions', () => {
  it('8gaussians: 8 clusters at radius 4/1.414, angles kπ/4, std .5/1.414, equal weights', () => {
    const pts = rowsOf(draw('8gaussians'));
    const R = 4 / 1.414;
    const groups: Array<Array<[number, number]>> = Array.from({ length: 8 }, () => []);
    for (const p of pts) {
      const k = Math.round(Math.atan2(p[1], p[0]) / (Math.PI / 4));
      groups[((k % 8) + 8) % 8]!.push(p);
    }
    const resid: number[] = [];
    for (let k = 0; k < 8; k++) {
      const g = groups[k]!;
      expect(g.length / N).toBeGreaterThan(0.125 - 0.015);
      expect(g.length / N).toBeLessThan(0.125 + 0.015);
      const cx = R * Math.cos((k * Math.PI) / 4);
      const cy = R * Math.sin((k * Math.PI) / 4);
      expect(mean(g.map((p) => p[0]))).toBeCloseTo(cx, 1);
      expect(mean(g.map((p) => p[1]))).toBeCloseTo(cy, 1);
      for (const p of g) resid.push(p[0] - cx, p[1] - cy);
    }
    expect(std(resid)).toBeGreaterThan((0.5 / 1.414) * 0.95);
    expect(std(resid)).toBeLessThan((0.5 / 1.414) * 1.05);
  });

  it('pinwheel: 5 arms of radius ≈ 2, rotated by −(2πk/5 + .25·e^{f0}) (einsum convention)', () => {
    const pts = rowsOf(draw('pinwheel'));
    const r = pts.map(radius);
    // |f| with f0 ~ N(1, .3²), f1 ~ N(0, .1²): E|f| ≈ 1.005, times 2.
    expect(mean(r)).toBeGreaterThan(1.98);
    expect(mean(r)).toBeLessThan(2.04);
    expect(std(r)).toBeGreaterThan(0.55);
    expect(std(r)).toBeLessThan(0.65);
    // Undo the swirl: φ + .25·exp(|p|/2) = −2πk/5 + atan2(f1, f0) with atan2(f1, f0) small.
    const unwound = pts.map((p) => Math.atan2(p[1], p[0]) + 0.25 * Math.exp(radius(p) / 2));
    const dists = unwound.map((a) => modDist(a, (2 * Math.PI) / 5));
    expect(dists.filter((d) => d < 0.3).length / N).toBeGreaterThan(0.95);
    // Each arm holds a fifth of the points.
    const arms = new Array(5).fill(0);
    for (const a of unwound) arms[((Math.round(-a / ((2 * Math.PI) / 5)) % 5) + 5) % 5]++;
    for (const c of arms) expect(Math.abs(c / N - 0.2)).toBeLessThan(0.01);
    // The opposite convention (rotation by +angle) would unwind with a minus sign and fail.
    const wrong = pts.map((p) => Math.atan2(p[1], p[0]) - 0.25 * Math.exp(radius(p) / 2));
    expect(wrong.map((a) => modDist(a, (2 * Math.PI) / 5)).filter((d) => d < 0.3).length / N).toBeLessThan(0.7);
  });

  it('checkerboard: every point on a "black" square of the 4×4 board on [−4, 4)², 8 squares equally filled', () => {
    const pts = rowsOf(draw('checkerboard'));
    const counts = new Map<string, number>();
    let outside = 0;
    let white = 0;
    for (const [x, y] of pts) {
      if (!(x >= -4 && x < 4 && y >= -4 && y < 4)) outside++;
      const i = Math.floor(x / 2);
      const j = Math.floor(y / 2);
      if ((((i + j) % 2) + 2) % 2 !== 0) white++;
      counts.set(`${i},${j}`, (counts.get(`${i},${j}`) ?? 0) + 1);
    }
    expect(outside).toBe(0);
    expect(white).toBe(0);
    expect(counts.size).toBe(8);
    for (const c of counts.values()) expect(Math.abs(c / N - 0.125)).toBeLessThan(0.015);
  });

  it('circles: half on radius 3, half on radius 1.5 (noise .24), centred', () => {
    const r = rowsOf(draw('circles')).map(radius);
    const outer = r.filter((x) => x > 2.25);
    const inner = r.filter((x) => x <= 2.25);
    expect(Math.abs(outer.length - N / 2)).toBeLessThan(0.01 * N);
    expect(mean(outer)).toBeCloseTo(3, 1);
    expect(mean(inner)).toBeCloseTo(1.5, 1);
    expect(std(outer)).toBeGreaterThan(0.2);
    expect(std(outer)).toBeLessThan(0.28);
  });

  it('rings: radii 3, 2.25, 1.5, .75 with n//4 points on the three outer ones', () => {
    const n = 20_003;
    const r = rowsOf(draw('rings', n)).map(radius);
    const radii = [3, 2.25, 1.5, 0.75];
    const bins = radii.map((c) => r.filter((x) => Math.abs(x - c) < 0.375));
    expect(bins.reduce((s, b) => s + b.length, 0)).toBeGreaterThan(0.99 * n);
    for (let k = 0; k < 4; k++) {
      expect(Math.abs(bins[k]!.length - Math.floor(n / 4))).toBeLessThan(0.015 * n);
      expect(mean(bins[k]!)).toBeCloseTo(radii[k]!, 1);
    }
  });

  it('moons: two arcs of radius 2 centred at (−1, −.2) (upper) and (1, .8) (lower), mean (0, .3)', () => {
    const pts = rowsOf(draw('moons'));
    expect(mean(pts.map((p) => p[0]))).toBeCloseTo(0, 1);
    expect(mean(pts.map((p) => p[1]))).toBeCloseTo(0.3, 1);
    let upper = 0;
    const resid: number[] = [];
    for (const [x, y] of pts) {
      const d1 = Math.abs(Math.hypot(x + 1, y + 0.2) - 2);
      const d2 = Math.abs(Math.hypot(x - 1, y - 0.8) - 2);
      // Which arc: the upper arc lies above its centre, the lower arc below its own.
      const onUpper = d1 < d2 ? y > -0.2 - 0.6 : false;
      if (onUpper) upper++;
      resid.push(Math.min(d1, d2));
    }
    expect(Math.abs(upper / N - 0.5)).toBeLessThan(0.03);
    expect(mean(resid)).toBeLessThan(0.2);
  });

  it('swissroll: points follow r = t/5, angle = t (t ∈ [1.5π, 4.5π]) with noise .2', () => {
    const pts = rowsOf(draw('swissroll'));
    const r = pts.map(radius);
    expect(mean(r)).toBeGreaterThan((3 * Math.PI) / 5 - 0.05);
    expect(mean(r)).toBeLessThan((3 * Math.PI) / 5 + 0.08);
    let onSpiral = 0;
    let mirrored = 0;
    for (const p of pts) {
      const t = 5 * radius(p);
      if (modDist(t - Math.atan2(p[1], p[0]), 2 * Math.PI) < 1.5) onSpiral++;
      if (modDist(t + Math.atan2(p[1], p[0]), 2 * Math.PI) < 1.5) mirrored++;
    }
    expect(onSpiral / N).toBeGreaterThan(0.75);
    expect(mirrored / N).toBeLessThan(0.6);
  });

  it('2spirals: point-symmetric spirals with angle ≡ π − 3r (mod π)', () => {
    const pts = rowsOf(draw('2spirals'));
    expect(mean(pts.map((p) => p[0]))).toBeCloseTo(0, 1);
    expect(mean(pts.map((p) => p[1]))).toBeCloseTo(0, 1);
    const r = pts.map(radius);
    expect(Math.max(...r)).toBeLessThan(3.142 + 0.3 + 0.6);
    // For large radii the jitter U·.5/3 is small against the radius: check the spiral phase there.
    let on = 0;
    let total = 0;
    let onWrong = 0;
    for (const p of pts) {
      const rr = radius(p);
      if (rr < 1.5) continue;
      total++;
      // Spiral 1: 3p ≈ m(−cos m, sin m) + jitter → angle ≈ π − m; spiral 2 = −spiral 1.
      const m = 3 * rr;
      if (modDist(Math.atan2(p[1], p[0]) + m, Math.PI) < 0.5) on++;
      if (modDist(Math.atan2(p[1], p[0]) - m, Math.PI) < 0.5) onWrong++;
    }
    expect(on / total).toBeGreaterThan(0.65);
    expect(onWrong / total).toBeLessThan(0.45);
  });
});
