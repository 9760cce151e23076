/**
 * The per-iteration runners of the toy2d workloads. A runner is a small function
 * `(ctx) => Promise<{ nfeForward, nfeBackward }>` that does one complete training iteration
 * (fresh batch, forward solve, adjoint backward solve, Adam update); the workloads time it from
 * outside. Swapping the trainer (a data-parallel one, say) means changing `createToyTraining`.
 *
 * Two runners:
 * - 'trainer': `createTrainer` of @rnode/train (`trainer.step()`: one tf.variableGrads with the
 *   flow's synchronous adjoint, one batched host read, the Adam update). Works on every backend
 *   for fixed-grid solvers (they never read the host) and everywhere synchronous reads work.
 * - 'async-adjoint': for an adaptive solver on a backend without synchronous reads (WebGPU in
 *   Node): `createAsyncAdjointTrainer` of @rnode/train (the same objective and updates, both
 *   solves through `odeintAdjointAsync`).
 */
import { Random, RnodeError } from '@rnode/core';
import { createFlow, type Flow } from '@rnode/models';
import { isAdaptiveSolver } from '@rnode/solvers';
import { createAsyncAdjointTrainer, createTrainer, describeTraining, evaluateNll, resolveTraining, type TrainingOptions } from '@rnode/train';
import { createWorkerGradients } from '@rnode/train/node';

export interface IterationContext {
  /** 0-based index of this iteration in the run (warm-up iterations included). */
  iteration: number;
}

export interface IterationResult {
  nfeForward: number;
  nfeBackward: number;
  /** The objective of the batch (for progress lines and sanity checks). */
  loss: number;
}

export type IterationRunner = (ctx: IterationContext) => Promise<IterationResult>;

export type ToyPreset = 'rnode' | 'ffjord';

export const TOY_DATA = 'pinwheel';
export const TOY_NET = { dim: 2, hidden: [64, 64, 64], layer: 'concatsquash', activation: 'tanh', blocks: 1, T: 1, trainT: false } as const;
export const TOY_LR = 1e-3;

/** Throws for a worker count the runners cannot use. */
export function checkWorkers(workers: number): void {
  if (!Number.isInteger(workers) || workers < 1 || workers > 64) {
    throw new RnodeError('INVALID_OPTIONS', `--workers must be an integer in [1, 64], got ${workers}`, { source: 'option:workers' });
  }
}

/**
 * The trainer options of the toy2d workloads (WORKLOADS.md): the preset ('rnode': rk38 step 0.25,
 * λK = λJ = 0.01; 'ffjord': dopri5 1e-5, none), with kinetic energy and Jacobian Frobenius norm
 * SUMMED over the 2 dimensions (the default reduction is the mean). By name, so workers can
 * rebuild them.
 */
export function toyTrainingOptions(preset: ToyPreset, o: { batch?: number; seed?: number } = {}): TrainingOptions {
  return { preset, lr: TOY_LR, reduction: 'sum', ...(o.batch !== undefined ? { batchSize: o.batch } : {}), ...(o.seed !== undefined ? { seed: o.seed } : {}) };
}

/** The settings the toy2d trainer runs with (`describeTraining` of @rnode/train: what its checkpoints record). */
export function toySettings(preset: ToyPreset): Record<string, unknown> {
  return describeTraining(resolveTraining(toyTrainingOptions(preset), 'bench'));
}

export interface ToyTrainingOptions {
  preset: ToyPreset;
  batch: number;
  seed: number;
  /** Threads of a data-parallel step (1: this thread only; n: this one and n − 1 workers). Fixed-grid presets only in spirit: adaptive solvers pick steps per shard. */
  workers: number;
  /** Whether the backend reads synchronously; false selects the async adjoint for adaptive solvers. */
  syncRead: boolean;
  /** Force a runner (tests compare the two); default: 'trainer' unless the solver is adaptive and syncRead is false. */
  runner?: 'trainer' | 'async-adjoint';
}

export interface ToyTraining {
  flow: Flow;
  run: IterationRunner;
  kind: 'trainer' | 'async-adjoint';
  dispose(): void;
}

/** A fresh toy2d model (seeded as `rnode train` seeds it) and its per-iteration runner. */
export function createToyTraining(o: ToyTrainingOptions): ToyTraining {
  checkWorkers(o.workers);
  const adaptive = isAdaptiveSolver(resolveTraining(toyTrainingOptions(o.preset), 'bench').solver, 'solver');
  const flow = createFlow({ ...TOY_NET, hidden: [...TOY_NET.hidden] }, new Random(`${o.seed}:model`));
  const kind = o.runner ?? (!adaptive || o.syncRead ? 'trainer' : 'async-adjoint');
  if (kind === 'trainer') {
    // Data-parallel: the trainer computes one shard, workers (each with its own backend) the
    // others; the probes are the same numbers as in one process (see @rnode/train's shardRandom).
    const parallel = o.workers > 1 ? createWorkerGradients({ threads: o.workers }) : undefined;
    const trainer = createTrainer({ flow, data: TOY_DATA, ...toyTrainingOptions(o.preset, o), ...(parallel ? { parallel } : {}) });
    return {
      flow,
      kind: 'trainer',
      run: async () => {
        const e = await trainer.step();
        return { nfeForward: e.nfeForward, nfeBackward: e.nfeBackward, loss: e.loss };
      },
      dispose() {
        trainer.dispose();
        flow.dispose();
        void parallel?.dispose();
      },
    };
  }
  // Adaptive solver without synchronous reads: @rnode/train's asynchronous trainer (same objective, settings and streams).
  const a = createAsyncAdjointTrainer({ flow, data: TOY_DATA, ...toyTrainingOptions(o.preset, o) });
  return {
    flow,
    kind: 'async-adjoint',
    run: () => a.step(),
    dispose() {
      a.dispose();
      flow.dispose();
    },
  };
}

/** Test NLL (nats) of a 2-D flow: @rnode/train's `evaluateNll` with exact divergence and the default solve (dopri5, rtol = atol = 1e-5), solves of `batchSize` points. */
export async function evaluateToy(
  flow: Flow,
  data: Float32Array,
  o: { batchSize: number },
): Promise<{ nll: number; nfePerSolve: number; nfeTotal: number; solves: number }> {
  const r = await evaluateNll(flow, data, { solve: { estimator: 'exact' }, batchSize: o.batchSize });
  return { nll: r.nll, nfePerSolve: r.nfe / r.solves, nfeTotal: r.nfe, solves: r.solves };
}
