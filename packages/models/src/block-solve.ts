import * as tf from '@tensorflow/tfjs-core';
import type { Random } from '@rnode/core';
import {
  odeint,
  odeintAsync,
  odeintWith,
  type AdjointRef,
  type BackwardStats,
  type OdeSolution,
  type OdeintAdjointOptions,
  type OdeintOptions,
} from '@rnode/adjoint';
import { cnfDynamics, type CnfState, type EstimatorPlugin, type RegularizerPlugin, type VectorField } from '@rnode/estimators';
import { canFuse, fusedNetField, packNetParams } from './kernels/fused.js';

/**
 * The per-block CNF solve of every flow (2-D and image, data → base and base → data), written
 * once. A flow describes its walk over the blocks — the order, the squeezes and factor-outs — as
 * a generator (`BlockLoop`) that yields one request per block and receives the block's end
 * state; `solveBlocks` (sync: odeint, or the adjoint plugin for gradients) and `solveBlocksAsync`
 * (odeintAsync: any backend, no gradients) drive it, as `@rnode/solvers` drives its one
 * integration loop. The solver is reached only through `@rnode/adjoint`.
 */

/** A flow's solve options, resolved once per call (`resolveSolve`). */
export interface ResolvedSolve {
  solver: OdeintOptions;
  estimator: EstimatorPlugin;
  regs: RegularizerPlugin[];
  rng: Random;
  adjoint: AdjointRef;
  adjointOptions: Pick<OdeintAdjointOptions, 'adjointMethod' | 'adjointRtol' | 'adjointAtol' | 'adjointStepSize' | 'seminorm'>;
  fused: boolean;
}

export interface FlowStats {
  /** Forward evaluations of the dynamics, summed over blocks. */
  nfe: number;
  accepted: number;
  rejected: number;
  /**
   * Backward (adjoint) cost, live: zero with done false until the gradient is taken; null when
   * there is no separate backward solve (backprop, or an evaluation path).
   */
  readonly backward: { readonly nfe: number; readonly done: boolean } | null;
}

export interface FlowForward {
  /** The base-space points, [B, D]. */
  z: tf.Tensor2D;
  /** [B]; logp(x) = log N(z; 0, I) − deltaLogp (FFJORD's convention: −Σ_blocks ∫ div f dt). */
  deltaLogp: tf.Tensor1D;
  /** Each regularizer's integral ([B]), summed over blocks. */
  regs: Record<string, tf.Tensor1D>;
  stats: FlowStats;
  /**
   * Dispose z, deltaLogp, regs, and the Hutchinson probes kept for a gradient that was never
   * taken (after a backward pass they are already released).
   */
  dispose(): void;
}

/**
 * The result of a data → base solve: z, Δlogp and the regularizer integrals taken from the final
 * augmented state; `dispose` also releases tensors kept for a pending backward pass.
 * @internal
 */
export function makeFlowForward(
  z: tf.Tensor2D,
  state: CnfState,
  regs: readonly RegularizerPlugin[],
  stats: FlowStats,
  kept: tf.Tensor[] = [],
): FlowForward {
  const out: FlowForward = {
    z,
    deltaLogp: state.logp as tf.Tensor1D,
    regs: Object.fromEntries(regs.map((r) => [r.name, state[r.name] as tf.Tensor1D])),
    stats,
    dispose() {
      tf.dispose([out.z, out.deltaLogp, ...Object.values(out.regs), ...kept]);
    },
  };
  return out;
}

/** The solver options without the per-component error control (a z-only solve). */
export function plainSolver(s: OdeintOptions): OdeintOptions {
  const out: OdeintOptions = { ...s };
  delete out.errorControl;
  return out;
}

/** What a block solve reads of a block: the 2-D `CnfBlock` and the `ImageCnfBlock` are both one. */
export interface SolvableBlock {
  /** Asked `canFuse`: a dense tanh net at fixed T runs on the fused kernels. */
  readonly net: { readonly config: object; readonly params: readonly tf.Tensor[] };
  readonly field: VectorField;
  readonly params: readonly tf.Tensor[];
  readonly sqrtT: tf.Variable | null;
  /** The solver's interval is [0, span]. */
  readonly span: number;
}

/**
 * One block's solve, asked of the driver: data → base over [0, span] on the augmented state
 * (z, Δlogp, regularizers), or base → data over [span, 0] on z alone. The answer is the state at
 * the end of the interval; a solve that succeeds consumes (disposes) its input.
 */
export type BlockRequest =
  | { readonly dir: 'forward'; readonly block: SolvableBlock; readonly y: CnfState }
  | { readonly dir: 'inverse'; readonly block: SolvableBlock; readonly y: tf.Tensor };

/**
 * A flow's walk over its blocks. It owns the tensors it holds between requests: when a solve
 * throws, the driver throws the error into it at the `yield`, where it disposes them and rethrows.
 */
export type BlockLoop<R> = Generator<BlockRequest, R, CnfState | tf.Tensor>;

/** The data → base walk's result: the base point and the final augmented state (Δlogp, regularizers). */
export type ForwardEnd = { z: tf.Tensor2D; state: CnfState };

/** `y = yield* forwardBlock(block, y)`: one block data → base. */
export function* forwardBlock(block: SolvableBlock, y: CnfState): BlockLoop<CnfState> {
  return (yield { dir: 'forward', block, y }) as CnfState;
}

/** `z = yield* inverseBlock(block, z)`: one block base → data. */
export function* inverseBlock(block: SolvableBlock, z: tf.Tensor): BlockLoop<tf.Tensor> {
  return (yield { dir: 'inverse', block, y: z }) as tf.Tensor;
}

/** The augmented state at the data end, owning `z`: Δlogp = 0 and each regularizer 0, [B]. */
export function initialState(z: tf.Tensor, regs: readonly RegularizerPlugin[]): CnfState {
  const b = z.shape[0]!;
  const s: CnfState = { z, logp: tf.zeros([b]) };
  for (const r of regs) s[r.name] = tf.zeros([b]);
  return s;
}

/** One call's blocks: the options, how gradients are taken, and what the forward solves tally. */
interface Run {
  readonly s: ResolvedSolve;
  /** The z-only options of the inverse solves. */
  readonly plain: OdeintOptions;
  /** Solve through the adjoint plugin (sync only). */
  readonly grad: boolean;
  /** `grad` under an active tape: the backward pass runs after the solve returns. */
  readonly taped: boolean;
  readonly counts: { nfe: number; accepted: number; rejected: number };
  readonly backs: BackwardStats[];
  /** Tensors kept (tf.keep) for pending backward passes; released by `onBackward` or `FlowForward.dispose`. */
  readonly kept: tf.Tensor[];
}

function newRun(s: ResolvedSolve, grad: boolean): Run {
  const taped = grad && tf.engine().state.gradientDepth > 0;
  return { s, plain: plainSolver(s.solver), grad, taped, counts: { nfe: 0, accepted: 0, rejected: 0 }, backs: [], kept: [] };
}

function runStats(run: Run): FlowStats {
  const { backs } = run;
  const backward =
    backs.length === 0
      ? null
      : {
          get nfe() {
            return backs.reduce((a, b) => a + b.nfe, 0);
          },
          get done() {
            return backs.every((b) => b.done);
          },
        };
  return { ...run.counts, backward };
}

/**
 * A forward block's dynamics and the tensors made for this solve: the probe ε (drawn once per
 * block per solve) and, where the block runs on the fused kernels, its packed θ (one tensor, the
 * adjoint's only parameter leaf). Both are read by the backward pass.
 */
function blockDynamics(block: SolvableBlock, y: CnfState, s: ResolvedSolve) {
  const eps = s.estimator.sampleNoise(y.z!.shape, s.rng);
  let field = block.field;
  let params = block.params;
  let theta: tf.Tensor | null = null;
  if (s.fused && block.sqrtT === null && canFuse(block.net)) {
    theta = packNetParams(block.net);
    field = fusedNetField(block.net, theta);
    params = [theta];
  }
  const dyn = cnfDynamics({ field, estimator: s.estimator, regularizers: s.regs, noise: eps });
  const made = [eps, theta].filter((v): v is tf.Tensor => v !== null);
  return { dyn, params, made };
}

/** z alone, integrated by the block's field (the inverse). */
const zField = (block: SolvableBlock) => (t: number, z: tf.Tensor) => block.field(t, z);

const leaves = (s: CnfState | tf.Tensor): tf.Tensor[] => (s instanceof tf.Tensor ? [s] : Object.values(s));

/** The end state of a solve; the input and the other output states are disposed. */
function consume<T extends CnfState | tf.Tensor>(y: T, ys: readonly T[]): T {
  const last = ys[ys.length - 1]!;
  const live = new Set(leaves(last));
  for (const t of [y, ...ys].flatMap(leaves)) if (!live.has(t)) t.dispose();
  return last;
}

function tally(run: Run, y: CnfState, sol: OdeSolution<CnfState>): CnfState {
  run.counts.nfe += sol.stats.nfe;
  run.counts.accepted += sol.stats.accepted;
  run.counts.rejected += sol.stats.rejected;
  return consume(y, sol.ys);
}

function solveSync(r: BlockRequest, run: Run): CnfState | tf.Tensor {
  const { s } = run;
  if (r.dir === 'inverse') return consume(r.y, odeint(zField(r.block), r.y, [r.block.span, 0], run.plain).ys);
  const { dyn, params, made } = blockDynamics(r.block, r.y, s);
  let keep = false;
  try {
    if (!run.grad) return tally(run, r.y, odeint(dyn, r.y, [0, r.block.span], s.solver));
    // Under a tape the backward pass reads ε and θ after this returns: keep them until it has run.
    const release = made.length && run.taped ? { onBackward: () => tf.dispose(made) } : {};
    const a = odeintWith(s.adjoint, dyn, r.y, [0, r.block.span], params, { ...s.solver, ...s.adjointOptions, ...release });
    if (a.backward !== null) {
      run.backs.push(a.backward);
      keep = run.taped;
    }
    return tally(run, r.y, a);
  } finally {
    if (keep) for (const v of made) run.kept.push(tf.keep(v));
    else tf.dispose(made);
  }
}

async function solveAsync(r: BlockRequest, run: Run): Promise<CnfState | tf.Tensor> {
  if (r.dir === 'inverse') return consume(r.y, (await odeintAsync(zField(r.block), r.y, [r.block.span, 0], run.plain)).ys);
  const { dyn, made } = blockDynamics(r.block, r.y, run.s);
  try {
    return tally(run, r.y, await odeintAsync(dyn, r.y, [0, r.block.span], run.s.solver));
  } finally {
    tf.dispose(made);
  }
}

export interface BlocksResult<R> {
  out: R;
  stats: FlowStats;
  /** Tensors kept for the backward passes (pass to `makeFlowForward`). */
  kept: tf.Tensor[];
}

/**
 * Drive a walk synchronously inside one tf.tidy. `grad`: each forward block through the adjoint
 * plugin (gradients under a tape; the probe and θ kept until that block's backward pass has
 * run), else plain odeint.
 */
export function solveBlocks<R extends tf.TensorContainer>(loop: BlockLoop<R>, s: ResolvedSolve, grad = false): BlocksResult<R> {
  const run = newRun(s, grad);
  const out = tf.tidy(() => {
    let r = loop.next();
    while (!r.done) {
      let v: CnfState | tf.Tensor;
      try {
        v = solveSync(r.value, run);
      } catch (e) {
        loop.throw(e);
        throw e;
      }
      r = loop.next(v);
    }
    return r.value;
  });
  return { out, stats: runStats(run), kept: run.kept };
}

/** Drive a walk with odeintAsync (no gradients; any backend, WebGPU in Node included). */
export async function solveBlocksAsync<R>(loop: BlockLoop<R>, s: ResolvedSolve): Promise<BlocksResult<R>> {
  const run = newRun(s, false);
  let r = loop.next();
  while (!r.done) {
    let v: CnfState | tf.Tensor;
    try {
      v = await solveAsync(r.value, run);
    } catch (e) {
      loop.throw(e);
      throw e;
    }
    r = loop.next(v);
  }
  return { out: r.value, stats: runStats(run), kept: [] };
}
