import { parseOptions, perLeaf, type StateSpec } from '@rnode/core';
import { adjointOnlyOptionsShape, odeintAdjointOptionsSchema, type OdeintAdjointOptions } from '../types.js';
import { DEFAULTS, isAdaptiveSolver, type OdeintOptions } from './solvers.js';

type AdjointKey = keyof typeof adjointOnlyOptionsShape;

export interface SplitOptions {
  /** What the forward `odeint` gets (validated there: unknown keys are its error). */
  forward: OdeintOptions;
  adjoint: Pick<OdeintAdjointOptions, AdjointKey>;
}

const isNumber = (x: unknown): x is number => typeof x === 'number';
const isBoolean = (x: unknown): x is boolean => typeof x === 'boolean';

/** Check all the options (odeint's and the adjoint ones) and separate the adjoint keys. */
export function splitOptions(options: OdeintAdjointOptions | undefined, source: string): SplitOptions {
  const o = parseOptions(odeintAdjointOptionsSchema, options, source);
  const forward: Record<string, unknown> = {};
  const adjoint: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(o)) {
    if (v === undefined) continue;
    if (Object.hasOwn(adjointOnlyOptionsShape, k)) adjoint[k] = v;
    else forward[k] = v;
  }
  return { forward: forward as OdeintOptions, adjoint: adjoint as SplitOptions['adjoint'] };
}

/**
 * Options of the backward solve of the augmented tuple state [y…, a_y…, a_θ…]:
 * - y keeps the forward per-component rtol/atol/errorControl;
 * - a_y[k] takes `adjointRtol/Atol` or else y[k]'s forward tolerance, and y[k]'s errorControl;
 * - a_θ takes `adjointRtol/Atol` or else the tightest forward tolerance, and is left out of
 *   the error norm under `seminorm`.
 */
export function backwardOptions(split: SplitOptions, spec: StateSpec, nParams: number): OdeintOptions {
  const { forward, adjoint } = split;
  const rtol = perLeaf(forward.rtol, spec, DEFAULTS.rtol, 'rtol', isNumber);
  const atol = perLeaf(forward.atol, spec, DEFAULTS.atol, 'atol', isNumber);
  const ec = perLeaf(forward.errorControl, spec, true, 'errorControl', isBoolean);
  const aR = (k: number) => adjoint.adjointRtol ?? (rtol[k] as number);
  const aA = (k: number) => adjoint.adjointAtol ?? (atol[k] as number);
  const pR = adjoint.adjointRtol ?? Math.min(...rtol);
  const pA = adjoint.adjointAtol ?? Math.min(...atol);
  const n = rtol.length;
  const idx = Array.from({ length: n }, (_, k) => k);
  const params = Array.from({ length: nParams }, () => 0);
  const out: OdeintOptions = {
    ...forward,
    rtol: [...rtol, ...idx.map(aR), ...params.map(() => pR)],
    atol: [...atol, ...idx.map(aA), ...params.map(() => pA)],
    errorControl: [...ec, ...ec, ...params.map(() => !adjoint.seminorm)],
    // A failed backward solve cannot be reported through a status: it throws.
    throw: true,
  };
  const method = adjoint.adjointMethod ?? forward.method;
  if (method !== undefined) out.method = method;
  // Resolved here so that an unknown adjointMethod fails at the call, not in the backward pass.
  const adaptiveBackward = adjoint.adjointMethod === undefined ? undefined : isAdaptiveSolver(adjoint.adjointMethod, 'adjointMethod');
  // The forward grid step carries over unless the backward method is adaptive (it takes no stepSize).
  delete out.stepSize;
  if (adjoint.adjointStepSize !== undefined) out.stepSize = adjoint.adjointStepSize;
  else if (forward.stepSize !== undefined && adaptiveBackward !== true) out.stepSize = forward.stepSize;
  return out;
}
