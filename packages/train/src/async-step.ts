import * as tf from '@tensorflow/tfjs-core';
import * as z from 'zod/mini';
import { Random, RnodeError, parseOptions, type KnownNames } from '@rnode/core';
import { odeintAdjointAsync, type AsyncAdjointSolution } from '@rnode/adjoint';
import { resolveDataset } from '@rnode/data';
import { cnfDynamics, type CnfState } from '@rnode/estimators';
import type { Flow } from '@rnode/models';
import { Adam, warmupLr } from './adam.js';
import { resolveTraining, trainingOptionsSchema, type ResolvedTraining, type Sampler } from './config.js';
import { rnodeObjective } from './objective.js';
import type { BatchGradients } from './internal/sharding.js';

/** What one asynchronous training iteration reports. */
export interface AsyncStepResult {
  /** The objective of the batch (mean NLL in nats + Σ λ·mean(regularizer)). */
  loss: number;
  nfeForward: number;
  nfeBackward: number;
}

export interface AsyncAdjointTrainer {
  readonly options: ResolvedTraining;
  readonly optimizer: Adam;
  /** Iterations completed. */
  readonly iteration: number;
  /** One iteration: fresh batch, forward solves, objective, backward solves, Adam update. */
  step(): Promise<AsyncStepResult>;
  /** Frees the optimizer (the flow stays the caller's). */
  dispose(): void;
}

export const asyncAdjointTrainerOptionsSchema = z.extend(trainingOptionsSchema, {
  /** A flow of `@rnode/models` (its blocks are solved one by one). */
  flow: z.custom<Flow>(),
  /** A sampler `(n, rng) => Float32Array` or a registered dataset's name (fresh points per batch). */
  data: z.custom<Sampler | KnownNames['dataset']>(),
});
export type AsyncAdjointTrainerOptions = z.input<typeof asyncAdjointTrainerOptionsSchema>;

/** A flow the asynchronous adjoint can walk: its blocks in order, each solved over [0, span] (a 2-D `Flow` of `@rnode/models`). */
export type BlockFlow = Pick<Flow, 'blocks' | 'params'>;

/** Whether `flow` exposes the blocks the asynchronous adjoint walks (a 2-D `Flow` of `@rnode/models`). */
export function isBlockFlow(flow: unknown): flow is BlockFlow {
  const b = (flow as { blocks?: unknown }).blocks;
  return Array.isArray(b) && b.length > 0 && b.every((k) => typeof k?.field === 'function' && typeof k?.span === 'number' && Array.isArray(k?.params));
}

/**
 * The objective of one batch and its gradients without synchronous reads — what
 * `batchGradients` computes with one `tf.variableGrads` through the synchronous adjoint, for
 * backends that cannot read synchronously (WebGPU): the forward solves with `odeintAdjointAsync`
 * block by block (one probe per block from `noiseRng`, fixed over the solve, as the synchronous
 * walk draws them), the objective's gradient with respect to the final state, the backward solves
 * in reverse block order. Continuous adjoint ('backsolve') only; sampled and tabular data (not
 * images). `x` stays the caller's; the result's tensors are the caller's.
 */
export async function adjointGradientsAsync(flow: BlockFlow, cfg: ResolvedTraining, x: tf.Tensor, noiseRng: Random): Promise<BatchGradients> {
  const n = x.shape[0]!;
  const regs = cfg.regularizers.map((r) => r.plugin);
  const regSpecs = cfg.regularizers.map((r) => ({ name: r.plugin.name, weight: r.weight }));
  const solve = {
    method: cfg.solver,
    ...(cfg.stepSize !== undefined ? { stepSize: cfg.stepSize } : {}),
    ...(cfg.rtol !== undefined ? { rtol: cfg.rtol } : {}),
    ...(cfg.atol !== undefined ? { atol: cfg.atol } : {}),
    ...(regs.length ? { errorControl: Object.fromEntries([['z', true], ['logp', true], ...regs.map((r) => [r.name, false])]) } : {}),
  };
  let y: CnfState = { z: tf.clone(x), logp: tf.zeros([n]) };
  for (const r of regs) y[r.name] = tf.zeros([n]);
  const solves: Array<{ sol: AsyncAdjointSolution<CnfState>; eps: tf.Tensor | null }> = [];
  const counts = { nfe: 0, accepted: 0, rejected: 0 };
  let backwardNfe = 0;
  const blockGrads: tf.Tensor[][] = [];
  let value: tf.Scalar | undefined;
  let metrics: tf.Tensor1D | undefined;
  try {
    for (const block of flow.blocks) {
      const eps = cfg.estimator.sampleNoise(y.z!.shape, noiseRng);
      const dyn = cnfDynamics({ field: block.field, estimator: cfg.estimator, regularizers: regs, noise: eps });
      const sol = await odeintAdjointAsync(dyn, y, [0, block.span], block.params, solve);
      solves.push({ sol, eps });
      counts.nfe += sol.stats.nfe;
      counts.accepted += sol.stats.accepted;
      counts.rejected += sol.stats.rejected;
      tf.dispose(Object.values(y)); // the adjoint keeps its own copies of the stored states
      for (const st of sol.ys.slice(0, -1)) tf.dispose(Object.values(st));
      y = sol.ys[sol.ys.length - 1]!;
    }
    // The trainer's objective on the final state: mean NLL + Σ λ·mean(reg).
    const keys = ['z', 'logp', ...regs.map((r) => r.name)];
    const { value: v, grads: g } = tf.valueAndGrads((...ts: tf.Tensor[]) => {
      const [z, logp, ...rs] = ts as [tf.Tensor, tf.Tensor, ...tf.Tensor[]];
      const out = { z: z as tf.Tensor2D, deltaLogp: logp as tf.Tensor1D, regs: Object.fromEntries(regs.map((r, i) => [r.name, rs[i]! as tf.Tensor1D])) };
      const terms = rnodeObjective(out, { regularizers: regSpecs, nllUnit: cfg.nllUnit });
      metrics = tf.keep(tf.stack([terms.nll, ...terms.regularizers]) as tf.Tensor1D);
      return terms.loss;
    })(keys.map((k) => y[k]!));
    value = v as tf.Scalar;
    let gState: CnfState = Object.fromEntries(keys.map((k, i) => [k, g[i]!]));
    for (let k = solves.length - 1; k >= 0; k--) {
      const r = await solves[k]!.sol.backward([null, gState]);
      backwardNfe += r.stats.nfe;
      tf.dispose(Object.values(gState));
      gState = r.dy0;
      blockGrads[k] = r.dparams;
    }
    tf.dispose(Object.values(gState));
  } catch (e) {
    tf.dispose([...(value ? [value] : []), ...(metrics ? [metrics] : []), ...blockGrads.flat()]);
    throw e;
  } finally {
    tf.dispose(Object.values(y));
    for (const { sol, eps } of solves) {
      sol.dispose();
      eps?.dispose();
    }
  }
  // One gradient per flow parameter, in `flow.params` order (a parameter no block uses: zeros).
  const byParam = new Map<tf.Tensor, tf.Tensor>();
  flow.blocks.forEach((b, k) => b.params.forEach((p, i) => byParam.set(p, blockGrads[k]![i]!)));
  const grads = flow.params.map((p) => byParam.get(p) ?? tf.zerosLike(p));
  for (const g of blockGrads.flat()) if (!grads.includes(g)) g.dispose();
  return { value: value!, grads, metrics: metrics!, stats: { ...counts, backward: { nfe: backwardNfe, done: true } } };
}

/**
 * Training steps with the asynchronous adjoint (`adjointGradientsAsync`), then Adam. The same
 * objective, settings (`resolveTraining`) and random streams (`<seed>:data`, `<seed>:noise`) as
 * `createTrainer`, so its losses and NFE match the trainer's to float32 rounding. `createTrainer`
 * takes this path by itself when the active backend cannot read synchronously and the training
 * solver is adaptive; this lighter loop remains for sampled data. The gradient always comes from
 * the continuous adjoint (`adjoint` is not consulted) and `clip` is not supported.
 */
export function createAsyncAdjointTrainer(options: AsyncAdjointTrainerOptions): AsyncAdjointTrainer {
  const o = parseOptions(asyncAdjointTrainerOptionsSchema, options, 'async-trainer');
  const { flow, data, ...training } = o;
  const cfg = resolveTraining(training, 'async-trainer');
  if (Number.isFinite(cfg.clip)) throw new RnodeError('INVALID_OPTIONS', 'option "clip" is not supported by the asynchronous trainer', { source: 'option:clip' });
  const sampler: Sampler =
    typeof data === 'function'
      ? data
      : typeof data === 'string'
        ? (n, rng) => resolveDataset(data).sample(n, rng)
        : (() => {
            throw new RnodeError('INVALID_OPTIONS', 'option "data" must be a sampler or a registered dataset name', { source: 'option:data' });
          })();
  const seed = String(cfg.seed);
  const dataRng = new Random(`${seed}:data`);
  const noiseRng = new Random(`${seed}:noise`);
  const optimizer = new Adam(flow.params, { lr: cfg.lr, beta1: cfg.beta1, beta2: cfg.beta2, eps: cfg.eps, weightDecay: cfg.weightDecay });
  let iteration = 0;

  const step = async (): Promise<AsyncStepResult> => {
    const n = cfg.batchSize;
    const lr = warmupLr(cfg.lr, cfg.warmup, iteration);
    const x = tf.tensor2d(sampler(n, dataRng), [n, flow.dim]);
    let r: BatchGradients;
    try {
      r = await adjointGradientsAsync(flow, cfg, x, noiseRng);
    } finally {
      x.dispose();
    }
    let loss: number;
    try {
      optimizer.update(r.grads, lr);
      loss = (await r.value.data())[0]!;
    } finally {
      tf.dispose([r.value, r.metrics, ...r.grads]);
    }
    iteration += 1;
    if (!Number.isFinite(loss)) throw new RnodeError('NON_FINITE', `non-finite loss ${loss} at iteration ${iteration}`, { source: 'async-trainer' });
    return { nfeForward: r.stats!.nfe, nfeBackward: r.stats!.backward!.nfe, loss };
  };

  return {
    options: cfg,
    optimizer,
    get iteration() {
      return iteration;
    },
    step,
    dispose: () => optimizer.dispose(),
  };
}
