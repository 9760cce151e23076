import * as tf from '@tensorflow/tfjs-core';
import { Random } from '@rnode/core';
import { createFlow } from '@rnode/models';
import { expect, test } from 'vitest';
import { createTrainer } from './trainer.js';
import { train } from './train.js';
import type { Checkpoint } from './checkpoint.js';
import type { BatchLoader, LoaderBatch } from './image.js';

/** A resumable loader of n fixed 4×4 "images" (levels 0–255) in batches, like @rnode/data's. */
function fakeLoader(n: number, batch: number, mode: 'uniform' | 'center', seed = 1): BatchLoader {
  const dim = 16;
  const levels = new Uint8Array(n * dim);
  const r = new Random(`${seed}:levels`);
  for (let i = 0; i < n; i++) for (let k = 0; k < dim; k++) levels[i * dim + k] = (k * 16 + Math.floor(r.nextFloat() * 40)) % 256;
  const per = Math.ceil(n / batch);
  let pos = 0;
  return {
    dim,
    count: n,
    batchesPerEpoch: per,
    async next(): Promise<LoaderBatch> {
      const e = Math.floor(pos / per);
      const b = pos % per;
      pos += 1;
      const size = Math.min(batch, n - b * batch);
      const noise = new Random(`${seed}:${e}:${b}`);
      const data = new Float32Array(size * dim);
      for (let i = 0; i < size * dim; i++) data[i] = (levels[b * batch * dim + i]! + (mode === 'uniform' ? noise.nextFloat() : 0.5)) / 256;
      return { data, size, dim };
    },
    state: () => ({ pos }),
    restore(s: { pos: number }) {
      pos = s.pos;
    },
  } as BatchLoader;
}

function imageTrainer(seed = 0) {
  return createTrainer({
    flow: createFlow({ dim: 16, hidden: [16], layer: 'concatsquash', activation: 'tanh', zeroLast: 'none' }, new Random(seed)),
    ownsFlow: true,
    data: { kind: 'image', train: fakeLoader(40, 16, 'uniform'), test: fakeLoader(24, 16, 'center', 2), alpha: 1e-5 },
    batchSize: 16,
    lr: 1e-2,
    warmup: 1000,
    seed,
  });
}

test('image training: the loss is bits/dim + λ·regularizers, evaluation in bits/dim on the test loader, samples in [0, 1]', async () => {
  const n0 = tf.memory().numTensors;
  const tr = imageTrainer();
  expect(tr.epochSize).toBe(3);
  expect(tr.options.nllUnit).toBe('bits-per-dim');
  expect(tr.options.evaluation.batchSize).toBe(200);
  const e = await tr.step();
  expect(e.nllUnit).toBe('bits-per-dim');
  expect(e.nll).toBeGreaterThan(0);
  expect(e.nll).toBeLessThan(30);
  expect(e.kineticEnergy).toBeGreaterThan(0);
  expect(e.jacobianNorm).toBeGreaterThan(0);
  expect(e.loss).toBeCloseTo(e.nll + 0.01 * (e.kineticEnergy! + e.jacobianNorm!), 4);
  expect(e.lr).toBeCloseTo(1e-2 / 1000, 10); // linear warm-up: lr·(itr+1)/1000
  expect(e.nfeForward).toBe(16);
  const ev = await tr.evaluate();
  expect(ev.samples).toBe(24);
  expect(ev.solves).toBe(2);
  expect(ev.nllUnit).toBe('bits-per-dim');
  expect(Number.isFinite(ev.nll)).toBe(true);
  const s = tr.sample(3);
  expect(s.shape).toEqual([3, 16]);
  const v = Array.from(s.dataSync());
  expect(v.every((p) => p >= 0 && p <= 1)).toBe(true);
  s.dispose();
  tr.dispose();
  expect(tf.memory().numTensors).toBe(n0);
});

test('image resume: the loader state is in the checkpoint; N + M straight equals N, restore, M', async () => {
  const run = async (n: number, ck?: Checkpoint) => {
    const tr = imageTrainer(3);
    if (ck) tr.restore(ck);
    const losses: number[] = [];
    for (let i = 0; i < n; i++) losses.push((await tr.step()).loss);
    return { tr, losses };
  };
  const straight = await run(5);
  const first = await run(2);
  const ck = JSON.parse(JSON.stringify(await first.tr.checkpoint())) as Checkpoint;
  expect(ck.loader).toEqual({ pos: 2 });
  const rest = await run(3, ck);
  expect([...first.losses, ...rest.losses]).toEqual(straight.losses);
  const bad = { ...ck } as Partial<Checkpoint>;
  delete bad.loader;
  expect(() => rest.tr.restore(bad)).toThrow(/loader state/);
  for (const t of [straight.tr, first.tr, rest.tr]) t.dispose();
});

test('train({ epochs, evalEvery: "epoch" }) runs epochs × batches per epoch and validates each epoch', async () => {
  const evals: number[] = [];
  const r = await train(
    {
      data: { kind: 'image', train: fakeLoader(40, 16, 'uniform'), test: fakeLoader(8, 8, 'center', 2) },
      model: { dim: 16, hidden: [8] },
      batchSize: 16,
      epochs: 2,
      evalEvery: 'epoch',
    },
    { onEvent: (e) => e.type === 'evaluation' && evals.push(e.iteration) },
  );
  expect(r.iteration).toBe(6);
  expect(evals).toEqual([3, 6]);
  r.trainer.dispose();
  await expect(train({ data: 'pinwheel', model: { dim: 2 }, epochs: 1 })).rejects.toThrow(/epochs/);
  await expect(train({ data: 'pinwheel', model: { dim: 2 }, iterations: 1, epochs: 1 })).rejects.toThrow(/one of/);
});
