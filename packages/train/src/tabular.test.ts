import { Random } from '@rnode/core';
import { expect, test } from 'vitest';
import { createTrainer } from './trainer.js';
import { checkResume } from './testing/index.js';
import { smallFlow } from './internal/test-flow.js';

const matrix = (rows: number, seed: number) => {
  const rng = new Random(seed);
  return { data: rng.normalArray(rows * 2), rows, cols: 2 };
};

test('tabular data: shuffled epochs (partial last batch), validation split, exact resume mid-epoch', async () => {
  const train = matrix(40, 1);
  const validation = matrix(20, 2);
  const make = () =>
    createTrainer({
      flow: smallFlow(9, [4]),
      ownsFlow: true,
      data: { train, validation },
      batchSize: 16, // 16 + 16 + 8 per epoch
      preset: 'ffjord',
      solver: 'rk38',
      lr: 1e-2,
      clip: 0.5,
      seed: 4,
      evaluation: { solver: 'rk38', stepSize: 0.25 },
    });
  const r = await checkResume(make, { n: 4, m: 3 }); // the checkpoint falls inside the 2nd epoch
  expect(r.resumed).toEqual(r.straight);
  expect(r.maxParamDiff).toBe(0);
  expect(r.leaked).toBe(0);

  const tr = make();
  const ev = await tr.evaluate();
  expect(ev.samples).toBe(20);
  expect(Number.isFinite(ev.nll)).toBe(true);
  const e = await tr.step();
  expect(e.regularizers).toEqual({});
  expect(e.kineticEnergy).toBeUndefined();
  expect(e.gradNorm).toBeGreaterThan(0);
  expect(e.clipped).toBe(e.gradNorm > 0.5);
  tr.dispose();
});

test('a tabular source with the wrong width is rejected naming the split', () => {
  const flow = smallFlow(0, [4]);
  expect(() => createTrainer({ flow, data: { train: { data: new Float32Array(9), rows: 3, cols: 3 } } })).toThrow(/data\.train/);
  flow.dispose();
});
