import * as tf from '@tensorflow/tfjs-core';
import { expect, test } from 'vitest';
import { createTrainer } from './trainer.js';
import { smallFlow } from './internal/test-flow.js';

// WebGPU in Node has no synchronous reads: a fixed-grid training step (forward, adjoint on the
// same grid, one async batched read) and an adaptive evaluation (forwardAsync) must work there.
test('webgpu: rk38 training steps, async evaluation and a checkpoint without synchronous reads', async () => {
  const n0 = tf.memory().numTensors;
  const tr = createTrainer({ flow: smallFlow(0, [8]), ownsFlow: true, data: '8gaussians', batchSize: 16, evaluation: { samples: 32 } });
  const e1 = await tr.step();
  const e2 = await tr.step();
  expect(Number.isFinite(e1.loss) && Number.isFinite(e2.loss)).toBe(true);
  expect(e2.nfeForward).toBe(16);
  const ev = await tr.evaluate();
  expect(Number.isFinite(ev.nll)).toBe(true);
  const ck = await tr.checkpoint();
  expect(ck.iteration).toBe(2);
  tr.dispose();
  expect(tf.memory().numTensors).toBe(n0);
}, 300_000);

// tfjs-backend-webgpu 4.22 drops a command buffer silently when an AddN has more inputs than the
// device's storage-buffer limit (the gradient norm over 15 parameters here): training then does
// nothing while every value stays finite. The webgpu losses and weights must equal the cpu ones.
test('webgpu: training updates the weights exactly as on cpu (3 rnode steps, 15 parameters)', async () => {
  const { currentBackend, useBackend } = await import('@rnode/core');
  const base = currentBackend()!; // webgpu (the cpu project runs this file too)
  const run = async () => {
    const tr = createTrainer({ flow: smallFlow(2, [8, 8]), ownsFlow: true, data: 'pinwheel', batchSize: 32, lr: 1e-2, seed: 4 });
    const losses: number[] = [];
    for (let i = 0; i < 3; i++) losses.push((await tr.step()).loss);
    const w = await Promise.all(tr.flow.params.map(async (p) => Array.from((await p.data()) as Float32Array)));
    tr.dispose();
    return { losses, w: w.flat() };
  };
  const gpu = await run();
  await useBackend('cpu');
  try {
    const cpu = await run();
    expect(gpu.losses[2]).not.toBe(gpu.losses[0]);
    gpu.losses.forEach((l, i) => expect(l).toBeCloseTo(cpu.losses[i]!, 4));
    const diff = Math.max(...gpu.w.map((v, i) => Math.abs(v - cpu.w[i]!)));
    expect(diff).toBeLessThan(1e-4);
  } finally {
    await useBackend(base);
  }
}, 300_000);

// An adaptive training solve (FFJORD's dopri5) reads its error norm every step: on WebGPU the
// trainer takes the asynchronous adjoint by itself. Two steps, the same NFE and losses as on cpu.
test('webgpu: ffjord (dopri5) training steps through the asynchronous adjoint, NFE equal to cpu', async () => {
  const { currentBackend, useBackend } = await import('@rnode/core');
  const base = currentBackend()!; // webgpu (the cpu project runs this file too)
  const run = async () => {
    const tr = createTrainer({ flow: smallFlow(1, [4]), ownsFlow: true, data: 'pinwheel', preset: 'ffjord', batchSize: 16, lr: 1e-2, seed: 2 });
    const events = [await tr.step(), await tr.step()];
    tr.dispose();
    return events;
  };
  const n0 = tf.memory().numTensors;
  const gpu = await run();
  expect(tf.memory().numTensors).toBe(n0);
  await useBackend('cpu');
  try {
    const cpu = await run();
    expect(gpu[0]!.nfeForward).toBeGreaterThan(8);
    gpu.forEach((e, i) => {
      expect([e.nfeForward, e.nfeBackward]).toEqual([cpu[i]!.nfeForward, cpu[i]!.nfeBackward]);
      expect(e.loss).toBeCloseTo(cpu[i]!.loss, 3);
    });
  } finally {
    await useBackend(base);
  }
}, 300_000);
