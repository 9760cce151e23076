import * as tf from '@tensorflow/tfjs-core';
import { RnodeError } from './errors.js';

/**
 * The one seeded random source of the project: noise probes, toy data,
 * initialisation and shuffling all draw from a `Random`. Numbers are produced
 * on the host (xoshiro128**, seeded through splitmix32) and uploaded, so a run
 * is reproducible from its seed on every backend, and the whole state fits in a
 * checkpoint (`getState`/`setState`).
 */
export interface RandomState {
  readonly algorithm: 'xoshiro128**';
  readonly s: readonly [number, number, number, number];
  /** A cached second Box–Muller deviate, or null. */
  readonly spare: number | null;
}

function splitmix32(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x9e3779b9) >>> 0;
    let z = a;
    z = Math.imul(z ^ (z >>> 16), 0x85ebca6b) >>> 0;
    z = Math.imul(z ^ (z >>> 13), 0xc2b2ae35) >>> 0;
    return (z ^ (z >>> 16)) >>> 0;
  };
}

function hashString(s: string): number {
  // FNV-1a, 32-bit.
  let h = 0x811c9dc5;
  for (let i = 0; i < s.length; i++) {
    h ^= s.charCodeAt(i);
    h = Math.imul(h, 0x01000193) >>> 0;
  }
  return h >>> 0;
}

const rotl = (x: number, k: number) => ((x << k) | (x >>> (32 - k))) >>> 0;

export class Random {
  private s0 = 0;
  private s1 = 0;
  private s2 = 0;
  private s3 = 0;
  private spare: number | null = null;

  constructor(seed: number | string = 0) {
    let n: number;
    if (typeof seed === 'string') n = hashString(seed);
    else {
      if (!Number.isFinite(seed)) {
        throw new RnodeError('INVALID_OPTIONS', `seed must be a finite number or a string, got ${seed}`, {
          source: 'option:seed',
        });
      }
      // Fold in the high bits so seeds above 2^32 still differ.
      n = (Math.trunc(seed) >>> 0) ^ (Math.floor(Math.trunc(seed) / 2 ** 32) >>> 0);
    }
    const sm = splitmix32(n);
    this.s0 = sm();
    this.s1 = sm();
    this.s2 = sm();
    this.s3 = sm();
    if ((this.s0 | this.s1 | this.s2 | this.s3) === 0) this.s0 = 1;
  }

  /** A uniformly distributed unsigned 32-bit integer. */
  nextUint32(): number {
    const result = Math.imul(rotl(Math.imul(this.s1, 5) >>> 0, 7), 9) >>> 0;
    const t = (this.s1 << 9) >>> 0;
    this.s2 ^= this.s0;
    this.s3 ^= this.s1;
    this.s1 ^= this.s2;
    this.s0 ^= this.s3;
    this.s2 ^= t;
    this.s3 = rotl(this.s3, 11);
    this.s0 >>>= 0;
    this.s1 >>>= 0;
    this.s2 >>>= 0;
    return result;
  }

  /** A double in [0, 1) with 53 random bits. */
  nextFloat(): number {
    const hi = this.nextUint32() >>> 5; // 27 bits
    const lo = this.nextUint32() >>> 6; // 26 bits
    return (hi * 67108864 + lo) / 9007199254740992;
  }

  /** A standard normal deviate (Box–Muller, both values used). */
  nextNormal(): number {
    if (this.spare !== null) {
      const v = this.spare;
      this.spare = null;
      return v;
    }
    let u = 0;
    while (u === 0) u = this.nextFloat();
    const v = this.nextFloat();
    const r = Math.sqrt(-2 * Math.log(u));
    this.spare = r * Math.sin(2 * Math.PI * v);
    return r * Math.cos(2 * Math.PI * v);
  }

  /** An integer in [0, n). */
  nextInt(n: number): number {
    if (!Number.isInteger(n) || n <= 0) {
      throw new RnodeError('INVALID_ARGUMENT', `nextInt(n) needs a positive integer, got ${n}`);
    }
    return Math.floor(this.nextFloat() * n);
  }

  uniformArray(n: number, low = 0, high = 1): Float32Array {
    const out = new Float32Array(n);
    for (let i = 0; i < n; i++) out[i] = low + (high - low) * this.nextFloat();
    return out;
  }

  normalArray(n: number, mean = 0, std = 1): Float32Array {
    const out = new Float32Array(n);
    for (let i = 0; i < n; i++) out[i] = mean + std * this.nextNormal();
    return out;
  }

  rademacherArray(n: number): Float32Array {
    const out = new Float32Array(n);
    let bits = 0;
    for (let i = 0; i < n; i++) {
      if (i % 32 === 0) bits = this.nextUint32();
      out[i] = (bits >>> (i % 32)) & 1 ? 1 : -1;
    }
    return out;
  }

  /** A float32 tensor of U[low, high) draws. */
  uniform(shape: readonly number[], low = 0, high = 1): tf.Tensor {
    return tf.tensor(this.uniformArray(sizeOf(shape), low, high), shape.slice(), 'float32');
  }

  /** A float32 tensor of N(mean, std²) draws. */
  normal(shape: readonly number[], mean = 0, std = 1): tf.Tensor {
    return tf.tensor(this.normalArray(sizeOf(shape), mean, std), shape.slice(), 'float32');
  }

  /** A float32 tensor of ±1 with equal probability. */
  rademacher(shape: readonly number[]): tf.Tensor {
    return tf.tensor(this.rademacherArray(sizeOf(shape)), shape.slice(), 'float32');
  }

  /** A random permutation of 0..n-1 (Fisher–Yates). */
  permutation(n: number): Int32Array {
    const p = new Int32Array(n);
    for (let i = 0; i < n; i++) p[i] = i;
    for (let i = n - 1; i > 0; i--) {
      const j = this.nextInt(i + 1);
      const t = p[i]!;
      p[i] = p[j]!;
      p[j] = t;
    }
    return p;
  }

  /**
   * An independent stream derived from this one and a label; drawing from the
   * fork does not advance this generator beyond the one draw used to seed it.
   */
  fork(label = ''): Random {
    return new Random(`${this.nextUint32()}:${label}`);
  }

  getState(): RandomState {
    return { algorithm: 'xoshiro128**', s: [this.s0, this.s1, this.s2, this.s3], spare: this.spare };
  }

  setState(state: RandomState): this {
    if (
      !state ||
      state.algorithm !== 'xoshiro128**' ||
      !Array.isArray(state.s) ||
      state.s.length !== 4 ||
      !state.s.every((x) => Number.isInteger(x) && x >= 0 && x < 2 ** 32)
    ) {
      throw new RnodeError('INVALID_ARGUMENT', 'not a valid random state (expected xoshiro128** with four uint32 words)');
    }
    [this.s0, this.s1, this.s2, this.s3] = state.s;
    this.spare = state.spare ?? null;
    return this;
  }

  static fromState(state: RandomState): Random {
    return new Random(0).setState(state);
  }
}

function sizeOf(shape: readonly number[]): number {
  let n = 1;
  for (const d of shape) {
    if (!Number.isInteger(d) || d < 0) throw new RnodeError('INVALID_ARGUMENT', `invalid shape [${shape.join(', ')}]`);
    n *= d;
  }
  return n;
}
