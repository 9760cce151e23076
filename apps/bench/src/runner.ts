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
 *   Node): the same objective and updates built from `odeintAdjointAsync` (both solves through
 *   `odeintAsync`), `cnfDynamics`, the flow's block fields and the trainer's `Adam`.
 */
import * as tf from '@tensorflow/tfjs-core';
import { Random, RnodeError } from '@rnode/core';
import { odeintAdjointAsync, type AsyncAdjointSolution } from '@rnode/adjoint';
import { sampleToy } from '@rnode/data';
import { cnfDynamics, type CnfState } from '@rnode/estimators';
import { createFlow, standardNormalLogProb, type Flow } from '@rnode/models';
import { isAdaptiveSolver } from '@rnode/solvers';
import { Adam, createTrainer, describeTraining, resolveTraining, type TrainingOptions } from '@rnode/train';
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
  const a = asyncAdjointRunner(flow, o);
  return {
    flow,
    kind: 'async-adjoint',
    run: a.run,
    dispose() {
      a.dispose();
      flow.dispose();
    },
  };
}

const LOG_2PI = Math.log(2 * Math.PI);

/**
 * One training iteration without synchronous reads: forward solves with odeintAdjointAsync
 * block by block (one Gaussian probe per block, fixed over the solve), the objective's gradient
 * with respect to the final state, the backward solves in reverse block order, then Adam.
 * Same random streams as the trainer (`<seed>:data`, `<seed>:noise`).
 */
function asyncAdjointRunner(flow: Flow, o: ToyTrainingOptions): { run: IterationRunner; dispose(): void } {
  const s = resolveTraining(toyTrainingOptions(o.preset, o), 'bench');
  const estimator = s.estimator;
  const weighted = s.regularizers;
  const regs = weighted.map((w) => w.plugin);
  const dataRng = new Random(`${o.seed}:data`);
  const noiseRng = new Random(`${o.seed}:noise`);
  const optimizer = new Adam(flow.params, { lr: TOY_LR });
  const solve = {
    method: s.solver,
    ...(s.stepSize !== undefined ? { stepSize: s.stepSize } : {}),
    ...(s.rtol !== undefined ? { rtol: s.rtol } : {}),
    ...(s.atol !== undefined ? { atol: s.atol } : {}),
    ...(regs.length ? { errorControl: Object.fromEntries([['z', true], ['logp', true], ...regs.map((r) => [r.name, false])]) } : {}),
  };
  const run: IterationRunner = async () => {
    const n = o.batch;
    const x = tf.tensor2d(sampleToy(TOY_DATA, n, dataRng), [n, flow.dim]);
    let y: CnfState = { z: x, logp: tf.zeros([n]) };
    for (const r of regs) y[r.name] = tf.zeros([n]);
    const solves: Array<{ sol: AsyncAdjointSolution<CnfState>; eps: tf.Tensor | null }> = [];
    let nfeForward = 0;
    let nfeBackward = 0;
    const grads: tf.Tensor[][] = [];
    let loss = Number.NaN;
    try {
      for (const block of flow.blocks) {
        const eps = estimator.sampleNoise(y.z!.shape, noiseRng);
        const dyn = cnfDynamics({ field: block.field, estimator, regularizers: regs, noise: eps });
        const sol = await odeintAdjointAsync(dyn, y, [0, block.span], block.params, solve);
        solves.push({ sol, eps });
        nfeForward += sol.stats.nfe;
        tf.dispose(Object.values(y)); // the adjoint keeps its own copies of the stored states
        for (const st of sol.ys.slice(0, -1)) tf.dispose(Object.values(st));
        y = sol.ys[sol.ys.length - 1]!;
      }
      // Objective on the final state: mean(Δlogp − log N(z)) + Σ λ·mean(reg).
      const keys = ['z', 'logp', ...regs.map((r) => r.name)];
      const leaves = keys.map((k) => y[k]!);
      const { value, grads: g } = tf.valueAndGrads((...ts: tf.Tensor[]) => {
        const [z, logp, ...rs] = ts as [tf.Tensor, tf.Tensor, ...tf.Tensor[]];
        const logN = tf.sub(tf.mul(tf.sum(tf.square(z), 1), -0.5), 0.5 * flow.dim * LOG_2PI);
        let l = tf.mean(tf.sub(logp, logN)) as tf.Scalar;
        rs.forEach((r, i) => (l = tf.add(l, tf.mul(tf.mean(r), weighted[i]!.weight))));
        return l;
      })(leaves);
      let gState: CnfState = Object.fromEntries(keys.map((k, i) => [k, g[i]!]));
      for (let k = solves.length - 1; k >= 0; k--) {
        const { sol } = solves[k]!;
        const r = await sol.backward([null, gState]);
        nfeBackward += r.stats.nfe;
        tf.dispose(Object.values(gState));
        gState = r.dy0;
        grads[k] = r.dparams;
      }
      tf.dispose(Object.values(gState));
      optimizer.update(grads.flat(), TOY_LR);
      loss = (await value.data())[0]!;
      value.dispose();
    } finally {
      tf.dispose(Object.values(y));
      for (const { sol, eps } of solves) {
        sol.dispose();
        eps?.dispose();
      }
      tf.dispose(grads.flat());
    }
    if (!Number.isFinite(loss)) throw new RnodeError('NON_FINITE', `non-finite loss ${loss}`, { source: 'bench:async-adjoint' });
    return { nfeForward, nfeBackward, loss };
  };
  return { run, dispose: () => optimizer.dispose() };
}

/** Test NLL (nats) of a 2-D flow: exact divergence, dopri5 rtol = atol = 1e-5, solves of `batchSize` points. */
export async function evaluateToy(
  flow: Flow,
  data: Float32Array,
  o: { batchSize: number },
): Promise<{ nll: number; nfePerSolve: number; nfeTotal: number; solves: number }> {
  const rows = data.length / flow.dim;
  let total = 0;
  let nfeTotal = 0;
  let solves = 0;
  for (let start = 0; start < rows; start += o.batchSize) {
    const n = Math.min(o.batchSize, rows - start);
    const x = tf.tensor2d(data.subarray(start * flow.dim, (start + n) * flow.dim), [n, flow.dim]);
    try {
      const out = await flow.forwardAsync(x, { method: 'dopri5', rtol: 1e-5, atol: 1e-5, estimator: 'exact' });
      const s = tf.tidy(() => tf.sum(tf.sub(out.deltaLogp, standardNormalLogProb(out.z))));
      nfeTotal += out.stats.nfe;
      solves += 1;
      out.dispose();
      total += (await s.data())[0]!;
      s.dispose();
    } finally {
      x.dispose();
    }
  }
  return { nll: total / rows, nfePerSolve: nfeTotal / solves, nfeTotal, solves };
}
