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
