import * as tf from '@tensorflow/tfjs-core';
import { RnodeError, register, resolve, type PluginBase, type PluginRef, type Random } from '@rnode/core';

/**
 * The 2-D toy distributions of FFJORD (`lib/toy_data.py`, `inf_train_gen`), with the
 * scikit-learn generators they call (`make_swiss_roll`, `make_circles`, `make_moons`)
 * rebuilt step by step. Every draw comes from the `Random` passed in, in the order the
 * reference draws it, so a seed fixes the sample on every backend. The numbers differ
 * from NumPy's (a different generator), the distributions do not.
 *
 * Output: a host-side `Float32Array` of n rows × 2 columns, row-major.
 */
export interface DatasetPlugin<N extends string = string> extends PluginBase<'dataset', N> {
  /** Number of columns of a sample (2 for the toy sets). */
  readonly dim: number;
  /** The generator's constants, for documentation and plots. */
  readonly params: Readonly<Record<string, number | string>>;
  /** n rows × dim columns, row-major; exactly `n` rows. */
  sample(n: number, rng: Random): Float32Array;
}

export type DatasetRef = PluginRef<DatasetPlugin>;

const TWO_PI = 2 * Math.PI;

/** numpy.linspace(start, stop, num, endpoint) */
function linspace(start: number, stop: number, num: number, endpoint: boolean): Float64Array {
  const out = new Float64Array(num);
  const div = endpoint ? num - 1 : num;
  const step = div > 0 ? (stop - start) / div : 0;
  for (let i = 0; i < num; i++) out[i] = start + i * step;
  if (endpoint && num > 1) out[num - 1] = stop;
  return out;
}

/** Rows of (xs[i], ys[i]) shuffled by a permutation (sklearn `util.shuffle`), as float64 pairs. */
function shuffledPairs(xs: ArrayLike<number>, ys: ArrayLike<number>, rng: Random): Float64Array {
  const n = xs.length;
  const perm = rng.permutation(n);
  const out = new Float64Array(2 * n);
  for (let i = 0; i < n; i++) {
    const j = perm[i]!;
    out[2 * i] = xs[j]!;
    out[2 * i + 1] = ys[j]!;
  }
  return out;
}

function addNoise(xy: Float64Array, std: number, rng: Random): void {
  for (let i = 0; i < xy.length; i++) xy[i] = xy[i]! + std * rng.nextNormal();
}

function toF32(xy: ArrayLike<number>, scale = 1, shiftX = 0, shiftY = 0): Float32Array {
  const out = new Float32Array(xy.length);
  for (let i = 0; i < xy.length; i += 2) {
    out[i] = xy[i]! * scale + shiftX;
    out[i + 1] = xy[i + 1]! * scale + shiftY;
  }
  return out;
}

/** sklearn make_swiss_roll(n, noise=1.0), columns [0, 2], divided by 5. */
function swissroll(n: number, rng: Random): Float32Array {
  const noise = 1.0;
  const t = new Float64Array(n);
  for (let i = 0; i < n; i++) t[i] = 1.5 * Math.PI * (1 + 2 * rng.nextFloat());
  // y = 21 * U: drawn (sklearn draws it) but the column is dropped.
  for (let i = 0; i < n; i++) rng.nextFloat();
  // noise * standard_normal((3, n)): all x noises, then y, then z.
  const nx = rng.normalArray(n);
  rng.normalArray(n);
  const nz = rng.normalArray(n);
  const out = new Float32Array(2 * n);
  for (let i = 0; i < n; i++) {
    const ti = t[i]!;
    out[2 * i] = (ti * Math.cos(ti) + noise * nx[i]!) / 5;
    out[2 * i + 1] = (ti * Math.sin(ti) + noise * nz[i]!) / 5;
  }
  return out;
}

/** sklearn make_circles(n, factor=.5, noise=.08), times 3. */
function circles(n: number, rng: Random): Float32Array {
  const factor = 0.5;
  const nOut = Math.floor(n / 2);
  const nIn = n - nOut;
  const aOut = linspace(0, TWO_PI, nOut, false);
  const aIn = linspace(0, TWO_PI, nIn, false);
  const xs = new Float64Array(n);
  const ys = new Float64Array(n);
  for (let i = 0; i < nOut; i++) {
    xs[i] = Math.cos(aOut[i]!);
    ys[i] = Math.sin(aOut[i]!);
  }
  for (let i = 0; i < nIn; i++) {
    xs[nOut + i] = Math.cos(aIn[i]!) * factor;
    ys[nOut + i] = Math.sin(aIn[i]!) * factor;
  }
  const xy = shuffledPairs(xs, ys, rng);
  addNoise(xy, 0.08, rng);
  return toF32(xy, 3);
}

/** FFJORD rings: radii 1, .75, .5, .25, times 3, shuffled, + N(0, .08²). */
function rings(n: number, rng: Random): Float32Array {
  const n4 = Math.floor(n / 4);
  const n3 = n4;
  const n2 = n4;
  const n1 = n - n4 - n3 - n2;
  const l4 = linspace(0, TWO_PI, n4, false);
  const l3 = linspace(0, TWO_PI, n3, false);
  const l2 = linspace(0, TWO_PI, n2, false);
  const l1 = linspace(0, TWO_PI, n1, false);
  const xs: number[] = [];
  const ys: number[] = [];
  for (let i = 0; i < n4; i++) (xs.push(Math.cos(l4[i]!)), ys.push(Math.sin(l4[i]!)));
  // The reference's quirk: circle 3's x uses linspace4 (same length, so same values).
  for (let i = 0; i < n3; i++) (xs.push(Math.cos(l4[i]!) * 0.75), ys.push(Math.sin(l3[i]!) * 0.75));
  for (let i = 0; i < n2; i++) (xs.push(Math.cos(l2[i]!) * 0.5), ys.push(Math.sin(l2[i]!) * 0.5));
  for (let i = 0; i < n1; i++) (xs.push(Math.cos(l1[i]!) * 0.25), ys.push(Math.sin(l1[i]!) * 0.25));
  const xy = shuffledPairs(xs, ys, rng);
  for (let i = 0; i < xy.length; i++) xy[i] = xy[i]! * 3;
  addNoise(xy, 0.08, rng);
  return toF32(xy);
}

/** sklearn make_moons(n, noise=.1), times 2, plus (−1, −.2). */
function moons(n: number, rng: Random): Float32Array {
  const nOut = Math.floor(n / 2);
  const nIn = n - nOut;
  const aOut = linspace(0, Math.PI, nOut, true);
  const aIn = linspace(0, Math.PI, nIn, true);
  const xs = new Float64Array(n);
  const ys = new Float64Array(n);
  for (let i = 0; i < nOut; i++) {
    xs[i] = Math.cos(aOut[i]!);
    ys[i] = Math.sin(aOut[i]!);
  }
  for (let i = 0; i < nIn; i++) {
    xs[nOut + i] = 1 - Math.cos(aIn[i]!);
    ys[nOut + i] = 1 - Math.sin(aIn[i]!) - 0.5;
  }
  const xy = shuffledPairs(xs, ys, rng);
  addNoise(xy, 0.1, rng);
  return toF32(xy, 2, -1, -0.2);
}

const S = 1 / Math.sqrt(2);
const CENTERS_8: readonly (readonly [number, number])[] = [
  [1, 0], [-1, 0], [0, 1], [0, -1], [S, S], [S, -S], [-S, S], [-S, -S],
];

/** FFJORD 8gaussians: centres on the circle of radius 4, + N(0, .5²), all divided by 1.414. */
function eightGaussians(n: number, rng: Random): Float32Array {
  const scale = 4;
  const out = new Float32Array(2 * n);
  for (let i = 0; i < n; i++) {
    const px = rng.nextNormal() * 0.5;
    const py = rng.nextNormal() * 0.5;
    const c = CENTERS_8[rng.nextInt(8)]!;
    out[2 * i] = (px + scale * c[0]) / 1.414;
    out[2 * i + 1] = (py + scale * c[1]) / 1.414;
  }
  return out;
}

/**
 * FFJORD pinwheel: 5 arms. features = randn·[.3, .1] + [1, 0]; angle = rads[label] + .25·exp(f0);
 * einsum('ti,tij->tj', f, [[cos, −sin], [sin, cos]]) = (f0 cos + f1 sin, −f0 sin + f1 cos),
 * i.e. f rotated by −angle; rows permuted; times 2. The reference makes 5·(n // 5) rows; here
 * the first n mod 5 arms get one extra point so there are exactly n (identical when 5 | n).
 */
function pinwheel(n: number, rng: Random): Float32Array {
  const radialStd = 0.3;
  const tangentialStd = 0.1;
  const numClasses = 5;
  const rate = 0.25;
  const rads = linspace(0, TWO_PI, numClasses, false);
  const base = Math.floor(n / numClasses);
  const extra = n - base * numClasses;
  const labels = new Int32Array(n);
  let k = 0;
  for (let c = 0; c < numClasses; c++) for (let i = 0; i < base + (c < extra ? 1 : 0); i++) labels[k++] = c;
  const f = new Float64Array(2 * n);
  for (let i = 0; i < n; i++) {
    f[2 * i] = rng.nextNormal() * radialStd + 1;
    f[2 * i + 1] = rng.nextNormal() * tangentialStd;
  }
  const perm = rng.permutation(n);
  const out = new Float32Array(2 * n);
  for (let i = 0; i < n; i++) {
    const t = perm[i]!;
    const f0 = f[2 * t]!;
    const f1 = f[2 * t + 1]!;
    const a = rads[labels[t]!]! + rate * Math.exp(f0);
    const c = Math.cos(a);
    const s = Math.sin(a);
    out[2 * i] = 2 * (f0 * c + f1 * s);
    out[2 * i + 1] = 2 * (-f0 * s + f1 * c);
  }
  return out;
}

/**
 * FFJORD 2spirals: m = √U·540°, d1 = (−cos m·m + U·.5, sin m·m + U·.5); rows [d1; −d1] / 3
 * + N(0, .1²). The reference makes 2·(n // 2) rows; an odd n gives the first spiral one more.
 */
function twoSpirals(n: number, rng: Random): Float32Array {
  const h2 = Math.floor(n / 2);
  const h1 = n - h2;
  const m = new Float64Array(h1);
  for (let i = 0; i < h1; i++) m[i] = ((Math.sqrt(rng.nextFloat()) * 540 * TWO_PI) / 360);
  const ux = rng.uniformArray(h1);
  const uy = rng.uniformArray(h1);
  const out = new Float32Array(2 * n);
  for (let i = 0; i < h1; i++) {
    const mi = m[i]!;
    const dx = -Math.cos(mi) * mi + ux[i]! * 0.5;
    const dy = Math.sin(mi) * mi + uy[i]! * 0.5;
    out[2 * i] = dx / 3;
    out[2 * i + 1] = dy / 3;
    if (i < h2) {
      out[2 * (h1 + i)] = -dx / 3;
      out[2 * (h1 + i) + 1] = -dy / 3;
    }
  }
  for (let i = 0; i < 2 * n; i++) out[i] = out[i]! + 0.1 * rng.nextNormal();
  return out;
}

/** FFJORD checkerboard: x1 ~ U[−2, 2), x2 ~ U[0, 1) − 2·randint(0, 2) + (⌊x1⌋ mod 2); times 2. */
function checkerboard(n: number, rng: Random): Float32Array {
  const x1 = new Float64Array(n);
  for (let i = 0; i < n; i++) x1[i] = rng.nextFloat() * 4 - 2;
  const u = new Float64Array(n);
  for (let i = 0; i < n; i++) u[i] = rng.nextFloat();
  const out = new Float32Array(2 * n);
  for (let i = 0; i < n; i++) {
    const b = rng.nextInt(2);
    const parity = ((Math.floor(x1[i]!) % 2) + 2) % 2; // Python's floor mod
    out[2 * i] = x1[i]! * 2;
    out[2 * i + 1] = (u[i]! - b * 2 + parity) * 2;
  }
  return out;
}

function defineToy<N extends string>(
  name: N,
  description: string,
  params: Record<string, number | string>,
  gen: (n: number, rng: Random) => Float32Array,
): DatasetPlugin<N> {
  return Object.freeze({
    kind: 'dataset' as const,
    name,
    description,
    dim: 2,
    params: Object.freeze(params),
    sample(n: number, rng: Random): Float32Array {
      checkCount(n, `dataset:${name}`);
      if (n === 0) return new Float32Array(0);
      return gen(n, rng);
    },
  });
}

function checkCount(n: unknown, source: string): void {
  if (typeof n !== 'number' || !Number.isInteger(n) || n < 0) {
    throw new RnodeError('INVALID_ARGUMENT', `the number of samples must be a non-negative integer, got ${String(n)}`, {
      source,
    });
  }
}

export const swissrollDataset = defineToy(
  'swissroll',
  'sklearn make_swiss_roll(noise=1.0), columns [0, 2], / 5',
  { noise: 1.0, scale: 0.2 },
  swissroll,
);
export const circlesDataset = defineToy(
  'circles',
  'sklearn make_circles(factor=.5, noise=.08), × 3',
  { factor: 0.5, noise: 0.08, scale: 3 },
  circles,
);
export const ringsDataset = defineToy(
  'rings',
  '4 circles of radii 1, .75, .5, .25, × 3, + N(0, .08²)',
  { radii: '1, 0.75, 0.5, 0.25', noise: 0.08, scale: 3 },
  rings,
);
export const moonsDataset = defineToy(
  'moons',
  'sklearn make_moons(noise=.1), × 2 + (−1, −.2)',
  { noise: 0.1, scale: 2, shiftX: -1, shiftY: -0.2 },
  moons,
);
export const eightGaussiansDataset = defineToy(
  '8gaussians',
  '8 Gaussians (std .5) centred on the circle of radius 4, all / 1.414',
  { scale: 4, std: 0.5, divisor: 1.414 },
  eightGaussians,
);
export const pinwheelDataset = defineToy(
  'pinwheel',
  '5-arm pinwheel: radial std .3, tangential std .1, rate .25, × 2',
  { numClasses: 5, radialStd: 0.3, tangentialStd: 0.1, rate: 0.25, scale: 2 },
  pinwheel,
);
export const twoSpiralsDataset = defineToy(
  '2spirals',
  'two interleaved spirals (540°), / 3, + N(0, .1²)',
  { turnDegrees: 540, jitter: 0.5, divisor: 3, noise: 0.1 },
  twoSpirals,
);
export const checkerboardDataset = defineToy(
  'checkerboard',
  '4×4 checkerboard on [−4, 4)², points uniform on the 8 "black" squares',
  { cells: 4, scale: 2 },
  checkerboard,
);

/** The toy sets by name, in the order FFJORD lists them. */
export const toyDatasets = Object.freeze({
  swissroll: swissrollDataset,
  circles: circlesDataset,
  rings: ringsDataset,
  moons: moonsDataset,
  '8gaussians': eightGaussiansDataset,
  pinwheel: pinwheelDataset,
  '2spirals': twoSpiralsDataset,
  checkerboard: checkerboardDataset,
});

export type ToyName = keyof typeof toyDatasets;
export const toyNames: readonly ToyName[] = Object.freeze(Object.keys(toyDatasets) as ToyName[]);

declare module '@rnode/core' {
  interface DatasetRegistry {
    swissroll: true;
    circles: true;
    rings: true;
    moons: true;
    '8gaussians': true;
    pinwheel: true;
    '2spirals': true;
    checkerboard: true;
  }
}

let registered = false;
/** Register the eight toy sets as `dataset` plugins (idempotent; lookups by name call it). */
export function registerBuiltinDatasets(): void {
  if (registered) return;
  register(Object.values(toyDatasets) as DatasetPlugin[]);
  registered = true;
}

/**
 * A dataset plugin from its name or the plugin itself. An unknown name throws
 * PLUGIN_NOT_FOUND listing the registered names (FFJORD silently falls back to
 * 8gaussians; rnode does not).
 */
export function resolveDataset(ref: DatasetRef): DatasetPlugin {
  registerBuiltinDatasets();
  return resolve<DatasetPlugin>('dataset', ref, 'dataset');
}

/** n samples (n×dim row-major, host side) of a toy set, drawn from `rng`. */
export function sampleToy(ref: DatasetRef, n: number, rng: Random): Float32Array {
  return resolveDataset(ref).sample(n, rng);
}

/** The same as `sampleToy`, uploaded as a float32 tensor [n, dim] (the caller owns it). */
export function sampleToyTensor(ref: DatasetRef, n: number, rng: Random): tf.Tensor2D {
  const p = resolveDataset(ref);
  return tf.tensor2d(p.sample(n, rng), [n, p.dim], 'float32');
}
