import * as tf from '@tensorflow/tfjs-core';
import * as z from 'zod/mini';
import { RnodeError, numberOption, parseOptions, type Random } from '@rnode/core';
import { DEFAULTS, odeint, odeintAdjointOptionsSchema, type AdjointRef, type OdeintAdjointOptions, type OdeintOptions, type SolverRef } from '@rnode/adjoint';
import { resolveEstimator, resolveRegularizer, type EstimatorRef, type RegularizerPlugin, type RegularizerRef } from '@rnode/estimators';
import {
  forwardBlock,
  initialState,
  inverseBlock,
  makeFlowForward,
  plainSolver,
  solveBlocks,
  solveBlocksAsync,
  type BlockLoop,
  type FlowForward,
  type ForwardEnd,
  type ResolvedSolve,
} from './block-solve.js';
import { buildCnfBlock, checkT, type CnfBlock, type CnfBlockConfig } from './cnf.js';
import { ParamStore, randomSource, uniqueScope, type ParamSource } from './internal/params.js';
import { odeNetConfigSchema, resolveOdeNetConfig, type OdeNetConfig } from './odenet.js';

export type { FlowForward, FlowStats } from './block-solve.js';

export interface FlowConfig {
  /** Data dimension. */
  dim: number;
  /** One entry per block, applied in order data → base. */
  blocks: CnfBlockConfig[];
}

/** `createFlow`'s options: the flow's dimension and blocks, and the ODE net's (`odeNetConfigSchema` without inputDim, all optional). */
export const createFlowOptionsSchema = z.extend(z.partial(z.omit(odeNetConfigSchema, { inputDim: true })), {
  dim: numberOption('integer>0'),
  /** Number of stacked blocks (each with its own parameters over its own [0, T]); default 1. */
  blocks: z.optional(numberOption('integer>0')),
  /** End time of each block; default 1 (RNODE's time_length; FFJORD's toy uses 0.5). */
  T: z.optional(z.custom<number>((v) => typeof v === 'number' && v > 0 && Number.isFinite(v), { error: 'a positive finite number' })),
  /** Learn T = s² per block; default false (RNODE's train_T). */
  trainT: z.optional(z.boolean()),
});
export type CreateFlowOptions = z.input<typeof createFlowOptionsSchema>;

/** The backward solve's options a flow passes on (`odeintAdjointOptionsSchema`'s adjoint keys). */
const flowAdjointOptionsSchema = z.pick(odeintAdjointOptionsSchema, {
  adjointMethod: true,
  adjointRtol: true,
  adjointAtol: true,
  adjointStepSize: true,
  seminorm: true,
});

/** A flow's solve options (forward, inverse, log-likelihood, sampling). */
export const flowSolveOptionsSchema = z.object({
  /** Default 'dopri5'. */
  method: odeintAdjointOptionsSchema.shape.method,
  /** Fixed-grid step (rk4 …), in the solver's time: t ∈ [0, T], or τ ∈ [0, 1] when T is learned. */
  stepSize: odeintAdjointOptionsSchema.shape.stepSize,
  /** Default 1e-5 (as FFJORD/RNODE). Regularizer states are left out of the error norm (RNODE). */
  rtol: z.optional(numberOption('non-negative')),
  atol: z.optional(numberOption('non-negative')),
  maxSteps: odeintAdjointOptionsSchema.shape.maxSteps,
  /** Called after every step attempt of each block's solve (see `OdeintOptions.onStep`); a throw ends the solve. */
  onStep: odeintAdjointOptionsSchema.shape.onStep,
  /** Divergence estimator; default 'exact' (FFJORD's brute force; use 'hutchinson' to train in high dimension). */
  estimator: z.optional(z.custom<EstimatorRef>()),
  /** Regularizer integrals to accumulate (forward only), e.g. ['kinetic-energy', 'jacobian-frobenius']. */
  regularizers: z.optional(z.custom<readonly RegularizerRef[]>((v) => Array.isArray(v), { error: 'a list of regularizer plugins or names' })),
  /** Draws the estimator's probe once per block per solve; required by stochastic estimators. */
  noiseRng: z.optional(z.custom<Random>()),
  /** How `forward` gets gradients: 'backsolve' (default, continuous adjoint) or 'backprop'. */
  adjoint: z.optional(z.custom<AdjointRef>()),
  /** Options of the backward solve (adjointMethod, adjointRtol, adjointAtol, adjointStepSize, seminorm). */
  adjointOptions: z.optional(z.custom<z.input<typeof flowAdjointOptionsSchema>>()),
  /**
   * Use the fused kernels for the blocks that have them (default true; fixed-T blocks): dense tanh
   * nets on `cpu` and `wasm` (wasm SIMD) and on `webgpu` (WGSL), conv nets on `webgpu` (WGSL).
   * Same numbers to float32 rounding; false forces the op-level path.
   */
  fused: z.optional(z.boolean()),
});
export type FlowSolveOptions = z.input<typeof flowSolveOptionsSchema>;

/**
 * The methods every flow has (2-D and image), all from its one block solve; `X` is what
 * `inverse` and `sample` return ([B, D] points, or images).
 */
export interface FlowMethods<X extends tf.Tensor> {
  /** Data → base with gradients (adjoint or backprop through the solver). Synchronous. */
  forward(x: tf.Tensor, options?: FlowSolveOptions): FlowForward;
  /** Data → base without gradients, for evaluation on any backend (WebGPU in Node included). */
  forwardAsync(x: tf.Tensor, options?: FlowSolveOptions): Promise<FlowForward>;
  /** log p(x) in nats, [B] (of the model's input). */
  logProb(x: tf.Tensor, options?: FlowSolveOptions): tf.Tensor1D;
  logProbAsync(x: tf.Tensor, options?: FlowSolveOptions): Promise<tf.Tensor1D>;
  /** Base → data (the exact inverse: each block integrated from its end time back to 0, last block first). */
  inverse(z: tf.Tensor, options?: FlowSolveOptions): X;
  inverseAsync(z: tf.Tensor, options?: FlowSolveOptions): Promise<X>;
  /** n samples: base normals drawn from `rng` (host-side), then `inverse`. */
  sample(n: number, rng: Random, options?: FlowSolveOptions): X;
  sampleAsync(n: number, rng: Random, options?: FlowSolveOptions): Promise<X>;
}

export interface Flow extends FlowMethods<tf.Tensor2D> {
  readonly config: FlowConfig;
  readonly dim: number;
  readonly blocks: readonly CnfBlock[];
  /** All variables (block 0's first); trainable. */
  readonly params: tf.Variable[];
  /** Stable names of `params` (`block{k}/layer{i}/W`, `block{k}/sqrtT`): the save format's keys. */
  readonly paramNames: string[];
  /**
   * z at the given times, data → base, on the flow's clock: block k covers
   * [T_0 + … + T_{k−1}, T_0 + … + T_k]; times increasing within [0, ΣT].
   */
  trajectories(x: tf.Tensor, times: readonly number[], options?: FlowSolveOptions): tf.Tensor2D[];
  /** Dispose all variables. */
  dispose(): void;
}

/**
 * log N(z; 0, I) per sample, [B], in nats: −½‖z_b‖² − (D/2)·log 2π. Any rank: z is
 * [B, ...dims] with D = the product of dims (a 2-D flow's [B, D], an image [B, H, W, C]).
 */
export function standardNormalLogProb(z: tf.Tensor): tf.Tensor1D {
  return tf.tidy(() => {
    const flat = tf.reshape(z, [z.shape[0] ?? 1, -1]);
    const d = flat.shape[1]!;
    return tf.sub(tf.mul(tf.sum(tf.square(flat), 1), -0.5), 0.5 * d * Math.log(2 * Math.PI)) as tf.Tensor1D;
  });
}

export function checkCount(v: unknown, name: string, code: 'INVALID_OPTIONS' | 'INVALID_CHECKPOINT'): number {
  if (typeof v !== 'number' || !Number.isInteger(v) || v <= 0) {
    throw new RnodeError(code, `"${name}" must be a positive integer, got ${String(v)}`, { source: `option:${name}` });
  }
  return v;
}

/** Validate a full FlowConfig (used by createFlow and by loadModel). */
export function resolveFlowConfig(config: FlowConfig, code: 'INVALID_OPTIONS' | 'INVALID_CHECKPOINT'): FlowConfig {
  if (typeof config !== 'object' || config === null) throw new RnodeError(code, 'the flow config must be an object', { source: 'model:flow' });
  const dim = checkCount(config.dim, 'dim', code);
  if (!Array.isArray(config.blocks) || config.blocks.length === 0) {
    throw new RnodeError(code, '"blocks" must be a non-empty list of block configs', { source: 'option:blocks' });
  }
  const blocks = config.blocks.map((b, k) => {
    if (typeof b !== 'object' || b === null) throw new RnodeError(code, `block ${k} must be an object`, { source: `block:${k}` });
    const net = resolveOdeNetConfig(b.net, code);
    if (net.inputDim !== dim) {
      throw new RnodeError(code, `block ${k} has inputDim ${net.inputDim}, the flow's dim is ${dim}`, { source: `block:${k}` });
    }
    if (typeof b.trainT !== 'boolean') throw new RnodeError(code, `block ${k}: "trainT" must be a boolean`, { source: `block:${k}` });
    return { net, T: checkT(b.T, code), trainT: b.trainT };
  });
  return { dim, blocks };
}

/**
 * A stacked CNF: `blocks` blocks, each with its own ODE net over its own [0, T] (the paper's
 * piecewise-constant θ(t)), initialised from `rng` on the host.
 */
export function createFlow(options: CreateFlowOptions | FlowConfig, rng: Random): Flow {
  let config: FlowConfig;
  if (Array.isArray((options as FlowConfig).blocks)) {
    config = resolveFlowConfig(options as FlowConfig, 'INVALID_OPTIONS');
  } else {
    const o = parseOptions(createFlowOptionsSchema, options, 'model:flow');
    const { dim, blocks, T, trainT, ...net } = o;
    const n = blocks ?? 1;
    // parseOptions returns the present keys only (no undefined values).
    const netConfig = resolveOdeNetConfig({ ...net, inputDim: dim } as Parameters<typeof resolveOdeNetConfig>[0]);
    const T0 = T ?? 1;
    config = { dim, blocks: Array.from({ length: n }, () => ({ net: { ...netConfig, hidden: [...netConfig.hidden] }, T: T0, trainT: trainT ?? false })) };
  }
  return buildFlow(config, randomSource(rng));
}

function missingRng(estimator: string): Random {
  const fail = () => {
    throw new RnodeError('INVALID_OPTIONS', `estimator "${estimator}" draws a probe: pass option "noiseRng" (a Random)`, {
      source: 'option:noiseRng',
    });
  };
  return new Proxy({} as Random, { get: () => fail });
}

/**
 * The Flow methods, from a flow's two walks over its blocks (block-solve.ts): 2-D and image
 * flows get them the same way (one block solve, sync and async; log-density; sampling through
 * the inverse).
 */
export function flowMethods<X extends tf.Tensor>(o: {
  dim: number;
  /** The data → base walk (checks x's shape when called). */
  forwardLoop: (x: tf.Tensor, regs: readonly RegularizerPlugin[]) => BlockLoop<ForwardEnd>;
  /** The base → data walk, blocks reversed (checks z's shape when called). */
  inverseLoop: (z: tf.Tensor) => BlockLoop<X>;
}): FlowMethods<X> {
  const { dim, forwardLoop, inverseLoop } = o;
  /** `grad`: through the adjoint plugin, differentiable; else plain odeint. */
  const solveForward = (x: tf.Tensor, s: ResolvedSolve, grad: boolean): FlowForward => {
    const r = solveBlocks(forwardLoop(x, s.regs), s, grad);
    return makeFlowForward(r.out.z, r.out.state, s.regs, r.stats, r.kept);
  };
  const solveForwardAsync = async (x: tf.Tensor, s: ResolvedSolve): Promise<FlowForward> => {
    const r = await solveBlocksAsync(forwardLoop(x, s.regs), s);
    return makeFlowForward(r.out.z, r.out.state, s.regs, r.stats);
  };
  const inverse = (z: tf.Tensor, options?: FlowSolveOptions): X => {
    const loop = inverseLoop(z);
    return solveBlocks(loop, resolveSolve(options)).out;
  };
  const inverseAsync = async (z: tf.Tensor, options?: FlowSolveOptions): Promise<X> => {
    const loop = inverseLoop(z);
    return (await solveBlocksAsync(loop, resolveSolve(options))).out;
  };
  return {
    forward(x: tf.Tensor, options?: FlowSolveOptions): FlowForward {
      return solveForward(x, resolveSolve(options), true);
    },
    forwardAsync(x: tf.Tensor, options?: FlowSolveOptions): Promise<FlowForward> {
      return solveForwardAsync(x, resolveSolve(options));
    },
    logProb(x: tf.Tensor, options?: FlowSolveOptions): tf.Tensor1D {
      const s = resolveSolve(options);
      return tf.tidy(() => {
        const r = solveForward(x, s, false);
        return tf.sub(standardNormalLogProb(r.z), r.deltaLogp) as tf.Tensor1D;
      });
    },
    async logProbAsync(x: tf.Tensor, options?: FlowSolveOptions): Promise<tf.Tensor1D> {
      const r = await solveForwardAsync(x, resolveSolve(options));
      const out = tf.tidy(() => tf.sub(standardNormalLogProb(r.z), r.deltaLogp) as tf.Tensor1D);
      r.dispose();
      return out;
    },
    inverse,
    inverseAsync,
    sample(n: number, rng: Random, options?: FlowSolveOptions): X {
      const z = rng.normal([checkCount(n, 'n', 'INVALID_OPTIONS'), dim]);
      try {
        return inverse(z, options);
      } finally {
        z.dispose();
      }
    },
    async sampleAsync(n: number, rng: Random, options?: FlowSolveOptions): Promise<X> {
      const z = rng.normal([checkCount(n, 'n', 'INVALID_OPTIONS'), dim]);
      try {
        return await inverseAsync(z, options);
      } finally {
        z.dispose();
      }
    },
  };
}

export function resolveSolve(options: FlowSolveOptions | undefined): ResolvedSolve {
  const o = parseOptions(flowSolveOptionsSchema, options, 'model:flow');
  const estimator = resolveEstimator(o.estimator ?? 'exact');
  const regs = (o.regularizers ?? []).map((r) => resolveRegularizer(r));
  const solver: OdeintOptions = { method: o.method ?? DEFAULTS.method, rtol: o.rtol ?? DEFAULTS.rtol, atol: o.atol ?? DEFAULTS.atol };
  if (o.stepSize !== undefined) solver.stepSize = o.stepSize;
  if (o.maxSteps !== undefined) solver.maxSteps = o.maxSteps;
  if (o.onStep !== undefined) solver.onStep = o.onStep;
  if (regs.length) {
    const ec: Record<string, boolean> = { z: true, logp: true };
    for (const r of regs) ec[r.name] = false;
    solver.errorControl = ec;
  }
  const adjointOptions = parseOptions(flowAdjointOptionsSchema, o.adjointOptions, 'option:adjointOptions');
  return {
    solver,
    estimator,
    regs,
    rng: o.noiseRng ?? missingRng(estimator.name),
    adjoint: o.adjoint ?? 'backsolve',
    adjointOptions,
    fused: o.fused ?? true,
  };
}

/** @internal build a flow from a resolved config, parameters from `source`. */
export function buildFlow(config: FlowConfig, source: ParamSource): Flow {
  const store = new ParamStore(uniqueScope('rnode-flow'), source);
  const dim = config.dim;
  let blocks: CnfBlock[];
  try {
    blocks = config.blocks.map((b, k) => buildCnfBlock(b, store, `block${k}/`));
  } catch (e) {
    store.variables.forEach((v) => v.dispose()); // e.g. a bad weight in a model file
    throw e;
  }
  const params = store.variables.slice();
  const paramNames = store.names.slice();

  const checkX = (x: tf.Tensor, what: string) => {
    if (x.rank !== 2 || x.shape[1] !== dim) {
      throw new RnodeError('SHAPE_MISMATCH', `${what} must be [batch, ${dim}], got [${x.shape.join(', ')}]`, { source: 'model:flow' });
    }
  };

  /** Data → base: every block over [0, span], in order. */
  const forwardLoop = (x: tf.Tensor, regs: readonly RegularizerPlugin[]): BlockLoop<ForwardEnd> => {
    checkX(x, 'x');
    return (function* () {
      let y = initialState(tf.clone(x), regs);
      try {
        for (const block of blocks) y = yield* forwardBlock(block, y);
      } catch (e) {
        tf.dispose(y);
        throw e;
      }
      return { z: y.z as tf.Tensor2D, state: y };
    })();
  };

  /** Base → data: each block from its end back to 0, last block first. */
  const inverseLoop = (z: tf.Tensor): BlockLoop<tf.Tensor2D> => {
    checkX(z, 'z');
    return (function* () {
      let y = tf.clone(z);
      try {
        for (let k = blocks.length - 1; k >= 0; k--) y = yield* inverseBlock(blocks[k]!, y);
      } catch (e) {
        y.dispose();
        throw e;
      }
      return y as tf.Tensor2D;
    })();
  };

  const zField = (block: CnfBlock) => (t: number, z: tf.Tensor) => block.field(t, z);

  const flow: Flow = {
    config,
    dim,
    blocks,
    params,
    paramNames,
    ...flowMethods({ dim, forwardLoop, inverseLoop }),
    trajectories(x, times, options) {
      checkX(x, 'x');
      const s = plainSolver(resolveSolve(options).solver);
      const Ts = blocks.map((b) => b.endTime());
      const total = Ts.reduce((a, b) => a + b, 0);
      const ts = Array.from(times);
      const tol = 1e-6 * Math.max(1, total); // T = s² is float32
      ts.forEach((t, i) => {
        if (!(t >= -tol && t <= total + tol) || (i > 0 && !(t > ts[i - 1]!))) {
          throw new RnodeError('INVALID_ARGUMENT', `times must increase within [0, ${total}] (the sum of the blocks' end times); times[${i}] = ${t}`, {
            source: 'argument:times',
          });
        }
      });
      return tf.tidy(() => {
        const out: tf.Tensor2D[] = [];
        let y: tf.Tensor = x;
        let offset = 0;
        let next = 0;
        blocks.forEach((block, k) => {
          const T = Ts[k]!;
          const end = offset + T;
          const scale = block.sqrtT ? 1 / T : 1; // solver clock: τ = t/T when T is learned
          const local: number[] = [];
          while (next < ts.length && (ts[next]! <= end + tol || k === blocks.length - 1)) local.push(ts[next++]!);
          const grid = [0];
          const idx = local.map((t) => {
            const u = Math.min(block.span, Math.max(0, (t - offset) * scale));
            if (u > grid[grid.length - 1]! + 1e-12) grid.push(u);
            return grid.length - 1;
          });
          const needsEnd = k < blocks.length - 1 || grid.length === 1;
          if (grid[grid.length - 1]! < block.span - 1e-12 && (needsEnd || local.length)) grid.push(block.span);
          if (grid.length === 1) {
            for (const _ of idx) out.push(tf.clone(y) as tf.Tensor2D);
          } else {
            const sol = odeint(zField(block), y, grid, s);
            for (const i of idx) out.push(tf.clone(sol.ys[i]!) as tf.Tensor2D);
            y = sol.ys[sol.ys.length - 1]!;
          }
          offset = end;
        });
        return out;
      });
    },
    dispose() {
      params.forEach((p) => p.dispose());
    },
  };
  return flow;
}
