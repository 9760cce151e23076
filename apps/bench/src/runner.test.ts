// The iteration runners in-process on this project's backend: NFE of the spec solvers, and the
// async-adjoint runner (WebGPU's) reproducing the trainer's iterations.
import * as tf from '@tensorflow/tfjs-core';
import { createImageFlow } from '@rnode/models';
import { Random } from '@rnode/core';
import { describe, expect, test } from 'vitest';
import { checkWorkers, createToyTraining, type ToyPreset } from './runner.js';
import { CIFAR_PARAMS, MNIST_PARAMS } from './workloads/image-iter.js';

async function iterate(preset: ToyPreset, runner: 'trainer' | 'async-adjoint', n: number, workers = 1) {
  const t = createToyTraining({ preset, batch: 16, seed: 0, workers, syncRead: true, runner });
  try {
    const out = [];
    for (let i = 0; i < n; i++) out.push(await t.run({ iteration: i }));
    return out;
  } finally {
    t.dispose();
  }
}

describe('toy2d runners', () => {
  test('rnode: 16 forward and 16 backward evaluations per iteration (rk38, 4 steps of 0.25)', async () => {
    const n0 = tf.memory().numTensors;
    const r = await iterate('rnode', 'trainer', 2);
    expect(r.map((x) => [x.nfeForward, x.nfeBackward])).toEqual([[16, 16], [16, 16]]);
    expect(tf.memory().numTensors).toBe(n0);
  });

  test.each(['ffjord', 'rnode'] as const)('%s: the async-adjoint runner reproduces the trainer (losses, NFE), no leaks', async (preset) => {
    const n0 = tf.memory().numTensors;
    const a = await iterate(preset, 'trainer', 2);
    const b = await iterate(preset, 'async-adjoint', 2);
    expect(tf.memory().numTensors).toBe(n0);
    for (let i = 0; i < 2; i++) {
      expect(b[i]!.loss).toBeCloseTo(a[i]!.loss, 3);
      expect(b[i]!.nfeForward).toBe(a[i]!.nfeForward);
      // adaptive backward solves: float32 differences between the tape and explicit VJP paths may
      // flip one step's acceptance (one dopri5 step = 6 evaluations); fixed grids match exactly
      if (preset === 'rnode') expect(b[i]!.nfeBackward).toBe(a[i]!.nfeBackward);
      else expect(Math.abs(b[i]!.nfeBackward - a[i]!.nfeBackward)).toBeLessThanOrEqual(6);
    }
    if (preset === 'ffjord') expect(a[0]!.nfeBackward).toBeGreaterThan(0);
  });

  test('rnode with --workers 2 (a worker thread computes half the batch) trains as one thread', async () => {
    const a = await iterate('rnode', 'trainer', 3, 1);
    const b = await iterate('rnode', 'trainer', 3, 2);
    for (let i = 0; i < 3; i++) {
      expect(b[i]!.loss).toBeCloseTo(a[i]!.loss, 5);
      expect(b[i]!.nfeForward).toBe(16);
    }
  });

  test('--workers must be an integer in [1, 64]', () => {
    expect(() => checkWorkers(1)).not.toThrow();
    expect(() => checkWorkers(2)).not.toThrow();
    expect(() => checkWorkers(0)).toThrow(/\[1, 64\]/);
    expect(() => checkWorkers(1.5)).toThrow(/\[1, 64\]/);
  });
});

test("mnist-iter's spec model is the library's default image flow: 10 blocks, 800,636 parameters", () => {
  const n0 = tf.memory().numTensors;
  const flow = createImageFlow({ height: 28, width: 28, channels: 1 }, new Random('0:model'));
  try {
    expect(flow.paramCount).toBe(MNIST_PARAMS);
    expect(flow.blocks.length).toBe(10);
    expect(flow.config).toMatchObject({ scales: 3, blocksPerScale: 2, hidden: [64, 64, 64], activation: 'softplus', zeroLast: 'weight', T: 1, trainT: false });
  } finally {
    flow.dispose();
  }
  expect(tf.memory().numTensors).toBe(n0);
});

test("cifar-iter's spec model is the library's default 32×32×3 image flow: 14 blocks, 1,358,868 parameters", () => {
  const n0 = tf.memory().numTensors;
  const flow = createImageFlow({ height: 32, width: 32, channels: 3 }, new Random('0:model'));
  try {
    expect(flow.paramCount).toBe(CIFAR_PARAMS);
    expect(flow.blocks.length).toBe(14);
    expect(flow.config).toMatchObject({ scales: 4, blocksPerScale: 2, hidden: [64, 64, 64], activation: 'softplus', zeroLast: 'weight', T: 1, trainT: false });
  } finally {
    flow.dispose();
  }
  expect(tf.memory().numTensors).toBe(n0);
});
