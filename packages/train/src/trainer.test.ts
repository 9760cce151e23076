import * as tf from '@tensorflow/tfjs-core';
import { isRnodeError } from '@rnode/core';
import { expect, test, vi } from 'vitest';
import { createTrainer } from './trainer.js';
import { train } from './train.js';
import type { Checkpoint } from './checkpoint.js';
import type { TrainerEvent } from './events.js';
import { smallFlow } from './internal/test-flow.js';

test('options are validated once: an unknown key is an error naming it', () => {
  const flow = smallFlow(0, [4]);
  expect(() => createTrainer({ flow, data: '8gaussians', learningRate: 1 } as never)).toThrow(/"learningRate"/);
  expect(() => createTrainer({ flow, data: '8gaussians', evaluation: { tol: 1 } } as never)).toThrow(/"tol"/);
  expect(() => createTrainer({ flow, data: '8gaussians', preset: 'nope' as never })).toThrow(/unknown preset/);
  expect(() => createTrainer({ flow, data: '8gaussians', batchSize: 0 })).toThrow(/batchSize/);
  expect(() => createTrainer({ flow, data: 'nope' as never })).toThrow();
  flow.dispose();
});

test('training on 8gaussians lowers the test NLL by ≥ 0.3 nats (rnode preset, batch 128)', async () => {
  const n0 = tf.memory().numTensors;
  const events: TrainerEvent[] = [];
  const tr = createTrainer({
    flow: smallFlow(0, [16, 16]),
    ownsFlow: true,
    data: '8gaussians',
    preset: 'rnode',
    reduction: 'sum',
    batchSize: 128,
    lr: 1e-2,
    seed: 0,
    evaluation: { samples: 500 },
    onEvent: (e) => events.push(e),
  });
  const before = await tr.evaluate();
  for (let i = 0; i < 60; i++) await tr.step();
  const after = await tr.evaluate();
  const its = events.filter((e) => e.type === 'iteration');
  expect(its).toHaveLength(60);
  const first = its[0]!;
  expect(first.nfeForward).toBe(16);
  expect(first.nfeBackward).toBeGreaterThanOrEqual(16);
  expect(first.kineticEnergy).toBeGreaterThan(0);
  expect(first.jacobianNorm).toBeGreaterThan(0);
  expect(first.loss).toBeCloseTo(first.nll + 0.01 * (first.kineticEnergy! + first.jacobianNorm!), 4);
  expect(after.nfe).toBeGreaterThan(0);
  console.log(`[train] test NLL ${before.nll.toFixed(3)} → ${after.nll.toFixed(3)} nats (eval NFE ${after.nfe}), ${(tr.elapsed / 60).toFixed(3)} s/it`);
  expect(before.nll - after.nll).toBeGreaterThanOrEqual(0.3);
  const s = tr.sample(10);
  expect(s.shape).toEqual([10, 2]);
  expect(Array.from(s.dataSync()).every(Number.isFinite)).toBe(true);
  s.dispose();
  tr.dispose();
  expect(tf.memory().numTensors).toBe(n0);
});

async function runLosses(n: number, fn?: (tr: ReturnType<typeof createTrainer>) => Promise<void>) {
  const tr = createTrainer({ flow: smallFlow(7, [8]), ownsFlow: true, data: 'pinwheel', batchSize: 32, lr: 5e-3, warmup: 3, weightDecay: 1e-4, clip: 5, seed: 11 });
  await fn?.(tr);
  const losses: number[] = [];
  for (let i = 0; i < n; i++) losses.push((await tr.step()).loss);
  return { tr, losses };
}

test('resume: N + M straight equals N, checkpoint (through JSON), restore into a fresh trainer, M more', async () => {
  const n0 = tf.memory().numTensors;
  const N = 3;
  const M = 3;
  const straight = await runLosses(N + M);
  const firstPart = await runLosses(N);
  const ckpt = JSON.parse(JSON.stringify(await firstPart.tr.checkpoint())) as Checkpoint;
  expect(ckpt.iteration).toBe(N);
  expect(ckpt.model.format).toBe('rnode-model');
  firstPart.tr.dispose();
  const resumed = await runLosses(M, async (tr) => tr.restore(ckpt));
  expect([...firstPart.losses, ...resumed.losses]).toEqual(straight.losses);
  expect(resumed.tr.iteration).toBe(N + M);
  const pa = straight.tr.flow.params.map((p) => Array.from(p.dataSync()));
  const pb = resumed.tr.flow.params.map((p) => Array.from(p.dataSync()));
  expect(pb).toEqual(pa);
  straight.tr.dispose();
  resumed.tr.dispose();
  expect(tf.memory().numTensors).toBe(n0);
});

test('a restore with the wrong shapes is INVALID_CHECKPOINT and changes nothing', async () => {
  const a = createTrainer({ flow: smallFlow(1, [8]), ownsFlow: true, data: '8gaussians', batchSize: 8 });
  const b = createTrainer({ flow: smallFlow(1, [4]), ownsFlow: true, data: '8gaussians', batchSize: 8 });
  const ck = await a.checkpoint();
  const before = b.flow.params.map((p) => Array.from(p.dataSync()));
  expect(() => b.restore(ck, 'file:x.json')).toThrow(/x\.json.*shape|shape/);
  try {
    b.restore(ck);
  } catch (e) {
    expect(isRnodeError(e, 'INVALID_CHECKPOINT')).toBe(true);
  }
  expect(b.flow.params.map((p) => Array.from(p.dataSync()))).toEqual(before);
  expect(() => b.restore({ ...ck, format: 'other' })).toThrow(/format/);
  a.dispose();
  b.dispose();
});

test('a poisoned parameter stops the run with NON_FINITE naming the iteration; parameters are not updated', async () => {
  const n0 = tf.memory().numTensors;
  const tr = createTrainer({ flow: smallFlow(2, [8]), ownsFlow: true, data: '8gaussians', batchSize: 16 });
  await tr.step();
  await tr.step();
  const p = tr.flow.params[0]!;
  tf.tidy(() => p.assign(tf.fill(p.shape, NaN)));
  const others = tr.flow.params.slice(1).map((q) => Array.from(q.dataSync()));
  const err = await tr.step().catch((e: unknown) => e);
  expect(isRnodeError(err, 'NON_FINITE')).toBe(true);
  expect((err as Error).message).toMatch(/iteration 3/);
  expect(tr.iteration).toBe(2);
  expect(tr.flow.params.slice(1).map((q) => Array.from(q.dataSync()))).toEqual(others);
  tr.dispose();
  expect(tf.memory().numTensors).toBe(n0);
});

test('NaN injected mid-run: NON_FINITE names the iteration, no checkpoint of a bad state is written', async () => {
  const saved: Checkpoint[] = [];
  const store = { save: async (_k: 'last' | 'best', c: Checkpoint) => (saved.push(c), undefined) };
  const flow = smallFlow(3, [8]);
  const err = await train(
    { model: flow, data: '8gaussians', iterations: 10, batchSize: 16, checkpointEvery: 1 },
    {
      store,
      onEvent: (e) => {
        // a parameter goes bad after the 2nd checkpoint (as a blown-up update would)
        if (e.type === 'checkpoint' && e.iteration === 2) tf.tidy(() => flow.params[1]!.assign(tf.fill(flow.params[1]!.shape, NaN)));
      },
    },
  ).catch((e: unknown) => e);
  expect(isRnodeError(err, 'NON_FINITE')).toBe(true);
  expect((err as Error).message).toMatch(/iteration 3\b/);
  expect((err as { details?: { iteration?: number } }).details?.iteration).toBe(3);
  expect(saved.map((c) => c.iteration)).toEqual([1, 2]);
  flow.dispose();
});

test('early stopping: patience counted in evaluations, best kept', async () => {
  const events: TrainerEvent[] = [];
  const res = await train(
    {
      model: { dim: 2, hidden: [4], layer: 'concatsquash', activation: 'tanh' },
      data: '8gaussians',
      iterations: 100,
      batchSize: 8,
      lr: 0, // nothing improves after the first evaluation
      evalEvery: 2,
      evalSamples: 64,
      evaluation: { solver: 'rk38', stepSize: 0.5 },
      patience: 2,
    },
    { onEvent: (e) => events.push(e) },
  );
  expect(res.reason).toBe('early-stop');
  expect(res.iteration).toBe(6);
  const evals = events.filter((e) => e.type === 'evaluation');
  expect(evals.map((e) => e.improved)).toEqual([true, false, false]);
  expect(evals[2]!.stop).toBe(true);
  expect(res.bestIteration).toBe(2);
  expect(events.at(-1)).toMatchObject({ type: 'done', reason: 'early-stop', iteration: 6 });
  expect(res.trainer.restoreBest()).toBe(true);
  res.trainer.dispose();
});

test('no tensor leak over 1,000 iterations (batch 16, rk4 step 0.5)', async () => {
  const n0 = tf.memory().numTensors;
  const tr = createTrainer({ flow: smallFlow(4, [4]), ownsFlow: true, data: '8gaussians', batchSize: 16, solver: 'rk4', stepSize: 0.5 });
  await tr.step();
  const n1 = tf.memory().numTensors;
  const t0 = performance.now();
  for (let i = 1; i < 1000; i++) await tr.step();
  console.log(`[leak] 1000 iterations in ${((performance.now() - t0) / 1000).toFixed(1)} s`);
  expect(tf.memory().numTensors).toBe(n1);
  tr.dispose();
  expect(tf.memory().numTensors).toBe(n0);
}, 120_000);

test("a checkpoint's model is a @rnode/models file: loadModel rebuilds the trained flow", async () => {
  const { loadModel } = await import('@rnode/models');
  const tr = createTrainer({ flow: smallFlow(6, [4]), ownsFlow: true, data: '8gaussians', batchSize: 8 });
  await tr.step();
  const ck = await tr.checkpoint();
  const loaded = loadModel(JSON.parse(JSON.stringify(ck.model)));
  expect(loaded.params.map((p) => Array.from(p.dataSync()))).toEqual(tr.flow.params.map((p) => Array.from(p.dataSync())));
  loaded.dispose();
  tr.dispose();
});

test('an aborted run stops between iterations, saves its last checkpoint and reports reason "aborted"', async () => {
  const ac = new AbortController();
  const saved: number[] = [];
  const res = await train(
    { model: smallFlow(8, [4]), data: '8gaussians', iterations: 50, batchSize: 8, nllUnit: 'bits-per-dim' },
    {
      signal: ac.signal,
      store: { save: async (_k, c) => (saved.push(c.iteration), undefined) },
      onEvent: (e) => {
        if (e.type === 'iteration') {
          expect(e.nllUnit).toBe('bits-per-dim');
          if (e.iteration === 3) ac.abort();
        }
      },
    },
  );
  expect(res.reason).toBe('aborted');
  expect(res.iteration).toBe(3);
  expect(saved).toEqual([3]);
  res.trainer.dispose();
  res.trainer.flow.dispose?.();
});

test('checkpointMinutes saves the last checkpoint on wall-clock time, independent of the iteration cadence', async () => {
  vi.useFakeTimers({ toFake: ['performance'] });
  try {
    const saved: Array<[number, string | undefined]> = [];
    const res = await train(
      { model: smallFlow(9, [4]), data: '8gaussians', iterations: 7, batchSize: 8, checkpointMinutes: 1 },
      {
        store: { save: async (_k, c) => (saved.push([c.iteration, undefined]), undefined) },
        onEvent: (e) => {
          if (e.type === 'iteration') vi.advanceTimersByTime(25_000); // each iteration "takes" 25 s
          if (e.type === 'checkpoint') saved[saved.length - 1]![1] = e.trigger;
        },
      },
    );
    // 25, 50, 75 s → save at 3; then again 75 s later at 6; the end at 7
    expect(saved).toEqual([[3, 'minutes'], [6, 'minutes'], [7, 'end']]);
    res.trainer.dispose();
    res.trainer.flow.dispose?.();
  } finally {
    vi.useRealTimers();
  }
});

test('checkpointEvery "epoch" saves once per pass over tabular data; a sampler has no epochs', async () => {
  const rows = 40;
  const m = { data: new Float32Array(rows * 2).map((_, i) => Math.sin(i * 1.7)), rows, cols: 2 };
  const saved: Array<[number, string | undefined]> = [];
  const res = await train(
    { model: smallFlow(10, [4]), data: { train: m }, iterations: 7, batchSize: 16, checkpointEvery: 'epoch' },
    {
      store: { save: async () => undefined },
      onEvent: (e) => {
        if (e.type === 'checkpoint') saved.push([e.iteration, e.trigger]);
      },
    },
  );
  expect(res.trainer.epochSize).toBe(3); // ⌈40 / 16⌉
  expect(saved).toEqual([[3, 'iterations'], [6, 'iterations'], [7, 'end']]);
  res.trainer.dispose();
  res.trainer.flow.dispose?.();
  const flow = smallFlow(11, [4]);
  await expect(train({ model: flow, data: '8gaussians', iterations: 2, checkpointEvery: 'epoch' })).rejects.toThrow(/checkpointEvery "epoch" needs tabular/);
  await expect(train({ model: flow, data: '8gaussians', iterations: 2, checkpointMinutes: -1 })).rejects.toThrow(/checkpointMinutes/);
  flow.dispose();
});

test('an abort from outside (a timer, a signal handler) is seen: the loop yields to the event loop between iterations', async () => {
  const ac = new AbortController();
  const res = await train(
    { model: smallFlow(12, [4]), data: '8gaussians', iterations: 200, batchSize: 8 },
    {
      signal: ac.signal,
      onEvent: (e) => {
        if (e.type === 'iteration' && e.iteration === 2) setTimeout(() => ac.abort(), 0); // a macrotask, as a SIGINT handler is
      },
    },
  );
  expect(res.reason).toBe('aborted');
  expect(res.iteration).toBeLessThan(10); // without the yield: all 200 (the steps' awaits are microtasks on cpu/wasm)
  res.trainer.dispose();
  res.trainer.flow.dispose?.();
});

test('monitor: a regularizer with λ = 0 is reported each iteration and changes neither the loss nor the parameters (fixed grid)', async () => {
  const n0 = tf.memory().numTensors;
  const run = async (monitor?: Array<'kinetic-energy' | 'jacobian-frobenius'>) => {
    const events: TrainerEvent[] = [];
    const tr = createTrainer({
      flow: smallFlow(7, [8]),
      ownsFlow: true,
      data: 'pinwheel',
      batchSize: 32,
      seed: 3,
      regularizers: { 'kinetic-energy': 0, 'jacobian-frobenius': 0 },
      ...(monitor ? { monitor } : {}),
      onEvent: (e) => events.push(e),
    });
    for (let i = 0; i < 4; i++) await tr.step();
    const params = tr.flow.params.map((p) => Array.from(p.dataSync()));
    tr.dispose();
    return { its: events.filter((e) => e.type === 'iteration'), params };
  };
  const plain = await run();
  const watched = await run(['jacobian-frobenius', 'kinetic-energy']);
  expect(plain.its.every((e) => Object.keys(e.regularizers).length === 0)).toBe(true);
  expect(watched.its.map((e) => e.loss)).toEqual(plain.its.map((e) => e.loss));
  expect(watched.params).toEqual(plain.params);
  // Reported: positive after the first update (the last layer starts at zero, so ‖J‖ is 0 at first).
  const last = watched.its.at(-1)!;
  expect(last.kineticEnergy).toBeGreaterThan(0);
  expect(last.jacobianNorm).toBeGreaterThan(0);
  expect(last.loss).toBe(last.nll);
  expect(tf.memory().numTensors).toBe(n0);
});

test('monitor: an unknown regularizer name is an error naming it', () => {
  expect(() =>
    createTrainer({ flow: smallFlow(7, [8]), ownsFlow: true, data: 'pinwheel', monitor: ['jacobian-frobenius', 'kinetic' as 'kinetic-energy'] }),
  ).toThrow(/kinetic/);
});
