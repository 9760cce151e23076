import * as tf from '@tensorflow/tfjs-core';
import * as z from 'zod/mini';
import { RnodeError, numberOption, parseOptions } from '@rnode/core';
import { meanPerSample, sumPerSample } from './internal/util.js';
import type { RegularizerContext, RegularizerInput, RegularizerPlugin } from './types.js';

const NAME_RE = /^[a-z0-9][a-z0-9._-]*$/;
const INPUTS: readonly RegularizerInput[] = ['eps-vjp'];

/**
 * What `defineRegularizer` takes. `name` and `rate` are checked by `defineRegularizer` itself
 * (a bad one is INVALID_PLUGIN, not a bad option).
 */
export const regularizerDefinitionSchema = z.object({
  /** Lowercase kebab-case; also the key of the regularizer's state in cnfDynamics. */
  name: z.custom<string>(),
  /** 'eps-vjp': needs ctx.eps and ctx.epsJ from a Hutchinson estimator (no extra pass). */
  uses: z.optional(
    z.custom<readonly RegularizerInput[]>((v) => Array.isArray(v) && v.every((u) => INPUTS.includes(u as RegularizerInput)), {
      error: `a list of ${INPUTS.map((x) => `'${x}'`).join(', ')}`,
    }),
  ),
  /** rate also works from ctx.sqJacobianNorm when the estimator is exact (default false). */
  exactFallback: z.optional(z.boolean()),
  /** The per-sample integrand, [batch]. */
  rate: z.custom<(ctx: RegularizerContext) => tf.Tensor>(),
  /** Declares rate = scale · reduce(x²), x = f or εᵀJ (lets fused kernels compute it); must agree with `rate`. */
  squaredNorm: z.optional(z.custom<NonNullable<RegularizerPlugin['squaredNorm']>>()),
  description: z.optional(z.string()),
  version: z.optional(z.string()),
});
export type RegularizerDefinition<N extends string = string> = Omit<z.input<typeof regularizerDefinitionSchema>, 'name'> & { name: N };

/**
 * Define a regularizer plugin: a per-sample rate r(t, z) integrated as extra
 * ODE state, d reg/dt = r (FFJORD/RNODE). The definition is validated here,
 * once: unknown keys, a bad name, an unknown input in `uses` or a missing
 * `rate` throw INVALID_PLUGIN / INVALID_OPTIONS.
 */
export function defineRegularizer<N extends string>(def: RegularizerDefinition<N>): RegularizerPlugin<N> {
  const source = `regularizer:${typeof def?.name === 'string' ? def.name : '?'}`;
  parseOptions(regularizerDefinitionSchema, def, source);
  if (typeof def.name !== 'string' || !NAME_RE.test(def.name)) {
    throw new RnodeError('INVALID_PLUGIN', `regularizer name ${JSON.stringify(def.name)} is not a lowercase kebab-case name`, { source });
  }
  if (def.name === 'z' || def.name === 'logp') {
    throw new RnodeError('INVALID_PLUGIN', `regularizer name "${def.name}" is reserved for the CNF state`, { source });
  }
  if (typeof def.rate !== 'function') {
    throw new RnodeError('INVALID_PLUGIN', `"rate" must be a function (ctx) => [batch] tensor`, { source });
  }
  const uses = def.uses ?? [];
  return Object.freeze({
    kind: 'regularizer' as const,
    name: def.name,
    uses: Object.freeze([...uses]),
    exactFallback: def.exactFallback ?? false,
    rate: def.rate,
    ...(def.description !== undefined ? { description: def.description } : {}),
    ...(def.version !== undefined ? { version: def.version } : {}),
    ...(def.squaredNorm !== undefined ? { squaredNorm: Object.freeze({ ...def.squaredNorm }) } : {}),
  });
}

export type Reduction = 'mean' | 'sum';

/** A per-sample sum over dims (from a fused probe) as the requested reduction. */
function fromSum(sum: tf.Tensor, like: tf.Tensor, reduction: Reduction): tf.Tensor {
  // The sum itself when no rescaling is needed (cnfDynamics clones a tensor returned twice).
  if (reduction === 'sum') return sum;
  return tf.div(sum, like.size / like.shape[0]!);
}

const reductionSchema = z.enum(['mean', 'sum']);

/** The options of `kineticEnergy()` (type and run-time check). */
export const kineticEnergyOptionsSchema = z.object({
  /**
   * Multiplies the rate. 1 (default) is the paper's Eq. 17, mean‖f‖²; the RNODE
   * reference code (`quadratic_cost`) uses 0.5·mean(f²): pass `scale: 0.5` to
   * match its logged values and λ.
   */
  scale: z.optional(numberOption('non-negative')),
  /** Over the dimensions of z: 'mean' (default, paper and RNODE code) or 'sum' (‖f‖²). */
  reduction: z.optional(reductionSchema),
  name: z.optional(z.string()),
});

export type KineticEnergyOptions = z.input<typeof kineticEnergyOptionsSchema>;

/** Kinetic energy: scale · reduce_dims(f²) per sample (RNODE Eq. 17). */
export function kineticEnergy(options?: KineticEnergyOptions): RegularizerPlugin {
  const source = 'regularizer:kinetic-energy';
  const o = parseOptions(kineticEnergyOptionsSchema, options, source);
  const scale = o.scale ?? 1;
  const reduction = o.reduction ?? 'mean';
  const reduce = reduction === 'mean' ? meanPerSample : sumPerSample;
  return defineRegularizer({
    name: o.name ?? 'kinetic-energy',
    description: `kinetic energy ${scale === 1 ? '' : `${scale}·`}${reduction}(f²) (RNODE Eq. 17)`,
    squaredNorm: { of: 'f', scale, reduction },
    rate: ({ f, fSquaredSum }) => {
      const r = fSquaredSum ? fromSum(fSquaredSum, f, reduction) : reduce(tf.square(f));
      return scale === 1 ? r : tf.mul(r, scale);
    },
  });
}

/** The options of `jacobianFrobenius()` (type and run-time check). */
export const jacobianFrobeniusOptionsSchema = z.object({
  /** Over the dimensions of z: 'mean' (default, RNODE) or 'sum' (‖εᵀJ‖²). */
  reduction: z.optional(reductionSchema),
  name: z.optional(z.string()),
});

export type JacobianFrobeniusOptions = z.input<typeof jacobianFrobeniusOptionsSchema>;

/**
 * Jacobian Frobenius norm: reduce_dims((εᵀ∂f/∂z)²) per sample, from the VJP the
 * Hutchinson estimator already made (no extra pass), an unbiased estimate of
 * ‖∂f/∂z‖²_F / D (mean) or ‖∂f/∂z‖²_F (sum). With the exact estimator there is
 * no ε; the rate is then the exact value ‖∂f/∂z‖²_F / D (mean) or ‖∂f/∂z‖²_F
 * (sum), from the Jacobian rows the exact divergence computes anyway.
 */
export function jacobianFrobenius(options?: JacobianFrobeniusOptions): RegularizerPlugin {
  const source = 'regularizer:jacobian-frobenius';
  const o = parseOptions(jacobianFrobeniusOptionsSchema, options, source);
  const reduction = o.reduction ?? 'mean';
  const name = o.name ?? 'jacobian-frobenius';
  return defineRegularizer({
    name,
    uses: ['eps-vjp'],
    exactFallback: true,
    description: `Jacobian Frobenius norm, ${reduction} over dims of (εᵀ∂f/∂z)²`,
    squaredNorm: { of: 'eps-vjp', scale: 1, reduction },
    rate: ({ epsJ, epsJSquaredSum, sqJacobianNorm, z }) => {
      if (epsJ && epsJSquaredSum) return fromSum(epsJSquaredSum, epsJ, reduction);
      if (epsJ) return reduction === 'mean' ? meanPerSample(tf.square(epsJ)) : sumPerSample(tf.square(epsJ));
      if (sqJacobianNorm) return reduction === 'mean' ? tf.div(sqJacobianNorm, z.size / z.shape[0]!) : tf.clone(sqJacobianNorm);
      throw new RnodeError('INVALID_ARGUMENT', 'needs epsJ (a Hutchinson estimator) or sqJacobianNorm (the exact estimator)', {
        source: `regularizer:${name}`,
      });
    },
  });
}

/** Registered as 'kinetic-energy': mean over dims of f², scale 1 (the paper's Eq. 17). */
export const kineticEnergyRegularizer: RegularizerPlugin = kineticEnergy();
/** Registered as 'jacobian-frobenius': mean over dims of (εᵀ∂f/∂z)². */
export const jacobianFrobeniusRegularizer: RegularizerPlugin = jacobianFrobenius();
