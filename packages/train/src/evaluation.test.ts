import * as tf from '@tensorflow/tfjs-core';
import { Random } from '@rnode/core';
import { expect, test } from 'vitest';
import { evaluateNll } from './evaluation.js';
import { smallFlow } from './internal/test-flow.js';
import type { BatchLoader, LoaderBatch } from './image.js';

const LOG_2PI = Math.log(2 * Math.PI);

/** −log p(x) per row by hand: Δlogp − log N(z), from one solve of all rows (float64 on the host). */
async function byHand(flow: ReturnType<typeof smallFlow>, x: Float32Array): Promise<number[]> {
  const t = tf.tensor2d(x, [x.length / 2, 2]);
  const out = await flow.forwardAsync(t, { estimator: 'exact' });
  const z = (await out.z.data()) as Float32Array;
  const d = (await out.deltaLogp.data()) as Float32Array;
  out.dispose();
  t.dispose();
  return Array.from(d, (dl, i) => dl - (-0.5 * (z[2 * i]! ** 2 + z[2 * i + 1]! ** 2) - LOG_2PI));
}

test('evaluateNll: matrix data in batches is the mean NLL of one solve (nats and bits/dim), with the NFE of each solve', async () => {
  const flow = smallFlow(3);
  const x = new Random('eval').normal([10, 2]);
  const data = (await x.data()) as Float32Array;
  x.dispose();
  const n0 = tf.memory().numTensors;
  try {
    const hand = await byHand(flow, data);
    const mean = hand.reduce((a, b) => a + b, 0) / hand.length;
    const r = await evaluateNll(flow, { data, rows: 10, cols: 2 }, { solve: { estimator: 'exact' }, batchSize: 4 });
    expect(r.samples).toBe(10);
    expect(r.solves).toBe(3); // 4 + 4 + 2 rows
    expect(r.nfe).toBeGreaterThan(0);
    expect(r.nll).toBeCloseTo(mean, 4);
    const bits = await evaluateNll(flow, data, { solve: { estimator: 'exact' }, nllUnit: 'bits-per-dim' });
    expect(bits.solves).toBe(1);
    expect(bits.nll).toBeCloseTo(mean / (2 * Math.LN2), 4);
    expect(tf.memory().numTensors).toBe(n0);
  } finally {
    flow.dispose();
  }
});

test('evaluateNll: a loader of images is one pass through the logit transform, in bits/dim of the discrete data', async () => {
  const flow = smallFlow(4);
  const batches: LoaderBatch[] = [
    { data: new Float32Array([0.1, 0.9, 0.5, 0.3]), size: 2, dim: 2 },
    { data: new Float32Array([0.7, 0.2]), size: 1, dim: 2 },
  ];
  let k = 0;
  const loader = { dim: 2, count: 3, batchesPerEpoch: 2, next: async () => batches[k++ % 2]!, state: () => k, restore: () => undefined } as unknown as BatchLoader;
  const n0 = tf.memory().numTensors;
  try {
    const alpha = 0.05;
    const r = await evaluateNll(flow, loader, { solve: { estimator: 'exact' }, image: { alpha, nbits: 8 } });
    expect([r.samples, r.solves]).toEqual([3, 2]);
    // By hand: y = logit(α + (1 − 2α)x), logdet = Σ −log(s − s²) + log(1 − 2α); bpd = (−log p(y) − logdet)/(D ln 2) + 8.
    const xs = new Float32Array([0.1, 0.9, 0.5, 0.3, 0.7, 0.2]);
    const s = Array.from(xs, (v) => alpha + (1 - 2 * alpha) * v);
    const y = new Float32Array(s.map((v) => Math.log(v) - Math.log(1 - v)));
    const hand = await byHand(flow, y);
    const bpd = hand.map((nll, i) => {
      const logdet = [0, 1].reduce((a, j) => a - Math.log(s[2 * i + j]! - s[2 * i + j]! ** 2) + Math.log(1 - 2 * alpha), 0);
      return (nll - logdet) / (2 * Math.LN2) + 8;
    });
    expect(r.nll).toBeCloseTo(bpd.reduce((a, b) => a + b, 0) / 3, 3);
    expect(tf.memory().numTensors).toBe(n0);
  } finally {
    flow.dispose();
  }
});
