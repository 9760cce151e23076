import * as tf from '@tensorflow/tfjs-core';
import { RnodeError } from '@rnode/core';
import type { Matrix, NllUnit } from './config.js';
import type { FlowSolveOptions, TrainableFlow } from './flow.js';
import { logitTransform } from '@rnode/data';
import type { BatchLoader } from './image.js';
import { imageNll, negativeLogLikelihood } from './objective.js';

/** How `evaluateNll` solves and scores. */
export interface EvaluateNllOptions {
  /** The test-time solve (method, tolerances, estimator, noise stream …), as `flow.forwardAsync` takes it. */
  solve: FlowSolveOptions;
  /** Rows per solve of matrix data (default 1000); a loader's batches are its own. */
  batchSize?: number;
  /** 'nats' or 'bits-per-dim' (default: 'nats'; image data: 'bits-per-dim' of the discrete data). */
  nllUnit?: NllUnit;
  /** Loader data are images: logit transform with `alpha` (0: x − 0.5) and NLL of the discrete data at `nbits` (default 8). */
  image?: { alpha: number; nbits?: number };
  /** Wraps each solve (e.g. to turn a step-budget error into a message); default: none. */
  guard?: <R>(solve: () => Promise<R>) => Promise<R>;
}

/** The mean NLL over the data and what the solves cost. */
export interface NllEvaluation {
  /** Mean NLL per point (per image), in the requested unit. */
  nll: number;
  /** Points (images) evaluated. */
  samples: number;
  /** Function evaluations of all solves together. */
  nfe: number;
  /** Solves run (one per batch). */
  solves: number;
}

/**
 * Test NLL of a flow: the one evaluation of rnode (the trainer's validation, the CLI's `eval` and
 * test figures, the bench's toy2d-quality). Matrix (or flat Float32Array) data is solved in
 * batches of `batchSize` rows; a loader (images) for one pass of `batchesPerEpoch` batches, each
 * through the logit transform, scored as the discrete data (`imageNll`). Each batch's sum is read
 * once and summed on the host. Leaves no tensors behind.
 */
export async function evaluateNll(
  flow: Pick<TrainableFlow, 'dim' | 'forwardAsync'>,
  data: Matrix | Float32Array | BatchLoader,
  options: EvaluateNllOptions,
): Promise<NllEvaluation> {
  const guard = options.guard ?? ((f) => f());
  const dim = flow.dim;
  let total = 0;
  let samples = 0;
  let nfe = 0;
  let solves = 0;
  /** Solve one batch, add its summed NLL; `x` and `logdet` are consumed. */
  const add = async (x: tf.Tensor, score: (out: Awaited<ReturnType<typeof flow.forwardAsync>>) => tf.Tensor, dispose: tf.Tensor[]): Promise<void> => {
    try {
      const out = await guard(() => flow.forwardAsync(x, options.solve));
      try {
        const s = tf.tidy(() => tf.sum(score(out)));
        total += (await s.data())[0]!;
        s.dispose();
        nfe += out.stats.nfe;
        solves += 1;
      } finally {
        out.dispose();
      }
    } finally {
      tf.dispose([x, ...dispose]);
    }
  };
  if (isLoader(data)) {
    const alpha = options.image?.alpha ?? 0;
    const nbits = options.image?.nbits ?? 8;
    const unit = options.nllUnit ?? 'bits-per-dim';
    for (let k = 0; k < data.batchesPerEpoch; k++) {
      const b = await data.next();
      const raw = tf.tensor2d(b.data, [b.size, dim]);
      const { y, logdet } = logitTransform(raw, alpha);
      raw.dispose();
      await add(y, (out) => imageNll(out, logdet, nbits, unit), [logdet]);
      samples += b.size;
    }
  } else {
    const m: Matrix = data instanceof Float32Array ? { data, rows: data.length / dim, cols: dim } : data;
    if (!Number.isInteger(m.rows) || m.cols !== dim) {
      throw new RnodeError('INVALID_ARGUMENT', `evaluation data has ${m.data.length} values, not rows of the dimension ${dim}`, { source: 'evaluation' });
    }
    const batch = options.batchSize ?? 1000;
    const unit = options.nllUnit ?? 'nats';
    for (let start = 0; start < m.rows; start += batch) {
      const rows = Math.min(batch, m.rows - start);
      await add(tf.tensor2d(m.data.subarray(start * dim, (start + rows) * dim), [rows, dim]), (out) => negativeLogLikelihood(out, unit), []);
    }
    samples = m.rows;
  }
  return { nll: total / samples, samples, nfe, solves };
}

function isLoader(d: unknown): d is BatchLoader {
  return typeof d === 'object' && d !== null && typeof (d as BatchLoader).next === 'function';
}
