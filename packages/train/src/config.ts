import * as z from 'zod/mini';
import { RnodeError, describe, functionOption, numberOption, parseOptions, type KnownNames, type Random } from '@rnode/core';
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
import { betaOption } from './adam.js';
import { presetSchema, presets, type Preset, type PresetName } from './presets.js';

/** Row-major data matrix, as `@rnode/data`'s parsers return it. */
/** A row-major float32 matrix: `Matrix` of `@rnode/data` (its one home), re-exported here. */
export type { Matrix };

/** Fresh samples per batch (toy data): n points, row-major n×dim. */
export type Sampler = (n: number, rng: Random) => Float32Array;

/** Tabular splits; batches are drawn from `train` in a shuffled order, reshuffled every epoch. */
export const tabularSourceSchema = z.object({
  train: z.custom<Matrix>(),
  validation: z.optional(z.custom<Matrix>()),
  test: z.optional(z.custom<Matrix>()),
});
export type TabularSource = z.input<typeof tabularSourceSchema>;

/** A sampler, tabular splits, images, or the name of a toy set of `@rnode/data` ('pinwheel', '8gaussians', …). */
/** Training data: a sampler, tabular splits, images, or a registered dataset's name (the toy sets, or a user's). */
export type DataSource = Sampler | TabularSource | ImageSource | KnownNames['dataset'];

/** A plugin option: a registered name or a plugin object (the name's type is the registry's). */
export const isRef = (v: unknown): boolean =>
  typeof v === 'string' || (typeof v === 'object' && v !== null && typeof (v as { name?: unknown }).name === 'string');
const refOption = <T>() => z.custom<T>(isRef, { error: 'a registered name or a plugin object' });

/** A regularizer with its weight λ; `use` is a registered name or a plugin. */
export const weightedRegularizerSchema = z.object({
  use: refOption<RegularizerRef>(),
  weight: numberOption('non-negative'),
});
export type WeightedRegularizer = z.input<typeof weightedRegularizerSchema>;

export type NllUnit = 'nats' | 'bits-per-dim';

/** Test-time solve (evaluation and sampling); nested in the training options, unknown keys are errors. */
export const evaluationOptionsSchema = z.strictObject({
  /** Default: `DEFAULTS.method` of `@rnode/solvers` (dopri5). */
  solver: z.optional(refOption<SolverRef>()),
  /** Default: `DEFAULTS.rtol` / `DEFAULTS.atol` of `@rnode/solvers`. */
  rtol: z.optional(numberOption('positive')),
  atol: z.optional(numberOption('positive')),
  stepSize: z.optional(numberOption('positive')),
  /** Exact divergence up to this dimension (default 8), Hutchinson above. */
  exactMaxDim: z.optional(numberOption('non-negative')),
  /** Overrides the exact/Hutchinson choice. */
  estimator: z.optional(refOption<EstimatorRef>()),
  /** Validation points drawn once from a sampler source (default 1000). */
  samples: z.optional(numberOption('integer>0')),
  /** Points per evaluation solve (default 1000; 200 for images, RNODE's test batch). */
  batchSize: z.optional(numberOption('integer>0')),
  /** Step attempts per evaluation solve before MAX_STEPS_REACHED (default: odeint's 100,000). */
  maxSteps: z.optional(numberOption('integer>0')),
  /** Called after every step attempt of an evaluation solve (progress, time budgets); a throw ends the evaluation. Not serialised. */
  onStep: z.optional(functionOption<NonNullable<OdeintOptions['onStep']>>()),
});
export type EvaluationOptions = z.input<typeof evaluationOptionsSchema>;

/** Weights λ by registered regularizer name. */
export type RegularizerWeights = Readonly<Partial<Record<KnownNames['regularizer'], number>>>;

/** Everything that defines a run besides the model and the data (serialisable apart from plugins). */
export const trainingOptionsSchema = z.object({
  /** 'rnode' (default) or 'ffjord' or a full preset; the keys below override it. */
  preset: z.optional(
    z.custom<PresetName | Preset>((v) => typeof v === 'string' || (typeof v === 'object' && v !== null && !Array.isArray(v)), {
      error: "a preset name ('rnode', 'ffjord') or a preset object",
    }),
  ),
  solver: z.optional(refOption<SolverRef>()),
  /** Fixed-grid step; fixed-grid solvers only (an adaptive solver with a stepSize is an error). */
  stepSize: z.optional(numberOption('positive')),
  rtol: z.optional(numberOption('positive')),
  atol: z.optional(numberOption('positive')),
  adjoint: z.optional(refOption<'backsolve' | 'backprop' | AdjointRef>()),
  estimator: z.optional(refOption<EstimatorRef>()),
  /**
   * A record name → λ is merged over the preset's (λ = 0 drops one); a list of
   * `{ use, weight }` replaces them (plugins allowed). Record keys are registered
   * regularizer names (a typo is a type error; a user's plugin adds its name by
   * augmenting `RegularizerRegistry` of `@rnode/core`).
   */
  regularizers: z.optional(
    z.custom<RegularizerWeights | readonly WeightedRegularizer[]>((v) => typeof v === 'object' && v !== null, {
      error: 'a record name → weight or a list of { use, weight }',
    }),
  ),
  /**
   * Regularizers to integrate and report without weight: each is added to the ODE state with
   * λ = 0 unless it has a weight, so its value per iteration is in the events (and metrics
   * files) while the loss and the gradient stay those of the run without it. What the paper's
   * Figures 3 and 4 plot for unregularized runs. With an adaptive solver the extra state enters
   * the error control (as in the reference code), so the solver's steps may change.
   */
  monitor: z.optional(z.array(refOption<RegularizerRef>())),
  /** Over the data dimensions, for the built-in 'kinetic-energy' and 'jacobian-frobenius': 'mean' (Eq. 17, default) or 'sum' (toy2d workloads). */
  reduction: z.optional(z.enum(['mean', 'sum'])),
  /** Unit of the NLL term (and of reported NLLs): 'nats' (default) or 'bits-per-dim' (NLL / (D·ln 2)); image data defaults to 'bits-per-dim' of the discrete data. */
  nllUnit: z.optional(z.enum(['nats', 'bits-per-dim'])),
  /** Default 100. */
  batchSize: z.optional(numberOption('integer>0')),
  /** Default 1e-3. */
  lr: z.optional(numberOption('non-negative')),
  /** Linear warm-up over this many iterations: lr·min(1, (itr+1)/warmup). Default 0 (none). */
  warmup: z.optional(numberOption('non-negative')),
  weightDecay: z.optional(numberOption('non-negative')),
  /** Max global gradient norm (clip_grad_norm_); default none (the norm is still reported). */
  clip: z.optional(numberOption('positive')),
  /** Default 0.9. */
  beta1: z.optional(betaOption()),
  /** Default 0.999. */
  beta2: z.optional(betaOption()),
  /** Default 1e-8. */
  eps: z.optional(numberOption('non-negative')),
  /** Default 0. */
  seed: z.optional(
    z.custom<number | string>((v) => typeof v === 'string' || (typeof v === 'number' && Number.isFinite(v)), { error: 'a finite number or a string' }),
  ),
  /** The test-time solve (a nested object; an unknown key in it is an error naming it). */
  evaluation: z.optional(evaluationOptionsSchema),
  /** Stop after this many evaluations without improvement of the validation NLL (default: never). */
  patience: z.optional(
    z.custom<number>((v) => v === Infinity || (typeof v === 'number' && Number.isInteger(v) && v > 0), { error: 'a positive integer' }),
  ),
});
export type TrainingOptions = z.input<typeof trainingOptionsSchema>;

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
  const o = parseOptions(trainingOptionsSchema, options, source);
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
    preset = parseOptions(presetSchema, o.preset, 'option:preset') as Preset;
    presetName = 'custom';
  }

  const solver = o.solver ?? preset.solver;
  if (!isRef(solver)) {
    throw new RnodeError('INVALID_OPTIONS', `option "solver" must be a registered name or a plugin object, got ${describe(solver)}`, { source: 'option:solver' });
  }
  const stepSize = o.stepSize ?? defaultStepSize(o.solver, preset);
  // Cross-field: an explicit step with an adaptive solver (the solver's or the preset's) would
  // fail only at the first solve, after a caller has written its run records.
  if (o.stepSize !== undefined && isAdaptiveSolver(solver, 'option:solver')) {
    throw new RnodeError(
      'INVALID_OPTIONS',
      `option "stepSize" is for fixed-grid solvers; solver "${refName(solver)}" is adaptive (give rtol/atol, or a fixed-grid solver such as 'rk4')`,
      { source: 'option:stepSize', details: { option: 'stepSize' } },
    );
  }
  const reduction = o.reduction ?? 'mean';
  const nllUnit = o.nllUnit ?? (context.image ? 'bits-per-dim' : 'nats');

  // Regularizers: record merged over the preset's, or a list replacing them.
  let weighted: WeightedRegularizer[];
  if (o.regularizers === undefined || !Array.isArray(o.regularizers)) {
    const merged: Record<string, number> = { ...preset.regularizers, ...((o.regularizers as Record<string, number> | undefined) ?? {}) };
    // Names from a record are checked by resolve (they may come from a config file).
    weighted = Object.entries(merged).map(([use, weight]) => {
      if (!isWeight(weight)) {
        throw new RnodeError('INVALID_OPTIONS', `option "regularizers.${use}" must be a non-negative number, got ${describe(weight)}`, {
          source: 'option:regularizers',
          details: { option: `regularizers.${use}` },
        });
      }
      return { use: use as RegularizerRef, weight };
    });
  } else {
    weighted = (o.regularizers as readonly WeightedRegularizer[]).map((w, i) => parseOptions(weightedRegularizerSchema, w, `option:regularizers[${i}]`));
  }
  for (const use of o.monitor ?? []) {
    if (!weighted.some((w) => refName(w.use) === refName(use))) weighted.push({ use, weight: 0 });
  }
  const monitored = new Set((o.monitor ?? []).map(refName));
  const regularizers = weighted
    .filter((w) => w.weight > 0 || monitored.has(refName(w.use)))
    .map((w) => ({ plugin: regularizerWithReduction(w.use, reduction), weight: w.weight }));
  const names = new Set<string>();
  for (const r of regularizers) {
    if (names.has(r.plugin.name)) throw new RnodeError('INVALID_OPTIONS', `regularizer "${r.plugin.name}" is listed twice`, { source: 'option:regularizers' });
    names.add(r.plugin.name);
  }

  const estimatorRef = o.estimator ?? preset.estimator;
  const adjointRef = o.adjoint ?? preset.adjoint;
  const ev = o.evaluation ?? {};

  return {
    presetName,
    solver,
    stepSize,
    rtol: o.rtol ?? preset.rtol,
    atol: o.atol ?? preset.atol,
    adjoint: resolveAdjoint(adjointRef as AdjointRef),
    estimator: resolveEstimator(estimatorRef),
    regularizers,
    reduction,
    nllUnit,
    batchSize: o.batchSize ?? 100,
    lr: o.lr ?? 1e-3,
    warmup: o.warmup ?? 0,
    weightDecay: o.weightDecay ?? 0,
    clip: o.clip ?? Infinity,
    beta1: o.beta1 ?? 0.9,
    beta2: o.beta2 ?? 0.999,
    eps: o.eps ?? 1e-8,
    seed: o.seed ?? 0,
    evaluation: {
      solver: ev.solver ?? DEFAULTS.method,
      rtol: ev.rtol ?? DEFAULTS.rtol,
      atol: ev.atol ?? DEFAULTS.atol,
      stepSize: ev.stepSize,
      exactMaxDim: ev.exactMaxDim ?? 8,
      estimator: ev.estimator,
      samples: ev.samples ?? 1000,
      batchSize: ev.batchSize ?? (context.image ? 200 : 1000),
      maxSteps: ev.maxSteps,
      onStep: ev.onStep,
    },
    patience: o.patience ?? Infinity,
  };
}

const isWeight = (v: unknown): v is number => typeof v === 'number' && v >= 0;

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
