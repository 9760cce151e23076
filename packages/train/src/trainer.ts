import * as tf from '@tensorflow/tfjs-core';
import * as z from 'zod/mini';
import { Random, RnodeError, functionOption, parseOptions } from '@rnode/core';
import type { EstimatorRef } from '@rnode/estimators';
import { logitInverse } from '@rnode/data';
import { Adam } from './adam.js';
import { checkMatrix, createBatchSource } from './batches.js';
import type { BestState, Checkpoint } from './checkpoint.js';
import { resolveTraining, trainingOptionsSchema, type DataSource, type Matrix, type ResolvedTraining } from './config.js';
import { evaluateNll } from './evaluation.js';
import type { EvaluationEvent, IterationEvent, TrainerEvent, TrainerEventOf, TrainerEventType } from './events.js';
import type { FlowSolveOptions, TrainableFlow } from './flow.js';
import { isImageSource, type BatchLoader, type ResolvedImageSource } from './image.js';
import type { ParallelGradients } from './internal/sharding.js';
import { createStep } from './step.js';
import { restoreCheckpoint, takeCheckpoint, type TrainerState } from './trainer-checkpoint.js';

export const trainerOptionsSchema = z.extend(trainingOptionsSchema, {
  /** The model (a `Flow` of `@rnode/models` or anything `TrainableFlow`). */
  flow: z.custom<TrainableFlow>(),
  /** A sampler `(n, rng) => Float32Array` (fresh toy data per batch), tabular splits or images (`{ kind: 'image', … }`). */
  data: z.custom<DataSource>(),
  /** Receives every event (same as `on` for each type). */
  onEvent: z.optional(functionOption<(e: TrainerEvent) => void>()),
  /** Dispose the flow's variables with the trainer (default false). */
  ownsFlow: z.optional(z.boolean()),
  /**
   * Split every training batch over threads (e.g. `createWorkerGradients` of
   * `@rnode/train/node`): the trainer computes the first shard, the others run elsewhere, and
   * the gradients are combined weighted by rows. Plugins must be given by registered name.
   */
  parallel: z.optional(z.custom<ParallelGradients>()),
});
export type TrainerOptions = z.input<typeof trainerOptionsSchema>;

export interface Trainer {
  readonly flow: TrainableFlow;
  readonly optimizer: Adam;
  readonly options: ResolvedTraining;
  /** Iterations completed. */
  readonly iteration: number;
  /** Seconds of training so far. */
  readonly elapsed: number;
  readonly best: Readonly<BestState>;
  /** Iterations per pass over the training set (tabular and image data; null for samplers). */
  readonly epochSize: number | null;
  /** Image data, resolved (shape, nbits, α), or null. */
  readonly image: Readonly<ResolvedImageSource> | null;
  /** True once early stopping's patience is used up. */
  readonly shouldStop: boolean;
  /**
   * One training iteration: batch, forward, objective, one tf.variableGrads, one batched read,
   * Adam update. An adaptive solver on a backend without synchronous reads (WebGPU) takes the
   * asynchronous adjoint instead (same numbers; 'backsolve', non-image data, a flow with blocks).
   */
  step(): Promise<IterationEvent>;
  /**
   * Test-time NLL with the evaluation solver. Without `data`: the validation set, tracked for
   * early stopping (best, patience) and emitted as an 'evaluation' event.
   */
  evaluate(data?: Float32Array | Matrix | BatchLoader): Promise<EvaluationEvent>;
  /** n samples from the flow (base → data with the evaluation solver; images: intensities in [0, 1] after the inverse logit); the caller owns the tensor. */
  sample(n: number, rng?: Random): tf.Tensor;
  /** The whole training state as a JSON-able checkpoint. */
  checkpoint(): Promise<Checkpoint>;
  /** Continue from a checkpoint (weights, optimizer, iteration, random streams, early stopping). */
  restore(checkpoint: Checkpoint | unknown, source?: string): void;
  /** Put the best evaluated weights (kept in memory since the last improvement) back; false if none. */
  restoreBest(): boolean;
  on<T extends TrainerEventType>(type: T, fn: (e: TrainerEventOf<T>) => void): () => void;
  /** Deliver an event to the listeners (for loops built on the trainer, such as `train`). */
  emit(e: TrainerEvent): void;
  dispose(): void;
}

const SOURCE = 'trainer';
const now = (): number => (typeof performance !== 'undefined' ? performance.now() : Date.now());

/**
 * Create a trainer: validates the options once (unknown keys name the key). A composition of
 * named parts: the settings (`resolveTraining`, config.ts), the batch source (batches.ts), the
 * step, single or sharded (step.ts), the evaluation (`evaluateNll`, evaluation.ts) with early
 * stopping here, and checkpoint/restore (trainer-checkpoint.ts).
 */
export function createTrainer(options: TrainerOptions): Trainer {
  const o = parseOptions(trainerOptionsSchema, options, SOURCE);
  const flow = o.flow;
  if (!flow || typeof flow.forward !== 'function' || !Array.isArray(flow.params)) {
    throw new RnodeError('INVALID_OPTIONS', 'option "flow" must be a flow (params, dim, forward, forwardAsync, inverse)', { source: 'option:flow' });
  }
  const { flow: _f, data, onEvent, ownsFlow, parallel, ...training } = o;
  const cfg = resolveTraining(training, SOURCE, { image: isImageSource(data) });
  const dim = flow.dim;
  const params = flow.params;
  const seed = String(cfg.seed);
  const rngs = {
    data: new Random(`${seed}:data`),
    noise: new Random(`${seed}:noise`),
    eval: new Random(`${seed}:eval`),
    sample: new Random(`${seed}:sample`),
  };
  const batches = createBatchSource(data, { dim, rng: rngs.data, seed, validationSamples: cfg.evaluation.samples });
  const image = batches.image;
  const optimizer = new Adam(params, { lr: cfg.lr, beta1: cfg.beta1, beta2: cfg.beta2, eps: cfg.eps, weightDecay: cfg.weightDecay });
  const state = { iteration: 0, elapsed: 0 };
  const best: BestState = { nll: null, iteration: null, evaluations: 0, sinceBest: 0 };
  let bestWeights: Float32Array[] | null = null;
  let disposed = false;
  const listeners = new Map<TrainerEventType, Set<(e: TrainerEvent) => void>>();
  const emit = (e: TrainerEvent): void => {
    onEvent?.(e);
    for (const fn of listeners.get(e.type) ?? []) fn(e);
  };
  const checkAlive = (): void => {
    if (disposed) throw new RnodeError('INVALID_ARGUMENT', 'the trainer has been disposed', { source: SOURCE });
  };
  const parts: TrainerState = { flow, cfg, optimizer, rngs, batches, state, best };

  const step = createStep({ flow, cfg, training, optimizer, batches, noise: rngs.noise, parallel, state, emit, checkAlive });

  const evalEstimator: EstimatorRef = cfg.evaluation.estimator ?? (dim <= cfg.evaluation.exactMaxDim ? 'exact' : 'hutchinson');
  const evalSolve = (): FlowSolveOptions => ({
    method: cfg.evaluation.solver,
    rtol: cfg.evaluation.rtol,
    atol: cfg.evaluation.atol,
    ...(cfg.evaluation.stepSize !== undefined ? { stepSize: cfg.evaluation.stepSize } : {}),
    ...(cfg.evaluation.maxSteps !== undefined ? { maxSteps: cfg.evaluation.maxSteps } : {}),
    ...(cfg.evaluation.onStep !== undefined ? { onStep: cfg.evaluation.onStep } : {}),
    estimator: evalEstimator,
    regularizers: [],
    noiseRng: rngs.eval,
  });

  const evaluate = async (given?: Float32Array | Matrix | BatchLoader): Promise<EvaluationEvent> => {
    checkAlive();
    const t0 = now();
    const track = given === undefined;
    let set: Matrix | BatchLoader;
    if (image) {
      // Images: the test set with the +0.5 shift (no noise), logit transform, bits/dim of the discrete data.
      const loader = (given as BatchLoader | undefined) ?? image.test;
      if (!loader) throw new RnodeError('INVALID_OPTIONS', 'evaluation needs data.test (a loader of the +0.5-shifted test images)', { source: 'option:data' });
      set = loader;
    } else {
      set = track
        ? batches.validationSet()
        : given instanceof Float32Array
          ? { data: given, rows: given.length / dim, cols: dim }
          : checkMatrix(given as Matrix, 'data', dim);
      if (!Number.isInteger(set.rows)) {
        throw new RnodeError('INVALID_ARGUMENT', `evaluation data has ${set.data.length} values, not a multiple of the dimension ${dim}`, { source: SOURCE });
      }
    }
    const r = await evaluateNll(flow, set, {
      solve: evalSolve(),
      batchSize: cfg.evaluation.batchSize,
      nllUnit: cfg.nllUnit,
      ...(image ? { image: { alpha: image.alpha, nbits: image.nbits } } : {}),
    });
    return finishEvaluation(r.nll, r.samples, r.nfe, r.solves, t0, track);
  };

  const finishEvaluation = async (nll: number, samples: number, nfe: number, solves: number, t0: number, track: boolean): Promise<EvaluationEvent> => {
    let improved = false;
    if (track) {
      best.evaluations += 1;
      if (Number.isFinite(nll) && (best.nll === null || nll < best.nll)) {
        best.nll = nll;
        best.iteration = state.iteration;
        best.sinceBest = 0;
        improved = true;
        bestWeights = (await Promise.all(params.map((p) => p.data()))) as Float32Array[];
      } else best.sinceBest += 1;
    }
    const time = (now() - t0) / 1000;
    state.elapsed += time;
    const event: EvaluationEvent = {
      type: 'evaluation',
      iteration: state.iteration,
      nll,
      nllUnit: cfg.nllUnit,
      samples,
      nfe,
      solves,
      nfePerSolve: solves > 0 ? nfe / solves : 0,
      time,
      elapsed: state.elapsed,
      improved,
      bestNll: best.nll,
      bestIteration: best.iteration,
      sinceBest: best.sinceBest,
      stop: track && best.sinceBest >= cfg.patience,
    };
    if (track) emit(event);
    return event;
  };

  const sample = (n: number, rng: Random = rngs.sample): tf.Tensor => {
    checkAlive();
    if (!Number.isInteger(n) || n <= 0) throw new RnodeError('INVALID_ARGUMENT', `sample(n) needs a positive integer, got ${n}`, { source: SOURCE });
    const z = rng.normal([n, dim]);
    try {
      if (!image) return flow.inverse(z, evalSolve());
      const y = flow.inverse(z, evalSolve());
      const x = logitInverse(y, image.alpha);
      y.dispose();
      return x;
    } finally {
      z.dispose();
    }
  };

  const checkpoint = async (): Promise<Checkpoint> => {
    checkAlive();
    return takeCheckpoint(parts);
  };

  const restore = (value: Checkpoint | unknown, source = 'checkpoint'): void => {
    checkAlive();
    restoreCheckpoint(parts, value, source);
    bestWeights = null;
  };

  const restoreBest = (): boolean => {
    checkAlive();
    if (!bestWeights) return false;
    const w = bestWeights;
    params.forEach((p, i) => tf.tidy(() => p.assign(tf.tensor(w[i]!, p.shape, 'float32'))));
    return true;
  };

  return {
    flow,
    optimizer,
    options: cfg,
    get iteration() {
      return state.iteration;
    },
    get elapsed() {
      return state.elapsed;
    },
    get best() {
      return { ...best };
    },
    get epochSize() {
      return batches.epochSize(cfg.batchSize);
    },
    image,
    get shouldStop() {
      return best.sinceBest >= cfg.patience;
    },
    step,
    evaluate,
    sample,
    checkpoint,
    restore,
    restoreBest,
    on(type, fn) {
      let set = listeners.get(type);
      if (!set) listeners.set(type, (set = new Set()));
      set.add(fn as (e: TrainerEvent) => void);
      return () => set.delete(fn as (e: TrainerEvent) => void);
    },
    emit,
    dispose() {
      if (disposed) return;
      disposed = true;
      optimizer.dispose();
      if (ownsFlow) {
        const d = (flow as { dispose?: () => void }).dispose;
        if (typeof d === 'function') d.call(flow);
        else tf.dispose(params as tf.Variable[]);
      }
    },
  };
}
