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
