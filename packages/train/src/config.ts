import { RnodeError, checkNumber, checkOptions, describe, type KnownNames, type Random } from '@rnode/core';
import {
  jacobianFrobenius,
  kineticEnergy,
  resolveEstimator,
  resolveRegularizer,
  type EstimatorPlugin,
  type EstimatorRef,
  type Reduction,
  type RegularizerPlugin,
  type RegularizerRef,
} from '@rnode/estimators';
import { resolveAdjoint, type AdjointPlugin, type AdjointRef } from '@rnode/adjoint';
import { DEFAULTS, isAdaptiveSolver, type OdeintOptions, type SolverRef } from '@rnode/solvers';
import type { Matrix } from '@rnode/data';
import type { ImageSource } from './image.js';
import { presets, type Preset, type PresetName } from './presets.js';

/** Row-major data matrix, as `@rnode/data`'s parsers return it. */
/** A row-major float32 matrix: `Matrix` of `@rnode/data` (its one home), re-exported here. */
export type { Matrix };

/** Fresh samples per batch (toy data): n points, row-major n×dim. */
export type Sampler = (n: number, rng: Random) => Float32Array;

/** Tabular splits; batches are drawn from `train` in a shuffled order, reshuffled every epoch. */
export interface TabularSource {
  train: Matrix;
  validation?: Matrix;
  test?: Matrix;
}

/** A sampler, tabular splits, images, or the name of a toy set of `@rnode/data` ('pinwheel', '8gaussians', …). */
/** Training data: a sampler, tabular splits, images, or a registered dataset's name (the toy sets, or a user's). */
export type DataSource = Sampler | TabularSource | ImageSource | KnownNames['dataset'];

/** A regularizer with its weight λ; `use` is a registered name or a plugin. */
export interface WeightedRegularizer {
  use: RegularizerRef;
  weight: number;
}

export type NllUnit = 'nats' | 'bits-per-dim';

/** Test-time solve (evaluation and sampling). */
export interface EvaluationOptions {
  /** Default: `DEFAULTS.method` of `@rnode/solvers` (dopri5). */
  solver?: SolverRef;
  /** Default: `DEFAULTS.rtol` / `DEFAULTS.atol` of `@rnode/solvers`. */
  rtol?: number;
  atol?: number;
  stepSize?: number;
  /** Exact divergence up to this dimension (default 8), Hutchinson above. */
  exactMaxDim?: number;
  /** Overrides the exact/Hutchinson choice. */
  estimator?: EstimatorRef;
  /** Validation points drawn once from a sampler source (default 1000). */
  samples?: number;
  /** Points per evaluation solve (default 1000; 200 for images, RNODE's test batch). */
  batchSize?: number;
  /** Step attempts per evaluation solve before MAX_STEPS_REACHED (default: odeint's 100,000). */
  maxSteps?: number;
  /** Called after every step attempt of an evaluation solve (progress, time budgets); a throw ends the evaluation. Not serialised. */
  onStep?: OdeintOptions['onStep'];
}

/** Weights λ by registered regularizer name. */
export type RegularizerWeights = Readonly<Partial<Record<KnownNames['regularizer'], number>>>;

/** Everything that defines a run besides the model and the data (serialisable apart from plugins). */
export interface TrainingOptions {
  /** 'rnode' (default) or 'ffjord' or a full preset; the keys below override it. */
  preset?: PresetName | Preset;
  solver?: SolverRef;
  stepSize?: number;
  rtol?: number;
  atol?: number;
  adjoint?: 'backsolve' | 'backprop' | AdjointRef;
  estimator?: EstimatorRef;
  /**
   * A record name → λ is merged over the preset's (λ = 0 drops one); a list of
   * `{ use, weight }` replaces them (plugins allowed). Record keys are registered
   * regularizer names (a typo is a type error; a user's plugin adds its name by
   * augmenting `RegularizerRegistry` of `@rnode/core`).
   */
  regularizers?: RegularizerWeights | readonly WeightedRegularizer[];
  /** Over the data dimensions, for the built-in 'kinetic-energy' and 'jacobian-frobenius': 'mean' (Eq. 17, default) or 'sum' (toy2d workloads). */
  reduction?: Reduction;
  /** Unit of the NLL term (and of reported NLLs): 'nats' (default) or 'bits-per-dim' (NLL / (D·ln 2)); image data defaults to 'bits-per-dim' of the discrete data. */
  nllUnit?: NllUnit;
  batchSize?: number;
  lr?: number;
  /** Linear warm-up over this many iterations: lr·min(1, (itr+1)/warmup). Default 0 (none). */
  warmup?: number;
  weightDecay?: number;
  /** Max global gradient norm (clip_grad_norm_); default none (the norm is still reported). */
  clip?: number;
  beta1?: number;
  beta2?: number;
  eps?: number;
  seed?: number | string;
  evaluation?: EvaluationOptions;
  /** Stop after this many evaluations without improvement of the validation NLL (default: never). */
  patience?: number;
}

export const TRAINING_KEYS = [
  'preset', 'solver', 'stepSize', 'rtol', 'atol', 'adjoint', 'estimator', 'regularizers', 'reduction', 'nllUnit',
  'batchSize', 'lr', 'warmup', 'weightDecay', 'clip', 'beta1', 'beta2', 'eps', 'seed', 'evaluation', 'patience',
] as const;

/** The options after preset, overrides and defaults; plugins resolved. */
export interface ResolvedTraining {
  presetName: string;
  solver: SolverRef;
  stepSize: number | undefined;
  rtol: number | undefined;
  atol: number | undefined;
  adjoint: AdjointPlugin;
  estimator: EstimatorPlugin;
  regularizers: Array<{ plugin: RegularizerPlugin; weight: number }>;
  reduction: Reduction;
  nllUnit: NllUnit;
  batchSize: number;
  lr: number;
  warmup: number;
  weightDecay: number;
  clip: number;
  beta1: number;
  beta2: number;
  eps: number;
  seed: number | string;
  evaluation: {
    solver: SolverRef;
    rtol: number;
    atol: number;
    stepSize: number | undefined;
    exactMaxDim: number;
    estimator: EstimatorRef | undefined;
    samples: number;
    batchSize: number;
    maxSteps: number | undefined;
    onStep: OdeintOptions['onStep'] | undefined;
  };
  patience: number;
}

const refName = (r: unknown): string =>
  typeof r === 'string' ? r : typeof r === 'object' && r !== null && typeof (r as { name?: unknown }).name === 'string' ? (r as { name: string }).name : describe(r);

function checkRef(v: unknown, name: string, source: string): void {
  if (typeof v === 'string') return;
  if (typeof v === 'object' && v !== null && typeof (v as { name?: unknown }).name === 'string') return;
  throw new RnodeError('INVALID_OPTIONS', `option "${name}" must be a registered name or a plugin object, got ${describe(v)}`, { source });
}

/** What the data changes in the defaults: image data reports bits/dim and evaluates in solves of 200 (RNODE's test batch). */
export interface TrainingContext {
  image?: boolean;
}

/**
 * The one place that turns (preset, options) into the settings a trainer runs with: the preset,
 * the overrides, the defaults (the solver's from `@rnode/solvers`' `DEFAULTS`), plugins resolved.
 * `createTrainer` calls it; the CLI and bench call it (through `describeTraining`) for what they record.
 */
export function resolveTraining(options: TrainingOptions | undefined, source = 'trainer', context: TrainingContext = {}): ResolvedTraining {
  const o = checkOptions(options, TRAINING_KEYS, source);
  let preset: Preset;
  let presetName: string;
  if (o.preset === undefined || typeof o.preset === 'string') {
    presetName = o.preset ?? 'rnode';
    const p = (presets as Record<string, Preset>)[presetName];
    if (!p) {
      throw new RnodeError('INVALID_OPTIONS', `unknown preset ${JSON.stringify(presetName)}; known presets: ${Object.keys(presets).join(', ')}`, {
        source: 'option:preset',
      });
    }
    preset = p;
  } else {
    checkOptions(o.preset, ['solver', 'stepSize', 'rtol', 'atol', 'adjoint', 'estimator', 'regularizers'], 'option:preset');
    preset = o.preset;
    presetName = 'custom';
  }
  const num = (v: unknown, name: string, c: Parameters<typeof checkNumber>[3], dflt: number): number =>
    v === undefined ? dflt : checkNumber(v, name, `option:${name}`, c);
  const optNum = (v: unknown, name: string, dflt: number | undefined): number | undefined =>
    v === undefined ? dflt : checkNumber(v, name, `option:${name}`, 'positive');

  const solver = o.solver ?? preset.solver;
  checkRef(solver, 'solver', 'option:solver');
  const reduction = o.reduction ?? 'mean';
  if (reduction !== 'mean' && reduction !== 'sum') {
    throw new RnodeError('INVALID_OPTIONS', `option "reduction" must be 'mean' or 'sum', got ${describe(reduction)}`, { source: 'option:reduction' });
  }
  const nllUnit = o.nllUnit ?? (context.image ? 'bits-per-dim' : 'nats');
  if (nllUnit !== 'nats' && nllUnit !== 'bits-per-dim') {
    throw new RnodeError('INVALID_OPTIONS', `option "nllUnit" must be 'nats' or 'bits-per-dim', got ${describe(nllUnit)}`, { source: 'option:nllUnit' });
  }

  // Regularizers: record merged over the preset's, or a list replacing them.
  let weighted: WeightedRegularizer[];
  if (o.regularizers === undefined || !Array.isArray(o.regularizers)) {
    const merged: Record<string, number> = { ...preset.regularizers, ...((o.regularizers as Record<string, number> | undefined) ?? {}) };
    if (o.regularizers !== undefined && (typeof o.regularizers !== 'object' || o.regularizers === null)) {
      throw new RnodeError('INVALID_OPTIONS', `option "regularizers" must be a record name → weight or a list of { use, weight }`, {
        source: 'option:regularizers',
      });
    }
    // Names from a record are checked by resolve (they may come from a config file).
    weighted = Object.entries(merged).map(([use, weight]) => ({ use: use as RegularizerRef, weight }));
  } else {
    weighted = (o.regularizers as readonly WeightedRegularizer[]).map((w, i) => {
      checkOptions(w, ['use', 'weight'], `option:regularizers[${i}]`);
      checkRef(w.use, `regularizers[${i}].use`, `option:regularizers[${i}]`);
      return w;
    });
  }
  const regularizers = weighted
    .map((w) => ({ w, weight: checkNumber(w.weight, `regularizers.${refName(w.use)}`, 'option:regularizers', 'non-negative') }))
    .filter((e) => e.weight > 0)
    .map(({ w, weight }) => ({ plugin: regularizerWithReduction(w.use, reduction), weight }));
  const names = new Set<string>();
  for (const r of regularizers) {
    if (names.has(r.plugin.name)) throw new RnodeError('INVALID_OPTIONS', `regularizer "${r.plugin.name}" is listed twice`, { source: 'option:regularizers' });
    names.add(r.plugin.name);
  }

  const estimatorRef = o.estimator ?? preset.estimator;
  checkRef(estimatorRef, 'estimator', 'option:estimator');
  const adjointRef = o.adjoint ?? preset.adjoint;
  checkRef(adjointRef, 'adjoint', 'option:adjoint');

  const ev = checkOptions(o.evaluation, ['solver', 'rtol', 'atol', 'stepSize', 'exactMaxDim', 'estimator', 'samples', 'batchSize', 'maxSteps', 'onStep'], 'option:evaluation');
  if (ev.onStep !== undefined && typeof ev.onStep !== 'function') throw new RnodeError('INVALID_OPTIONS', 'option "evaluation.onStep" must be a function', { source: 'option:evaluation' });
  if (ev.solver !== undefined) checkRef(ev.solver, 'evaluation.solver', 'option:evaluation');
  if (ev.estimator !== undefined) checkRef(ev.estimator, 'evaluation.estimator', 'option:evaluation');
  const exactMaxDim = ev.exactMaxDim === undefined ? 8 : checkNumber(ev.exactMaxDim, 'evaluation.exactMaxDim', 'option:evaluation', 'non-negative');

  const beta = (v: unknown, name: string, dflt: number): number => {
    const b = num(v, name, 'non-negative', dflt);
    if (b >= 1) throw new RnodeError('INVALID_OPTIONS', `option "${name}" must be in [0, 1), got ${b}`, { source: `option:${name}` });
    return b;
  };
  const seed = o.seed ?? 0;
  if (typeof seed !== 'string' && !Number.isFinite(seed)) {
    throw new RnodeError('INVALID_OPTIONS', `option "seed" must be a finite number or a string, got ${describe(seed)}`, { source: 'option:seed' });
  }

  return {
    presetName,
    solver,
    stepSize: optNum(o.stepSize, 'stepSize', defaultStepSize(o.solver, preset)),
    rtol: optNum(o.rtol, 'rtol', preset.rtol),
    atol: optNum(o.atol, 'atol', preset.atol),
    adjoint: resolveAdjoint(adjointRef as AdjointRef),
    estimator: resolveEstimator(estimatorRef),
    regularizers,
    reduction,
    nllUnit,
    batchSize: num(o.batchSize, 'batchSize', 'integer>0', 100),
    lr: num(o.lr, 'lr', 'non-negative', 1e-3),
    warmup: num(o.warmup, 'warmup', 'non-negative', 0),
    weightDecay: num(o.weightDecay, 'weightDecay', 'non-negative', 0),
    clip: o.clip === undefined || o.clip === Infinity ? Infinity : checkNumber(o.clip, 'clip', 'option:clip', 'positive'),
    beta1: beta(o.beta1, 'beta1', 0.9),
    beta2: beta(o.beta2, 'beta2', 0.999),
    eps: num(o.eps, 'eps', 'non-negative', 1e-8),
    seed,
    evaluation: {
      solver: ev.solver ?? DEFAULTS.method,
      rtol: ev.rtol === undefined ? DEFAULTS.rtol : checkNumber(ev.rtol, 'evaluation.rtol', 'option:evaluation', 'positive'),
      atol: ev.atol === undefined ? DEFAULTS.atol : checkNumber(ev.atol, 'evaluation.atol', 'option:evaluation', 'positive'),
      stepSize: ev.stepSize === undefined ? undefined : checkNumber(ev.stepSize, 'evaluation.stepSize', 'option:evaluation', 'positive'),
      exactMaxDim,
      estimator: ev.estimator,
      samples: ev.samples === undefined ? 1000 : checkNumber(ev.samples, 'evaluation.samples', 'option:evaluation', 'integer>0'),
      batchSize: ev.batchSize === undefined ? (context.image ? 200 : 1000) : checkNumber(ev.batchSize, 'evaluation.batchSize', 'option:evaluation', 'integer>0'),
      maxSteps: ev.maxSteps === undefined ? undefined : checkNumber(ev.maxSteps, 'evaluation.maxSteps', 'option:evaluation', 'integer>0'),
      onStep: ev.onStep,
    },
    patience:
      o.patience === undefined || o.patience === Infinity ? Infinity : checkNumber(o.patience, 'patience', 'option:patience', 'integer>0'),
  };
}

/**
 * The preset's step, unless the solver is overridden: then none for an adaptive solver, and for
 * a fixed-grid one the preset's step, else the `rnode` preset's (the paper's fixed grid).
 */
function defaultStepSize(solver: SolverRef | undefined, preset: Preset): number | undefined {
  if (solver === undefined) return preset.stepSize;
  return isAdaptiveSolver(solver, 'solver') ? undefined : (preset.stepSize ?? presets.rnode.stepSize);
}

/** The built-in KE/JF with the requested reduction; any other name or plugin as registered. */
function regularizerWithReduction(ref: RegularizerRef, reduction: Reduction): RegularizerPlugin {
  if (reduction === 'sum' && ref === 'kinetic-energy') return kineticEnergy({ reduction: 'sum' });
  if (reduction === 'sum' && ref === 'jacobian-frobenius') return jacobianFrobenius({ reduction: 'sum' });
  return resolveRegularizer(ref);
}

/** A JSON-safe summary of the resolved options (plugins by name), stored in checkpoints and events. */
export function describeTraining(r: ResolvedTraining): Record<string, unknown> {
  return {
    preset: r.presetName,
    solver: refName(r.solver),
    ...(r.stepSize !== undefined ? { stepSize: r.stepSize } : {}),
    ...(r.rtol !== undefined ? { rtol: r.rtol } : {}),
    ...(r.atol !== undefined ? { atol: r.atol } : {}),
    adjoint: r.adjoint.name,
    estimator: r.estimator.name,
    regularizers: Object.fromEntries(r.regularizers.map((x) => [x.plugin.name, x.weight])),
    reduction: r.reduction,
    nllUnit: r.nllUnit,
    batchSize: r.batchSize,
    lr: r.lr,
    warmup: r.warmup,
    weightDecay: r.weightDecay,
    clip: Number.isFinite(r.clip) ? r.clip : null,
    beta1: r.beta1,
    beta2: r.beta2,
    eps: r.eps,
    seed: r.seed,
    evaluation: {
      solver: refName(r.evaluation.solver),
      rtol: r.evaluation.rtol,
      atol: r.evaluation.atol,
      exactMaxDim: r.evaluation.exactMaxDim,
      samples: r.evaluation.samples,
      batchSize: r.evaluation.batchSize,
      ...(r.evaluation.estimator !== undefined ? { estimator: refName(r.evaluation.estimator) } : {}),
    },
    patience: Number.isFinite(r.patience) ? r.patience : null,
  };
}
