import * as tf from '@tensorflow/tfjs-core';
import { RnodeError, flattenState, unflattenState, type OdeState, type StateSpec } from '@rnode/core';
import type { OdeFunc } from './solvers.js';

interface EngineState {
  activeTape: unknown;
  gradientDepth: number;
  kernelDepth: number;
}

/**
 * Run `fn` from a clean tape state (no gradient recording, kernel depth 0), restoring the
 * engine's tape state afterwards.
 *
 * tfjs 4.22 needs this twice here:
 * - The forward solve runs inside `customGrad`'s forward function, where kernelDepth is 1:
 *   a `tf.grads` inside `f` (a CNF's divergence VJP) would record nothing and fail. With
 *   gradientDepth 0 and kernelDepth 0 the solve records nothing on the caller's tape, while
 *   gradients taken inside `f` work.
 * - Gradients inside a `customGrad` gradient function: the outer `gradients()` is past its
 *   forward pass (gradientDepth 0), so an inner call's `startTape` replaces the outer
 *   `activeTape`, the inner cleanup sets it to null, and the outer cleanup then fails with
 *   "Cannot read properties of null (reading 'forEach')".
 */
export function withIsolatedTape<T>(fn: () => T): T {
  const st = tf.engine().state as unknown as EngineState;
  const tape = st.activeTape;
  const depth = st.gradientDepth;
  const kernelDepth = st.kernelDepth;
  st.gradientDepth = 0;
  st.kernelDepth = 0;
  try {
    return fn();
  } finally {
    st.activeTape = tape;
    st.gradientDepth = depth;
    st.kernelDepth = kernelDepth;
  }
}

/** `tf.engine().gradients` (missing gradients allowed) on a tape of its own; see `withIsolatedTape`. */
export function isolatedGradients(
  fn: () => tf.Tensor,
  xs: tf.Tensor[],
  dy: tf.Tensor,
): { value: tf.Tensor; grads: Array<tf.Tensor | null> } {
  return withIsolatedTape(() => {
    const r = tf.engine().gradients(fn, xs, dy, true);
    return { value: r.value, grads: r.grads as Array<tf.Tensor | null> };
  });
}

/** Concatenate tensors into one flat float32 vector. */
export function packFlat(leaves: readonly tf.Tensor[]): tf.Tensor1D {
  return tf.tidy(() => tf.concat(leaves.map((x) => tf.reshape(x, [-1])), 0) as tf.Tensor1D);
}

/** Split a flat vector back into tensors of the given shapes. */
export function unpackFlat(flat: tf.Tensor, shapes: readonly number[][]): tf.Tensor[] {
  return tf.tidy(() => {
    const sizes = shapes.map((s) => s.reduce((a, b) => a * b, 1));
    const parts = shapes.length === 1 ? [flat] : tf.split(flat, sizes, 0);
    return parts.map((p, i) => tf.reshape(p, shapes[i] as number[]));
  });
}

/**
 * Evaluate f(t, y) and the vector–Jacobian products aᵀ∂f/∂y (one per leaf) and aᵀ∂f/∂θ
 * (one per param; zero for params f does not use), in one forward and one backward pass.
 */
export function evalVjp<S extends OdeState>(
  f: OdeFunc<S>,
  t: number,
  y: readonly tf.Tensor[],
  a: readonly tf.Tensor[],
  spec: StateSpec,
  params: readonly tf.Tensor[],
): { f: tf.Tensor[]; vjpY: tf.Tensor[]; vjpP: tf.Tensor[] } {
  const shapes = y.map((x) => x.shape);
  const xs = [...y, ...params];
  const aFlat = packFlat(a);
  const { value, grads } = isolatedGradients(
    () => {
      const out = flattenState(f(t, unflattenState<S>(y, spec)), 'f(t, y)').leaves;
      if (out.length !== y.length) {
        throw new RnodeError(
          'SHAPE_MISMATCH',
          `f(t, y) returned ${out.length} components for a state of ${y.length}`,
          { source: 'adjoint:backsolve' },
        );
      }
      return packFlat(out);
    },
    xs,
    aFlat,
  );
  aFlat.dispose();
  const fy = unpackFlat(value, shapes);
  value.dispose();
  const g = grads.map((gi, i) => gi ?? tf.zerosLike(xs[i] as tf.Tensor));
  return { f: fy, vjpY: g.slice(0, y.length), vjpP: g.slice(y.length) };
}
