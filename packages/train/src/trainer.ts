import * as tf from '@tensorflow/tfjs-core';
import { Random, RnodeError, checkOptions, isRnodeError, linearCombination, type RandomState } from '@rnode/core';
import type { EstimatorRef } from '@rnode/estimators';
import { resolveDataset } from '@rnode/data';
import { Adam, warmupLr } from './adam.js';
import {
  CHECKPOINT_FORMAT,
  CHECKPOINT_VERSION,
  decodeWeights,
  encodeWeights,
  validateCheckpoint,
  type BestState,
  type Checkpoint,
} from './checkpoint.js';
import { TRAINING_KEYS, describeTraining, resolveTraining, type DataSource, type Matrix, type ResolvedTraining, type Sampler, type TabularSource, type TrainingOptions } from './config.js';
import type { EvaluationEvent, IterationEvent, TrainerEvent, TrainerEventOf, TrainerEventType } from './events.js';
import { saveModel } from '@rnode/models';
import type { FlowSolveOptions, TrainableFlow } from './flow.js';
import { evaluateNll } from './evaluation.js';
import { batchGradients, shardRanges, shardRandom, trainSolveOptions, type BatchGradients, type ParallelGradients, type ShardJob, type ShardResult } from './gradients.js';
import { logitInverse, logitTransform } from '@rnode/data';
import { isImageSource, resolveImageSource, type BatchLoader, type ResolvedImageSource } from './image.js';

export interface TrainerOptions extends TrainingOptions {
  /** The model (a `Flow` of `@rnode/models` or anything `TrainableFlow`). */
  flow: TrainableFlow;
  /** A sampler `(n, rng) => Float32Array` (fresh toy data per batch), tabular splits or images (`{ kind: 'image', … }`). */
  data: DataSource;
  /** Receives every event (same as `on` for each type). */
  onEvent?: (e: TrainerEvent) => void;
  /** Dispose the flow's variables with the trainer (default false). */
  ownsFlow?: boolean;
  /**
   * Split every training batch over threads (e.g. `createWorkerGradients` of
   * `@rnode/train/node`): the trainer computes the first shard, the others run elsewhere, and
   * the gradients are combined weighted by rows. Plugins must be given by registered name.
   */
  parallel?: ParallelGradients;
}

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
  /** One training iteration: batch, forward, objective, one tf.variableGrads, one batched read, Adam update. */
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

function isSampler(d: DataSource): d is Sampler {
  return typeof d === 'function';
}

function checkMatrix(m: unknown, name: string, dim: number): Matrix {
  const x = m as Matrix;
  if (typeof m !== 'object' || m === null || !(x.data instanceof Float32Array) || !Number.isInteger(x.rows) || !Number.isInteger(x.cols)) {
    throw new RnodeError('INVALID_OPTIONS', `"${name}" must be a matrix { data: Float32Array, rows, cols }`, { source: `option:data` });
  }
  if (x.cols !== dim || x.data.length !== x.rows * x.cols) {
    throw new RnodeError('INVALID_OPTIONS', `"${name}" is ${x.rows}×${x.cols} with ${x.data.length} values; the flow's dimension is ${dim}`, {
      source: 'option:data',
    });
  }
  return x;
}

/** Create a trainer: validates the options once (unknown keys name the key). */
export function createTrainer(options: TrainerOptions): Trainer {
  const o = checkOptions(options, [...TRAINING_KEYS, 'flow', 'data', 'onEvent', 'ownsFlow', 'parallel'], SOURCE);
  const flow = o.flow;
  if (!flow || typeof flow.forward !== 'function' || !Array.isArray(flow.params)) {
    throw new RnodeError('INVALID_OPTIONS', 'option "flow" must be a flow (params, dim, forward, forwardAsync, inverse)', { source: 'option:flow' });
  }
  const { flow: _f, data: _d, onEvent, ownsFlow, parallel, ...training } = o;
  const cfg = resolveTraining(training, SOURCE, { image: isImageSource(o.data) });
  const dim = flow.dim;
  const image = isImageSource(o.data) ? resolveImageSource(o.data, dim) : null;
  let data: Sampler | TabularSource = (image ? () => new Float32Array(0) : o.data) as Sampler | TabularSource;
  if (typeof o.data === 'string') {
    const name = o.data;
    const plugin = resolveDataset(name);
    if (plugin.dim !== dim) {
      throw new RnodeError('INVALID_OPTIONS', `toy set "${name}" is ${plugin.dim}-D, the flow's dimension is ${dim}`, { source: 'option:data' });
    }
    data = (n, rng) => plugin.sample(n, rng);
  }
  let tabular: TabularSource | null = null;
  if (image || isSampler(data)) {
    // ok
  } else if (typeof data === 'object' && data !== null) {
    checkOptions(data, ['train', 'validation', 'test'], 'option:data');
    const d = data;
    tabular = {
      train: checkMatrix(d.train, 'data.train', dim),
      ...(d.validation ? { validation: checkMatrix(d.validation, 'data.validation', dim) } : {}),
      ...(d.test ? { test: checkMatrix(d.test, 'data.test', dim) } : {}),
    };
  } else {
    throw new RnodeError('INVALID_OPTIONS', 'option "data" must be a sampler (n, rng) => Float32Array or { train, validation?, test? }', {
      source: 'option:data',
    });
  }

  const params = flow.params;
  const optimizer = new Adam(params, { lr: cfg.lr, beta1: cfg.beta1, beta2: cfg.beta2, eps: cfg.eps, weightDecay: cfg.weightDecay });
  const seed = String(cfg.seed);
  const rngs = {
    data: new Random(`${seed}:data`),
    noise: new Random(`${seed}:noise`),
    eval: new Random(`${seed}:eval`),
    sample: new Random(`${seed}:sample`),
  };
  // Tabular epochs: the data stream's state at the epoch start regenerates its permutation.
  let epoch: { rng: RandomState; cursor: number; perm: Int32Array } | null = null;

  let validation: Matrix | null = null;
  const source = data;
  const validationSet = (): Matrix => {
    if (validation) return validation;
    if (isSampler(source)) {
      const n = cfg.evaluation.samples;
      validation = { data: drawSamples(source, n, new Random(`${seed}:validation`), dim), rows: n, cols: dim };
    } else {
      const v = tabular!.validation ?? tabular!.test;
      if (!v) throw new RnodeError('INVALID_OPTIONS', 'evaluation needs data.validation (or data.test)', { source: 'option:data' });
      validation = v;
    }
    return validation;
  };

  let iteration = 0;
  let elapsed = 0;
  const best: BestState = { nll: null, iteration: null, evaluations: 0, sinceBest: 0 };
  let bestWeights: Float32Array[] | null = null;
  let disposed = false;
  const listeners = new Map<TrainerEventType, Set<(e: TrainerEvent) => void>>();

  const emit = (e: TrainerEvent): void => {
    onEvent?.(e);
    for (const fn of listeners.get(e.type) ?? []) fn(e);
  };

  const regSpecs = cfg.regularizers.map((r) => ({ name: r.plugin.name, weight: r.weight }));
  const trainSolve = (): FlowSolveOptions => trainSolveOptions(cfg, rngs.noise);
  const trainRows = tabular ? tabular.train.rows : null;
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

  const nextBatch = async (): Promise<tf.Tensor> => {
    const n = cfg.batchSize;
    if (image) {
      const b = await image.train.next();
      return tf.tensor2d(b.data, [b.size, dim]);
    }
    if (isSampler(source)) return tf.tensor2d(drawSamples(source, n, rngs.data, dim), [n, dim]);
    const rows = trainRows!;
    if (!epoch || epoch.cursor >= rows) {
      const state = rngs.data.getState();
      epoch = { rng: state, cursor: 0, perm: rngs.data.permutation(rows) };
    }
    const take = Math.min(n, rows - epoch.cursor);
    const m = tabular!.train;
    const out = new Float32Array(take * dim);
    for (let i = 0; i < take; i++) {
      const r = epoch.perm[epoch.cursor + i]!;
      out.set(m.data.subarray(r * dim, (r + 1) * dim), i * dim);
    }
    epoch.cursor += take;
    return tf.tensor2d(out, [take, dim]);
  };

  const checkAlive = (): void => {
    if (disposed) throw new RnodeError('INVALID_ARGUMENT', 'the trainer has been disposed', { source: SOURCE });
  };

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
    const noiseState = rngs.noise.getState();
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
    rngs.noise.setState(rng0.getState());
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

  const step = async (): Promise<IterationEvent> => {
    checkAlive();
    const itr = iteration + 1;
    const lr = warmupLr(cfg.lr, cfg.warmup, iteration);
    const t0 = now();
    let x = await nextBatch();
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
        const r = batchGradients(flow, cfg, x, trainSolve(), imageArg);
        ({ value, grads: gradList, metrics } = r);
        stats = { nfe: r.stats?.nfe ?? 0, backwardNfe: r.stats?.backward?.nfe ?? 0 }; // the backward pass has run
      }
    } catch (e) {
      if (isRnodeError(e, 'NON_FINITE')) {
        throw new RnodeError('NON_FINITE', `non-finite state in the solve at iteration ${itr}; parameters left as after iteration ${iteration}`, {
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
        `non-finite ${Number.isFinite(loss) ? 'gradient' : 'loss'} at iteration ${itr} (loss ${loss}, gradient norm ${gradNorm}); parameters left as after iteration ${iteration}`,
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
    iteration = itr;
    const time = (now() - t0) / 1000;
    elapsed += time;
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
      elapsed,
    };
    emit(event);
    return event;
  };

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
        ? validationSet()
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
        best.iteration = iteration;
        best.sinceBest = 0;
        improved = true;
        bestWeights = (await Promise.all(params.map((p) => p.data()))) as Float32Array[];
      } else best.sinceBest += 1;
    }
    const time = (now() - t0) / 1000;
    elapsed += time;
    const event: EvaluationEvent = {
      type: 'evaluation',
      iteration,
      nll,
      nllUnit: cfg.nllUnit,
      samples,
      nfe,
      solves,
      nfePerSolve: solves > 0 ? nfe / solves : 0,
      time,
      elapsed,
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

  const paramNames = (): string[] => {
    if (flow.paramNames && flow.paramNames.length === params.length) return [...flow.paramNames];
    const seen = new Set<string>();
    return params.map((p, i) => {
      const name = seen.has(p.name) ? `${p.name}#${i}` : p.name;
      seen.add(name);
      return name;
    });
  };

  const checkpoint = async (): Promise<Checkpoint> => {
    checkAlive();
    const [weights, opt] = await Promise.all([encodeWeights(params, paramNames()), optimizer.getState()]);
    const modelConfig = (flow as { config?: unknown }).config;
    return {
      format: CHECKPOINT_FORMAT,
      version: CHECKPOINT_VERSION,
      iteration,
      elapsed,
      config: describeTraining(cfg),
      model: { format: 'rnode-model', version: 1, config: modelConfig === undefined ? null : modelConfig, weights },
      optimizer: opt,
      rng: {
        data: rngs.data.getState(),
        noise: rngs.noise.getState(),
        eval: rngs.eval.getState(),
        sample: rngs.sample.getState(),
      },
      epoch: epoch ? { rng: epoch.rng, cursor: epoch.cursor } : null,
      ...(image ? { loader: image.train.state() } : {}),
      best: { ...best },
    };
  };

  const restore = (value: Checkpoint | unknown, source = 'checkpoint'): void => {
    checkAlive();
    const ck = validateCheckpoint(value, source);
    const weights = decodeWeights(ck.model.weights, source);
    if (weights.length !== params.length) {
      throw new RnodeError('INVALID_CHECKPOINT', `the checkpoint holds ${weights.length} weights, the model has ${params.length}`, { source });
    }
    weights.forEach((w, i) => {
      const p = params[i]!;
      if (w.shape.length !== p.shape.length || w.shape.some((d, j) => d !== p.shape[j])) {
        throw new RnodeError(
          'INVALID_CHECKPOINT',
          `weight ${i} ("${w.name}") has shape [${w.shape.join(', ')}], the model's "${p.name}" has [${p.shape.join(', ')}]`,
          { source },
        );
      }
    });
    for (const k of Object.keys(rngs)) {
      if (!ck.rng[k]) throw new RnodeError('INVALID_CHECKPOINT', `rng.${k} is missing`, { source });
    }
    if (trainRows !== null && ck.epoch && ck.epoch.cursor > trainRows) {
      throw new RnodeError('INVALID_CHECKPOINT', `epoch cursor ${ck.epoch.cursor} is past the ${trainRows} training rows`, { source });
    }
    if (image && ck.loader === undefined) throw new RnodeError('INVALID_CHECKPOINT', 'the checkpoint has no data loader state (it was not written by an image run)', { source });
    if (image) image.train.restore(ck.loader as never); // validates (throws) before the rest changes
    optimizer.setState(ck.optimizer, source); // validates before changing anything
    weights.forEach((w, i) => {
      tf.tidy(() => params[i]!.assign(tf.tensor(w.data, w.shape, 'float32')));
    });
    for (const [k, r] of Object.entries(rngs)) r.setState(ck.rng[k]!);
    if (trainRows !== null && ck.epoch) {
      const r = new Random(0).setState(ck.epoch.rng);
      epoch = { rng: ck.epoch.rng, cursor: ck.epoch.cursor, perm: r.permutation(trainRows) };
    } else epoch = null;
    iteration = ck.iteration;
    elapsed = ck.elapsed;
    Object.assign(best, ck.best);
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
      return iteration;
    },
    get elapsed() {
      return elapsed;
    },
    get best() {
      return { ...best };
    },
    get epochSize() {
      return image ? image.train.batchesPerEpoch : trainRows === null ? null : Math.ceil(trainRows / cfg.batchSize);
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

function drawSamples(sampler: Sampler, n: number, rng: Random, dim: number): Float32Array {
  const x = sampler(n, rng);
  if (!(x instanceof Float32Array) || x.length !== n * dim) {
    throw new RnodeError(
      'INVALID_DATA',
      `the sampler returned ${x instanceof Float32Array ? `${x.length} values` : typeof x}, expected a Float32Array of ${n}×${dim}`,
      { source: 'option:data' },
    );
  }
  return x;
}

/** The training options' `evaluation` without its `onStep` function (which cannot be sent to a worker). */
function withoutOnStep(evaluation: TrainingOptions['evaluation']): { evaluation?: TrainingOptions['evaluation'] } {
  if (!evaluation || evaluation.onStep === undefined) return {};
  const { onStep: _onStep, ...rest } = evaluation;
  return { evaluation: rest };
}
