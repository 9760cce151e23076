import * as tf from '@tensorflow/tfjs-core';
import { Random } from '@rnode/core';
import { describe, expect, it } from 'vitest';
import {
  bitsPerDim, dequantize, downsampleImages, logitInverse, logitInverseArray, logitTransform, logitTransformArray,
  quantize, randomHorizontalFlip,
} from './index.js';

describe('dequantize', () => {
  const levels = Uint8Array.from({ length: 20000 }, (_, i) => i % 256);
  it('uniform: (x + U)/256 lies in [x/256, (x+1)/256), mean offset ½/256', () => {
    const x = dequantize(levels, { mode: 'uniform', rng: new Random(1) });
    let off = 0;
    let outside = 0;
    for (let i = 0; i < x.length; i++) {
      const l = levels[i]!;
      if (!(x[i]! >= l / 256 && x[i]! < (l + 1) / 256)) outside++;
      off += x[i]! * 256 - l;
    }
    expect(outside).toBe(0);
    expect(off / x.length).toBeCloseTo(0.5, 2);
    expect(dequantize(levels, { mode: 'uniform', rng: new Random(1) })).toEqual(x);
  });
  it('center: (x + 0.5)/2^nbits, nbits < 8 first x // 2^(8−nbits)', () => {
    expect(Array.from(dequantize(Uint8Array.from([0, 255]), { mode: 'center' }))).toEqual([0.5 / 256, 255.5 / 256]);
    expect(Array.from(quantize(Uint8Array.from([0, 31, 32, 255]), 3))).toEqual([0, 0, 1, 7]);
    const x = dequantize(Uint8Array.from([0, 31, 32, 255]), { mode: 'center', nbits: 3 });
    expect(Array.from(x)).toEqual([0.5 / 8, 0.5 / 8, 1.5 / 8, 7.5 / 8]);
    expect(() => dequantize(levels, { mode: 'uniform' })).toThrow(/needs an rng/);
  });
});

describe('logit transform', () => {
  it('log-det matches autodiff and finite differences; inverse round trip; no leaks', () => {
    const before = tf.memory().numTensors;
    for (const alpha of [1e-5, 0.05]) {
      const xv = [0.01, 0.3, 0.5, 0.77, 0.2, 0.95];
      const x = tf.tensor2d(xv, [2, 3]);
      const { y, logdet } = logitTransform(x, alpha);
      // autodiff: the map is elementwise, so log|det J| = Σ log|dy_i/dx_i|
      const g = tf.grad((t: tf.Tensor) => tf.sum(logitTransform(t, alpha).y))(x);
      const ad = tf.tidy(() => tf.sum(tf.log(tf.abs(g)), 1));
      const ld = logdet.arraySync();
      (ad.arraySync() as number[]).forEach((v, i) => expect(Math.abs(v - ld[i]!) / Math.abs(ld[i]!)).toBeLessThan(1e-4));
      // finite differences in float64 on the host
      const { logdet: hostLd } = logitTransformArray(xv, 3, alpha);
      const h = 1e-6;
      for (let b = 0; b < 2; b++) {
        let fd = 0;
        for (let k = 0; k < 3; k++) {
          const v = xv[b * 3 + k]!;
          const fy = (u: number) => { const s = alpha + (1 - 2 * alpha) * u; return Math.log(s) - Math.log(1 - s); };
          fd += Math.log((fy(v + h) - fy(v - h)) / (2 * h));
        }
        expect(Math.abs(fd - hostLd[b]!)).toBeLessThan(1e-6);
        expect(Math.abs(ld[b]! - hostLd[b]!) / Math.abs(hostLd[b]!)).toBeLessThan(1e-5);
      }
      const back = logitInverse(y, alpha);
      const bv = back.dataSync();
      xv.forEach((v, i) => expect(bv[i]).toBeCloseTo(v, 5));
      const hb = logitInverseArray(logitTransformArray(xv, 3, alpha).y, alpha);
      xv.forEach((v, i) => expect(hb[i]).toBeCloseTo(v, 5));
      tf.dispose([x, y, logdet, g, ad, back]);
    }
    expect(tf.memory().numTensors).toBe(before);
  });
});

describe('logit transform of image batches (moved from @rnode/train, one home)', () => {
  it('log-det matches the elementwise derivative; inverse round-trips; bits/dim of the discrete data', () => {
    const n0 = tf.memory().numTensors;
    const x = tf.tensor2d([[0.1, 0.5, 0.9], [0.02, 0.3, 0.7]]);
    const alpha = 1e-5;
    const { y, logdet } = logitTransform(x, alpha);
    const xs = x.arraySync();
    const ld = logdet.arraySync();
    xs.forEach((row, i) => {
      const expected = row.reduce((a, v) => {
        const s = alpha + (1 - 2 * alpha) * v;
        return a + Math.log((1 - 2 * alpha) / (s * (1 - s)));
      }, 0);
      expect(ld[i]).toBeCloseTo(expected, 4);
    });
    const back = logitInverse(y, alpha);
    expect(Array.from(back.dataSync())).toEqual(Array.from(x.dataSync()).map((v) => expect.closeTo(v, 5)));
    // bpd = −(log p(x)/D − log 256)/log 2 with log p(x) = −negLogPy + logdet
    const nl = tf.tensor1d([10, 20]);
    const ld2 = tf.tensor1d([3, -1]);
    const logpx = tf.sub(ld2, nl);
    const bpd = bitsPerDim(logpx, 3, 8);
    const want = [10, 20].map((nl, i) => -((-nl + [3, -1][i]!) / 3 - Math.log(256)) / Math.LN2);
    expect(Array.from(bpd.dataSync())).toEqual(want.map((v) => expect.closeTo(v, 4)));
    tf.dispose([x, y, logdet, back, bpd, nl, ld2, logpx]);
    expect(tf.memory().numTensors).toBe(n0);
  });

  it('α = 0 is the reference\'s ZeroMeanTransform: y = x − 0.5, log-det 0 (a pure logit would send 0 to −∞); inverse y + 0.5 clipped to [0, 1]', () => {
    const n0 = tf.memory().numTensors;
    const xv = [0, 0.25, 0.5, 0.99, 0.1, 0.75];
    const x = tf.tensor2d(xv, [2, 3]);
    const { y, logdet } = logitTransform(x, 0);
    expect(Array.from(y.dataSync())).toEqual(xv.map((v) => expect.closeTo(v - 0.5, 7)));
    expect(Array.from(logdet.dataSync())).toEqual([0, 0]);
    const host = logitTransformArray(xv, 3, 0);
    expect(Array.from(host.y)).toEqual(xv.map((v) => expect.closeTo(v - 0.5, 7)));
    expect(Array.from(host.logdet)).toEqual([0, 0]);
    const back = logitInverse(y, 0);
    expect(Array.from(back.dataSync())).toEqual(xv.map((v) => expect.closeTo(v, 6)));
    const out = tf.tensor1d([-0.7, 0.6, 0.1]); // beyond the data's range
    const clipped = logitInverse(out, 0);
    expect(Array.from(clipped.dataSync())).toEqual([0, 1, expect.closeTo(0.6, 6)]);
    expect(Array.from(logitInverseArray([-0.7, 0.6, 0.1], 0))).toEqual([0, 1, expect.closeTo(0.6, 6)]);
    tf.dispose([x, y, logdet, back, out, clipped]);
    expect(tf.memory().numTensors).toBe(n0);
  });
});

describe('flips, downsampling, bits/dim', () => {
  it('randomHorizontalFlip mirrors about half the images, seeded', () => {
    const shape = { height: 2, width: 3, channels: 2 };
    const one = Uint8Array.from({ length: 12 }, (_, i) => i);
    const n = 400;
    const imgs = new Uint8Array(n * 12);
    for (let i = 0; i < n; i++) imgs.set(one, i * 12);
    const out = randomHorizontalFlip(imgs, shape, new Random(3));
    const mirrored = [4, 5, 2, 3, 0, 1, 10, 11, 8, 9, 6, 7];
    let flipped = 0;
    for (let i = 0; i < n; i++) {
      const img = Array.from(out.subarray(i * 12, (i + 1) * 12));
      if (img.join() === mirrored.join()) flipped++;
      else expect(img).toEqual(Array.from(one));
    }
    expect(flipped).toBeGreaterThan(160);
    expect(flipped).toBeLessThan(240);
    expect(randomHorizontalFlip(imgs, shape, new Random(3))).toEqual(out);
  });

  it('downsampleImages averages 2×2 blocks (rounded) per channel', () => {
    const img = Uint8Array.from([0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15]); // 4×4×1
    const d = downsampleImages(img, { height: 4, width: 4, channels: 1 }, 2);
    expect([d.height, d.width]).toEqual([2, 2]);
    expect(Array.from(d.images)).toEqual([3, 5, 11, 13]); // 2.5→3, 4.5→5, 10.5→11, 12.5→13
    expect(() => downsampleImages(img, { height: 4, width: 4, channels: 1 }, 3)).toThrow(/must be a positive integer dividing/);
  });

  it('bitsPerDim = −(logpx/D − log 2^nbits)/log 2', () => {
    // a uniform density on [0,1)^D has logpx = 0 → exactly nbits
    expect(bitsPerDim(0, 784)).toBe(8);
    expect(bitsPerDim(-784 * Math.LN2, 784)).toBeCloseTo(9, 12);
    expect(bitsPerDim(-1000, 784, 5)).toBeCloseTo(1000 / (784 * Math.LN2) + 5, 12);
    const before = tf.memory().numTensors;
    const t = tf.tensor1d([0, -784 * Math.LN2]);
    const b = bitsPerDim(t, 784);
    const v = b.dataSync();
    expect(v[0]).toBeCloseTo(8, 5);
    expect(v[1]).toBeCloseTo(9, 5);
    tf.dispose([t, b]);
    expect(tf.memory().numTensors).toBe(before);
  });
});
