import type * as tf from '@tensorflow/tfjs-core';
import type { Random } from '@rnode/core';
import type { EstimatorRef, RegularizerRef } from '@rnode/estimators';
import type { AdjointRef } from '@rnode/adjoint';
import type { SolverRef } from '@rnode/solvers';

/**
 * What the trainer needs from a flow: the `Flow` of `@rnode/models` (see
 * docs/ARCHITECTURE.md) satisfies it structurally. Any object with the same
 * members can be trained (a custom model, a test double).
 */
export interface TrainableFlow {
  readonly params: readonly tf.Variable[];
  /** Dimension of one data point (the number of features). */
  readonly dim: number;
  /** data → base, differentiable (adjoint or backprop). */
  forward(x: tf.Tensor, o: TrainFlowSolveOptions): TrainFlowForward;
  /** data → base, for evaluation on any backend. */
  forwardAsync(x: tf.Tensor, o: TrainFlowSolveOptions): Promise<TrainFlowForward>;
  /** base → data (sampling). */
  inverse(z: tf.Tensor, o: TrainFlowSolveOptions): tf.Tensor;
}

export interface TrainFlowSolveOptions {
  method: SolverRef;
  stepSize?: number;
  rtol?: number;
  atol?: number;
  estimator: EstimatorRef;
  regularizers?: readonly RegularizerRef[];
  noiseRng: Random;
  adjoint?: AdjointRef;
  onStats?: (s: TrainFlowStats) => void;
}

/** Cost of one block's solve; `backward` is live (filled in when the gradient is taken). */
export interface TrainFlowStats {
  nfe: number;
  backward?: { readonly nfe: number; readonly done: boolean } | null;
}

export interface TrainFlowForward {
  /** Base-space points [B, dim]. */
  z: tf.Tensor;
  /** [B]; log p(x) = log N(z; 0, I) − deltaLogp. */
  deltaLogp: tf.Tensor;
  /** Each regularizer's integral [B], summed over blocks, by regularizer name. */
  regularizers: Record<string, tf.Tensor>;
}
