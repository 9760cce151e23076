import * as tf from '@tensorflow/tfjs-core';
import { Random } from '@rnode/core';
import { createFlow, loadModel, type Flow, type ModelFile } from '@rnode/models';
import { describe, expect, test } from 'vitest';
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { createTrainer } from './trainer.js';
import { resolveTraining } from './config.js';
import { computeShard, shardRandom, shardRanges, type ParallelGradients, type ParallelSetup } from './internal/sharding.js';
import { createWorkerGradients } from './node/parallel.js';
import { smallFlow } from './internal/test-flow.js';

test('shardRanges splits rows contiguously and evenly', () => {
  expect(shardRanges(10, 3)).toEqual([
    [0, 4],
    [4, 7],
    [7, 10],
  ]);
  expect(shardRanges(512, 2)).toEqual([
    [0, 256],
    [256, 512],
  ]);
  expect(shardRanges(1, 2)).toEqual([[0, 1]]);
});

test('shardRandom draws exactly the shard rows of the whole-batch draw and advances the stream the same', () => {
  const base = new Random('shard');
  const state = base.getState();
  const full = base.normal([10, 3]);
  const fullRad = base.rademacher([10, 3]);
  const after = base.getState();
  const r = shardRandom(state, 4, 7, 10);
  const part = r.normal([3, 3]);
  const partRad = r.rademacher([3, 3]);
  expect(Array.from(part.dataSync())).toEqual(Array.from(full.dataSync().slice(12, 21)));
  expect(Array.from(partRad.dataSync())).toEqual(Array.from(fullRad.dataSync().slice(12, 21)));
  expect(r.getState()).toEqual(after);
  expect(() => r.normal([4, 3])).toThrow(/shard of 3 rows/);
  tf.dispose([full, fullRad, part, partRad]);
});

/** Shards computed in this process on a second copy of the flow: the combination logic without threads. */
function inProcess(threads: number): ParallelGradients & { copy: Flow | null } {
  let cfg: ReturnType<typeof resolveTraining> | null = null;
  let image: ParallelSetup['image'] = null;
  const self = {
    threads,
    copy: null as Flow | null,
    async init(setup: ParallelSetup) {
      self.copy = loadModel(setup.model as ModelFile);
      cfg = resolveTraining(setup.training, 'test');
      image = setup.image;
    },
    async run(jobs: Parameters<ParallelGradients['run']>[0]) {
      return jobs.map((job) => {
        self.copy!.params.forEach((p, i) => tf.tidy(() => p.assign(tf.tensor(job.weights[i]!, p.shape))));
        return computeShard(self.copy!, cfg!, job, job.x.length / job.rows, image);
      });
    },
    async dispose() {
      self.copy?.dispose();
    },
  };
  return self;
}

async function trainWeights(parallel: ParallelGradients | undefined, iterations: number, opts: Record<string, unknown> = {}) {
  const tr = createTrainer({
    flow: smallFlow(3, [16, 16]),
    ownsFlow: true,
    data: 'pinwheel',
    preset: 'rnode',
    batchSize: 64,
    lr: 1e-2,
    seed: 5,
    ...opts,
    ...(parallel ? { parallel } : {}),
  });
  const events = [];
  for (let i = 0; i < iterations; i++) events.push(await tr.step());
  const w = tr.flow.params.map((p) => Float32Array.from(p.dataSync()));
  tr.dispose();
  return { w, events };
}

function maxRelDiff(a: Float32Array[], b: Float32Array[]): number {
  let num = 0;
  let den = 0;
  a.forEach((x, i) => {
    const y = b[i]!;
    for (let j = 0; j < x.length; j++) {
      num = Math.max(num, Math.abs(x[j]! - y[j]!));
      den = Math.max(den, Math.abs(y[j]!));
    }
  });
  return num / den;
}

describe('data-parallel steps', () => {
  test('2 and 3 shards train the same weights as one process (5 rnode iterations, float32 rounding), no leaks', async () => {
    const n0 = tf.memory().numTensors;
    const one = await trainWeights(undefined, 5);
    for (const threads of [2, 3]) {
      const p = inProcess(threads);
      const many = await trainWeights(p, 5);
      await p.dispose();
      const d = maxRelDiff(many.w, one.w);
      console.log(`[parallel] ${threads} shards vs 1: max |Δw| / max |w| = ${d.toExponential(2)}`);
      expect(d).toBeLessThan(2e-5);
      expect(d).toBeGreaterThanOrEqual(0);
      many.events.forEach((e, i) => {
        expect(e.loss).toBeCloseTo(one.events[i]!.loss, 4);
        expect(e.nfeForward).toBe(16);
      });
    }
    expect(tf.memory().numTensors).toBe(n0);
  });

  test('image data (logit transform, bits/dim): 2 shards train the same weights and losses as one process', async () => {
    // A 4×4 "image" set through the image path: the shards need the logit log-det rows and the
    // trainer's resolved unit (bits/dim), which image data makes the default.
    const images = (seed: number) => {
      const n = 32;
      const dim = 16;
      const r = new Random(`img:${seed}`);
      let pos = 0;
      return {
        dim,
        count: n,
        batchesPerEpoch: 2,
        async next() {
          const size = 16;
          const data = new Float32Array(size * dim);
          for (let i = 0; i < data.length; i++) data[i] = (Math.floor(r.nextFloat() * 256) + r.nextFloat()) / 256;
          pos++;
          return { data, size, dim };
        },
        state: () => ({ pos }),
        restore() {},
      };
    };
    const run = async (parallel?: ParallelGradients) => {
      const tr = createTrainer({
        flow: createFlow({ dim: 16, hidden: [16], layer: 'concatsquash', activation: 'tanh', zeroLast: 'none' }, new Random(1)),
        ownsFlow: true,
        data: { kind: 'image', train: images(3) as never, alpha: 1e-5 },
        batchSize: 16,
        lr: 1e-2,
        seed: 2,
        ...(parallel ? { parallel } : {}),
      });
      const losses: number[] = [];
      for (let i = 0; i < 3; i++) losses.push((await tr.step()).loss);
      const w = tr.flow.params.map((p) => Float32Array.from(p.dataSync()));
      tr.dispose();
      return { losses, w };
    };
    const one = await run();
    const p = inProcess(2);
    const two = await run(p);
    await p.dispose();
    expect(one.losses[0]).toBeLessThan(40); // bits/dim, not nats
    two.losses.forEach((l, i) => expect(l).toBeCloseTo(one.losses[i]!, 4));
    expect(maxRelDiff(two.w, one.w)).toBeLessThan(2e-5);
  });

  const worker = fileURLToPath(new URL('../dist/node/worker.js', import.meta.url));
  test('worker threads (createWorkerGradients, threads 2) give the single-process weights', async () => {
    // A worker thread loads the built file, never the source: without a build this test fails
    // and says why, it is not skipped (scripts/test-all.sh builds before testing).
    if (!existsSync(worker)) throw new Error(`${worker} is missing: build first (pnpm --filter @rnode/train build, or pnpm build)`);
    const one = await trainWeights(undefined, 3);
    const p = createWorkerGradients({ threads: 2 });
    try {
      const two = await trainWeights(p, 3);
      const d = maxRelDiff(two.w, one.w);
      console.log(`[parallel] worker thread vs 1 process: max |Δw| / max |w| = ${d.toExponential(2)}`);
      expect(d).toBeLessThan(2e-5);
    } finally {
      await p.dispose();
    }
  });

  test('plugins given as objects cannot go to workers: a clear error', async () => {
    const { kineticEnergy } = await import('@rnode/estimators');
    const p = createWorkerGradients({ threads: 2 });
    const tr = createTrainer({
      flow: smallFlow(3, [4]),
      ownsFlow: true,
      data: 'pinwheel',
      batchSize: 16,
      regularizers: [{ use: kineticEnergy({ reduction: 'sum', name: 'ke-sum' }), weight: 0.01 }],
      parallel: p,
    });
    await expect(tr.step()).rejects.toThrow(/registered name/);
    tr.dispose();
    await p.dispose();
  });
});
