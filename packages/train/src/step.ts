// The training step: one batch, the objective's gradients — in this thread, or sharded over
// `parallel` (this thread computes the first shard), or with the asynchronous adjoint where the
// backend cannot read synchronously — one batched host read, the Adam update.
import * as tf from '@tensorflow/tfjs-core';
import { RnodeError, canReadSync, isRnodeError, type Random } from '@rnode/core';
import { isAdaptiveSolver, linearCombination } from '@rnode/solvers';
import { saveModel } from '@rnode/models';
import { warmupLr, type Adam } from './adam.js';
import { adjointGradientsAsync, isBlockFlow } from './async-step.js';
import type { BatchSource } from './batches.js';
import type { ResolvedTraining, TrainingOptions } from './config.js';
import type { IterationEvent, TrainerEvent } from './events.js';
import type { TrainableFlow } from './flow.js';
import { logitTransform } from '@rnode/data';
import { batchGradients, shardRanges, shardRandom, trainSolveOptions, type BatchGradients, type ParallelGradients, type ShardJob, type ShardResult } from './internal/sharding.js';

const SOURCE = 'trainer';
const now = (): number => (typeof performance !== 'undefined' ? performance.now() : Date.now());

export interface StepContext {
  flow: TrainableFlow;
  cfg: ResolvedTraining;
  /** The options as given (workers resolve them again). */
  training: TrainingOptions;
  optimizer: Adam;
  batches: BatchSource;
  /** The probe stream (`<seed>:noise`). */
  noise: Random;
  parallel: ParallelGradients | undefined;
  /** Iterations and seconds so far, shared with the trainer. */
  state: { iteration: number; elapsed: number };
  emit(e: TrainerEvent): void;
  checkAlive(): void;
}

/** The trainer's `step()`. */
export function createStep(ctx: StepContext): () => Promise<IterationEvent> {
  const { flow, cfg, training, optimizer, batches, noise, parallel, state, emit, checkAlive } = ctx;
  const image = batches.image;
  const params = flow.params;
  const dim = flow.dim;
  const regSpecs = cfg.regularizers.map((r) => ({ name: r.plugin.name, weight: r.weight }));

  /**
   * An adaptive training solve reads the error norm on the host every step: on a backend without
   * synchronous reads (WebGPU) the gradient comes from the asynchronous adjoint instead — the same
   * numbers (continuous adjoint, same probes), asked per step since the backend can change.
   * Other cases (backprop, images, a flow without blocks) keep the one synchronous path.
   */
  const asyncFlow = !image && cfg.adjoint.name === 'backsolve' && isAdaptiveSolver(cfg.solver, 'solver') && isBlockFlow(flow) ? flow : null;

  let parallelReady: Promise<void> | null = null;
  /**
   * A data-parallel step: shard 0 here, shards 1… on `parallel`, all drawing their probes from
   * the same stream (shardRandom), combined weighted by rows. Same result as one process up to
   * float32 rounding (fixed-grid solvers).
   */
  const parallelGradients = async (x: tf.Tensor, logdet: tf.Tensor | undefined) => {
    const p = parallel!;
    if (!parallelReady) {
      parallelReady = p.init({
        model: saveModel(flow as never),
        // As resolved here: image data changes the defaults (bits/dim), which a worker cannot see.
        // Workers compute gradients only: the evaluation's onStep hook (a function) stays here.
        training: { ...(training as Record<string, unknown>), ...withoutOnStep(training.evaluation), nllUnit: cfg.nllUnit },
        image: image ? { nbits: image.nbits } : null,
      });
    }
    await parallelReady;
    const rows = x.shape[0]!;
    const ranges = shardRanges(rows, p.threads);
    const xs = (await x.data()) as Float32Array;
    const ld = logdet ? ((await logdet.data()) as Float32Array) : null;
    const weights = (await Promise.all(params.map((v) => v.data()))) as Float32Array[];
    const noiseState = noise.getState();
    const jobs: ShardJob[] = ranges.slice(1).map(([a, b]) => ({
      weights,
      x: xs.slice(a * dim, b * dim),
      rows: b - a,
      logdet: ld ? ld.slice(a, b) : null,
      noise: { state: noiseState, start: a, end: b, total: rows },
    }));
    const remote = p.run(jobs);
    remote.catch(() => undefined); // awaited below; avoid an unhandled rejection while shard 0 runs
    const [a0, b0] = ranges[0]!;
    const rng0 = shardRandom(noiseState, a0, b0, rows);
    const x0 = tf.slice(x, [a0, 0], [b0 - a0, -1]);
    const ld0 = logdet ? tf.slice(logdet, [a0], [b0 - a0]) : null;
    let local: BatchGradients;
    try {
      local = batchGradients(flow, cfg, x0, trainSolveOptions(cfg, rng0), image && ld0 ? { logdet: ld0, nbits: image.nbits } : null);
    } finally {
      x0.dispose();
      ld0?.dispose();
    }
    let results: ShardResult[];
    try {
      results = await remote;
    } catch (e) {
      tf.dispose([local.value, local.metrics, ...local.grads]);
      throw e;
    }
    noise.setState(rng0.getState());
    const w0 = (b0 - a0) / rows;
    const ws = ranges.slice(1).map(([a, b]) => (b - a) / rows);
    const combined = tf.tidy(() => {
      // Weighted by rows: the mean over the whole batch (one fused kernel per tensor on cpu/wasm).
      const grads = local.grads.map((g, i) =>
        linearCombination(null, [[w0, g], ...results.map((r, k) => [ws[k]!, tf.tensor(r.grads[i]!, g.shape)] as const)]),
      );
      const vals = linearCombination(null, [
        [w0, tf.concat([tf.reshape(local.value, [1]), local.metrics])],
        ...results.map((r, k) => [ws[k]!, tf.tensor1d(r.values)] as const),
      ]);
      return { grads, value: tf.reshape(tf.slice(vals, [0], [1]), []) as tf.Scalar, metrics: tf.slice(vals, [1]) };
    });
    tf.dispose([local.value, local.metrics, ...local.grads]);
    return {
      ...combined,
      stats: { nfe: local.stats?.nfe ?? 0, backwardNfe: local.stats?.backward?.nfe ?? 0 },
    };
  };

  return async (): Promise<IterationEvent> => {
    checkAlive();
    const itr = state.iteration + 1;
    const lr = warmupLr(cfg.lr, cfg.warmup, state.iteration);
    const t0 = now();
    let x = await batches.next(cfg.batchSize);
    let logdet: tf.Tensor | undefined;
    if (image) {
      const t = logitTransform(x, image.alpha);
      x.dispose();
      x = t.y;
      logdet = t.logdet;
    }
    let stats: { nfe: number; backwardNfe: number } | undefined;
    let metrics: tf.Tensor | undefined;
    let value: tf.Scalar;
    let gradList: tf.Tensor[];
    try {
      const imageArg = image ? { logdet: logdet!, nbits: image.nbits } : null;
      if (parallel && parallel.threads > 1) {
        ({ value, grads: gradList, metrics, stats } = await parallelGradients(x, logdet));
      } else {
        const r = asyncFlow && !canReadSync() ? await adjointGradientsAsync(asyncFlow, cfg, x, noise) : batchGradients(flow, cfg, x, trainSolveOptions(cfg, noise), imageArg);
        ({ value, grads: gradList, metrics } = r);
        stats = { nfe: r.stats?.nfe ?? 0, backwardNfe: r.stats?.backward?.nfe ?? 0 }; // the backward pass has run
      }
    } catch (e) {
      if (isRnodeError(e, 'NON_FINITE')) {
        throw new RnodeError('NON_FINITE', `non-finite state in the solve at iteration ${itr}; parameters left as after iteration ${state.iteration}`, {
          source: SOURCE,
          cause: e,
          details: { iteration: itr },
        });
      }
      throw e;
    } finally {
      x.dispose();
      logdet?.dispose();
    }
    const packed = tf.tidy(() => {
      const sq = gradList.map((g) => tf.sum(tf.square(g)));
      const norm = tf.sqrt(sq.length ? tf.addN(sq) : tf.scalar(0));
      return tf.concat([tf.reshape(value, [1]), metrics!, tf.reshape(norm, [1])]);
    });
    let vals: Float32Array;
    try {
      vals = (await packed.data()) as Float32Array; // the one host read of the iteration
    } finally {
      packed.dispose();
      metrics!.dispose();
      value.dispose();
    }
    const loss = vals[0]!;
    const nll = vals[1]!;
    const gradNorm = vals[vals.length - 1]!;
    if (!Number.isFinite(loss) || !Number.isFinite(gradNorm)) {
      tf.dispose(gradList);
      throw new RnodeError(
        'NON_FINITE',
        `non-finite ${Number.isFinite(loss) ? 'gradient' : 'loss'} at iteration ${itr} (loss ${loss}, gradient norm ${gradNorm}); parameters left as after iteration ${state.iteration}`,
        { source: SOURCE, details: { iteration: itr, loss, gradNorm } },
      );
    }
    const clipped = gradNorm > cfg.clip;
    const scale = clipped ? tf.scalar(cfg.clip / (gradNorm + 1e-6)) : undefined;
    try {
      optimizer.update(gradList, lr, scale);
    } finally {
      tf.dispose(gradList);
      scale?.dispose();
    }
    state.iteration = itr;
    const time = (now() - t0) / 1000;
    state.elapsed += time;
    const regularizers: Record<string, number> = {};
    regSpecs.forEach((r, i) => {
      regularizers[r.name] = vals[2 + i]!;
    });
    const event: IterationEvent = {
      type: 'iteration',
      iteration: itr,
      loss,
      nll,
      nllUnit: cfg.nllUnit,
      regularizers,
      ...(regularizers['kinetic-energy'] !== undefined ? { kineticEnergy: regularizers['kinetic-energy'] } : {}),
      ...(regularizers['jacobian-frobenius'] !== undefined ? { jacobianNorm: regularizers['jacobian-frobenius'] } : {}),
      nfeForward: stats?.nfe ?? 0,
      nfeBackward: stats?.backwardNfe ?? 0,
      lr,
      gradNorm,
      clipped,
      time,
      elapsed: state.elapsed,
    };
    emit(event);
    return event;
  };
}

/** The training options' `evaluation` without its `onStep` function (which cannot be sent to a worker). */
function withoutOnStep(evaluation: TrainingOptions['evaluation']): { evaluation?: TrainingOptions['evaluation'] } {
  if (!evaluation || evaluation.onStep === undefined) return {};
  const { onStep: _onStep, ...rest } = evaluation;
  return { evaluation: rest };
}
