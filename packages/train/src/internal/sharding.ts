// Internal: the data-parallel step shared by the trainer and the worker threads of `@rnode/train/node`
// (not exported from `@rnode/train`; `./internal/*` is sealed by the package exports). The types of the
// `parallel` contract (ParallelGradients, ParallelSetup, ShardJob, ShardResult) are re-exported by the index.
import * as tf from '@tensorflow/tfjs-core';
import { Random, RnodeError, type RandomState } from '@rnode/core';
import type { ResolvedTraining } from '../config.js';
import type { FlowSolveOptions, FlowStats, TrainableFlow } from '../flow.js';
import { rnodeObjective } from '../objective.js';

/** The training solve of a resolved config, drawing its probes from `noiseRng`. */
export function trainSolveOptions(cfg: ResolvedTraining, noiseRng: Random): FlowSolveOptions {
  return {
    method: cfg.solver,
    ...(cfg.stepSize !== undefined ? { stepSize: cfg.stepSize } : {}),
    ...(cfg.rtol !== undefined ? { rtol: cfg.rtol } : {}),
    ...(cfg.atol !== undefined ? { atol: cfg.atol } : {}),
    estimator: cfg.estimator,
    regularizers: cfg.regularizers.map((r) => r.plugin),
    noiseRng,
    adjoint: cfg.adjoint,
  };
}

export interface BatchGradients {
  /** The objective (mean over the batch). */
  value: tf.Scalar;
  /** One gradient per flow parameter, in `flow.params` order. */
  grads: tf.Tensor[];
  /** [nll, ...regularizer means], in the order of `cfg.regularizers`. */
  metrics: tf.Tensor1D;
  stats: FlowStats | undefined;
}

/**
 * The objective of one batch and its gradients w.r.t. the flow's parameters: one forward
 * solve, the RNODE objective, one `tf.variableGrads`. Shared by the trainer and the workers
 * of a data-parallel step, so both compute exactly the same thing.
 */
export function batchGradients(
  flow: TrainableFlow,
  cfg: ResolvedTraining,
  x: tf.Tensor,
  solve: FlowSolveOptions,
  image: { logdet: tf.Tensor; nbits: number } | null,
): BatchGradients {
  let stats: FlowStats | undefined;
  let metrics: tf.Tensor1D | undefined;
  const regSpecs = cfg.regularizers.map((r) => ({ name: r.plugin.name, weight: r.weight }));
  const params = flow.params as tf.Variable[];
  try {
    const { value, grads } = tf.variableGrads(() => {
      const out = flow.forward(x, solve);
      stats = out.stats;
      try {
        const terms = rnodeObjective(out, { regularizers: regSpecs, nllUnit: cfg.nllUnit, ...(image ? { image } : {}) });
        metrics = tf.keep(tf.stack([terms.nll, ...terms.regularizers]) as tf.Tensor1D);
        return terms.loss;
      } catch (e) {
        out.dispose(); // releases probes kept for a backward pass that will not run
        throw e;
      }
    }, params);
    return { value, grads: params.map((p) => grads[p.name]!), metrics: metrics!, stats };
  } catch (e) {
    metrics?.dispose();
    throw e;
  }
}

/** Contiguous row ranges of a batch split into `n` shards as equal as possible. */
export function shardRanges(rows: number, n: number): Array<[number, number]> {
  const out: Array<[number, number]> = [];
  const base = Math.floor(rows / n);
  let extra = rows % n;
  let start = 0;
  for (let k = 0; k < n; k++) {
    const len = base + (extra > 0 ? 1 : 0);
    if (extra > 0) extra--;
    out.push([start, start + len]);
    start += len;
  }
  return out.filter(([a, b]) => b > a);
}

/**
 * A Random that stands for one shard of a batch: every tensor draw of a [rows, …] shape draws
 * the whole batch's [total, …] values from the stream (so the stream advances exactly as in a
 * single-process step) and returns this shard's rows. The probes of a data-parallel step are
 * therefore the same numbers as in one process.
 */
export function shardRandom(state: RandomState, start: number, end: number, total: number): Random {
  const r = Random.fromState(state);
  const rows = end - start;
  const draw = (shape: readonly number[], fill: (n: number) => Float32Array): tf.Tensor => {
    if (shape[0] !== rows) {
      throw new RnodeError('SHAPE_MISMATCH', `a shard of ${rows} rows drew a tensor of shape [${shape.join(', ')}]`, { source: 'trainer:parallel' });
    }
    const per = shape.slice(1).reduce((a, b) => a * b, 1);
    const all = fill(total * per);
    return tf.tensor(all.slice(start * per, end * per), [...shape], 'float32');
  };
  r.normal = (shape, mean = 0, std = 1) => draw(shape, (n) => r.normalArray(n, mean, std));
  r.rademacher = (shape) => draw(shape, (n) => r.rademacherArray(n));
  r.uniform = (shape, low = 0, high = 1) => draw(shape, (n) => r.uniformArray(n, low, high));
  return r;
}

/** One shard's work in a data-parallel step (what a worker receives). */
export interface ShardJob {
  /** Current parameter values, in `flow.params` order. */
  weights: Float32Array[];
  /** This shard's rows of the (transformed) batch, row-major [rows, dim]. */
  x: Float32Array;
  rows: number;
  /** Image runs: the logit transform's log-determinant of these rows. */
  logdet: Float32Array | null;
  /** The probe stream at the start of the step and this shard's rows of the full batch. */
  noise: { state: RandomState; start: number; end: number; total: number };
}

export interface ShardResult {
  /** Gradients of this shard's mean objective, in `flow.params` order. */
  grads: Float32Array[];
  /** [loss, nll, ...regularizers] of this shard (means over its rows). */
  values: Float32Array;
  nfeForward: number;
  nfeBackward: number;
  /** The probe stream after the step (the same for every shard). */
  noiseState: RandomState;
}

/** What a worker needs to rebuild the computation of a trainer (all plain data). */
export interface ParallelSetup {
  /** `saveModel(flow)` of @rnode/models (config and initial weights). */
  model: unknown;
  /** The trainer's training options as given (plugins by registered name). */
  training: Record<string, unknown>;
  /** Image runs: bits per pixel of the data (the objective's bits/dim). */
  image: { nbits: number } | null;
}

/**
 * Runs shards of a training step elsewhere (worker threads: `createWorkerGradients` of
 * `@rnode/train/node`). The trainer computes shard 0 itself and hands shards 1… to `run`;
 * with `threads` = n the batch is split n ways and the gradients are combined weighted by
 * rows, which is the single-process gradient up to float32 rounding for fixed-grid solvers
 * (adaptive solvers choose steps per shard).
 */
export interface ParallelGradients {
  /** Total shards per step, the trainer's own included (≥ 1). */
  readonly threads: number;
  init(setup: ParallelSetup): Promise<void>;
  run(jobs: ShardJob[]): Promise<ShardResult[]>;
  dispose(): Promise<void>;
}

/** Compute one shard with a flow whose variables already hold the step's weights. */
export function computeShard(
  flow: TrainableFlow,
  cfg: ResolvedTraining,
  job: Omit<ShardJob, 'weights'>,
  dim: number,
  image: { nbits: number } | null,
): ShardResult {
  const rng = shardRandom(job.noise.state, job.noise.start, job.noise.end, job.noise.total);
  const x = tf.tensor2d(job.x, [job.rows, dim]);
  const logdet = job.logdet ? tf.tensor1d(job.logdet) : null;
  try {
    const r = batchGradients(flow, cfg, x, trainSolveOptions(cfg, rng), image && logdet ? { logdet, nbits: image.nbits } : null);
    const packed = tf.tidy(() => tf.concat([tf.reshape(r.value, [1]), r.metrics]));
    const values = packed.dataSync() as Float32Array;
    const grads = r.grads.map((g) => g.dataSync() as Float32Array);
    tf.dispose([packed, r.value, r.metrics, ...r.grads]);
    return {
      grads: grads.map((g) => Float32Array.from(g)),
      values: Float32Array.from(values),
      nfeForward: r.stats?.nfe ?? 0,
      nfeBackward: r.stats?.backward?.nfe ?? 0,
      noiseState: rng.getState(),
    };
  } finally {
    x.dispose();
    logdet?.dispose();
  }
}
