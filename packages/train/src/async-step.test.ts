import * as tf from '@tensorflow/tfjs-core';
import { expect, test } from 'vitest';
import { createAsyncAdjointTrainer } from './async-step.js';
import { smallFlow } from './internal/test-flow.js';
import { createTrainer } from './trainer.js';

test('createAsyncAdjointTrainer reproduces createTrainer (rnode preset: losses, NFE, weights), no leaks', async () => {
  const opts = { data: 'pinwheel' as const, preset: 'rnode' as const, batchSize: 16, seed: 3, reduction: 'sum' as const };
  const a = smallFlow(1, [8]);
  const b = smallFlow(1, [8]);
  const n0 = tf.memory().numTensors;
  const sync = createTrainer({ ...opts, flow: a });
  const asyncT = createAsyncAdjointTrainer({ ...opts, flow: b });
  try {
    for (let i = 0; i < 2; i++) {
      const s = await sync.step();
      const r = await asyncT.step();
      expect(r.loss).toBeCloseTo(s.loss, 3);
      expect([r.nfeForward, r.nfeBackward]).toEqual([s.nfeForward, s.nfeBackward]);
      expect(r.nfeForward).toBe(16); // rk38, 4 steps of 0.25
    }
    expect(asyncT.iteration).toBe(2);
    const wa = (await a.params[0]!.data()) as Float32Array;
    const wb = (await b.params[0]!.data()) as Float32Array;
    wa.forEach((v, i) => expect(wb[i]).toBeCloseTo(v, 4));
    expect(() => createAsyncAdjointTrainer({ ...opts, flow: b, clip: 1 })).toThrow(/clip/);
  } finally {
    sync.dispose();
    asyncT.dispose();
  }
  expect(tf.memory().numTensors).toBe(n0);
  a.dispose();
  b.dispose();
});

// createTrainer on a backend that declares `syncRead: false` (the active backend re-declared so,
// as WebGPU is): an adaptive training solve cannot read the error norm on the host, so the step
// takes the asynchronous adjoint by itself. Same numbers as the synchronous step on the same
// kernels: NFE exact, losses, gradient norms and weights to float32 rounding.
test('createTrainer without synchronous reads: dopri5 (ffjord preset, 2 blocks) trains through the async adjoint with the sync path\'s numbers', async () => {
  const { createFlow } = await import('@rnode/models');
  const { Random, currentBackend, useBackend, isRnodeError } = await import('@rnode/core');
  const base = currentBackend()!;
  const run = async () => {
    const flow = createFlow({ dim: 2, blocks: 2, hidden: [8], layer: 'concatsquash', activation: 'tanh', zeroLast: 'none' }, new Random(7));
    const tr = createTrainer({ flow, ownsFlow: true, data: 'pinwheel', preset: 'ffjord', batchSize: 32, lr: 1e-2, seed: 5 });
    const events = [];
    for (let i = 0; i < 3; i++) events.push(await tr.step());
    const w = (await Promise.all(flow.params.map((p) => p.data()))).flatMap((a) => Array.from(a as Float32Array));
    tr.dispose();
    return { events, w };
  };
  const sync = await run();
  const n0 = tf.memory().numTensors;
  await useBackend({ ...base, name: `${base.name}-no-sync-read`, syncRead: false });
  try {
    const noSync = await run();
    expect(tf.memory().numTensors).toBe(n0);
    // The synchronous path really is refused here: backprop through dopri5 has no async route.
    const flow = smallFlow(0, [4]);
    const tr = createTrainer({ flow, ownsFlow: true, data: 'pinwheel', preset: 'ffjord', adjoint: 'backprop', batchSize: 8 });
    await expect(tr.step()).rejects.toSatisfy((e) => isRnodeError(e, 'SYNC_READ_UNAVAILABLE'));
    tr.dispose();
    expect(sync.events[0]!.nfeForward).toBeGreaterThan(2 * 8); // adaptive: more than a few steps per block
    sync.events.forEach((s, i) => {
      const a = noSync.events[i]!;
      expect([a.nfeForward, a.nfeBackward], `NFE, iteration ${i + 1}`).toEqual([s.nfeForward, s.nfeBackward]);
      expect(a.loss).toBeCloseTo(s.loss, 4);
      expect(a.nll).toBeCloseTo(s.nll, 4);
      expect(a.gradNorm).toBeCloseTo(s.gradNorm, 3);
    });
    expect(sync.events[2]!.loss).not.toBe(sync.events[0]!.loss);
    const diff = Math.max(...sync.w.map((v, i) => Math.abs(v - noSync.w[i]!)));
    expect(diff).toBeLessThan(1e-5);
  } finally {
    await useBackend(base);
  }
});
