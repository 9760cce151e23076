import * as tf from '@tensorflow/tfjs-core';
import { Random } from '@rnode/core';
import type { OdeNet } from '../odenet.js';

/**
 * Gradient checks for ODE nets with explicit VJPs (framework-agnostic: returns numbers the
 * caller's test asserts on). tfjs gradients must be registered (importing @rnode/core does it).
 */
export interface VjpCheckOptions {
  batch?: number;
  t?: number;
  seed?: number | string;
  /** Central finite-difference step along unit-norm parameter directions; default 1e-2 (float32). */
  fdStep?: number;
  /** Number of random parameter directions; default 3. */
  directions?: number;
  /** Per-sample shape of z; default [net.config.inputDim] (a conv net: [height, width, channels]). */
  shape?: readonly number[];
}

/** What the check needs of a net: f, its explicit VJP and its variables (OdeNet, ConvOdeNet). */
export interface VjpNet {
  (t: number, z: tf.Tensor): tf.Tensor;
  vjp(t: number, z: tf.Tensor, v: tf.Tensor): { f: tf.Tensor; vjp: tf.Tensor };
  readonly params: tf.Variable[];
  readonly config: object;
}

export interface VjpCheckReport {
  /** max |explicit vjp − tfjs autodiff vjp| / max(1, max |autodiff|). */
  vjpError: number;
  /** max |explicit f − net(t, z)|. */
  fError: number;
  /**
   * Largest relative error, over the directions d, between ∇θL·d (tfjs's first-order gradient
   * of a loss built on the explicit VJP, L = Σ(εᵀJ)² + Σ εᵀJε) and its central difference.
   */
  paramGradError: number;
  /** The individual (analytic, finite-difference) directional derivatives. */
  pairs: Array<[number, number]>;
}

/** Explicit VJP vs autodiff, and the parameter gradient of a VJP-based loss vs finite differences. */
export function checkOdeNetVjp(net: OdeNet | VjpNet, options: VjpCheckOptions = {}): VjpCheckReport {
  const rng = new Random(options.seed ?? 7);
  const batch = options.batch ?? 5;
  const t = options.t ?? 0.37;
  const h = options.fdStep ?? 1e-2;
  const shape = [batch, ...(options.shape ?? [(net.config as { inputDim: number }).inputDim])];
  const z = rng.normal(shape);
  const eps = rng.normal(shape);
  try {
    const [vjpError, fError] = tf.tidy(() => {
      const auto = tf.grad((x: tf.Tensor) => tf.sum(tf.mul(net(t, x), eps)))(z);
      const r = net.vjp(t, z, eps);
      const scale = Math.max(1, tf.max(tf.abs(auto)).dataSync()[0]!);
      return [
        tf.max(tf.abs(tf.sub(r.vjp, auto))).dataSync()[0]! / scale,
        tf.max(tf.abs(tf.sub(r.f, net(t, z)))).dataSync()[0]!,
      ];
    });
    const loss = () =>
      tf.tidy(() => {
        const r = net.vjp(t, z, eps);
        return tf.add(tf.sum(tf.square(r.vjp)), tf.sum(tf.mul(r.vjp, eps))) as tf.Scalar;
      });
    const { value, grads } = tf.variableGrads(loss, net.params);
    value.dispose();
    // Parameters the loss does not depend on (the last layer's bias: εᵀJ ignores it) get no entry.
    const g = net.params.map((p) => (grads[p.name] ? Float32Array.from(grads[p.name]!.dataSync() as Float32Array) : new Float32Array(p.size)));
    tf.dispose(Object.values(grads));
    const orig = net.params.map((p) => Float32Array.from(p.dataSync() as Float32Array));
    const pairs: Array<[number, number]> = [];
    let paramGradError = 0;
    const evalAt = (dirs: Float32Array[], s: number) => {
      net.params.forEach((p, i) => {
        const v = Float32Array.from(orig[i]!, (o, j) => o + s * dirs[i]![j]!);
        tf.tidy(() => p.assign(tf.tensor(v, p.shape)));
      });
      return tf.tidy(() => loss().dataSync()[0]!);
    };
    for (let k = 0; k < (options.directions ?? 3); k++) {
      const dirs = orig.map((o) => rng.normalArray(o.length));
      const norm = Math.sqrt(dirs.reduce((a, d) => a + d.reduce((b, x) => b + x * x, 0), 0));
      dirs.forEach((d) => d.forEach((x, j) => (d[j] = x / norm)));
      const analytic = g.reduce((a, gi, i) => a + gi.reduce((b, x, j) => b + x * dirs[i]![j]!, 0), 0);
      const fd = (evalAt(dirs, h) - evalAt(dirs, -h)) / (2 * h);
      pairs.push([analytic, fd]);
      paramGradError = Math.max(paramGradError, Math.abs(analytic - fd) / Math.max(Math.abs(analytic), Math.abs(fd), 1e-3));
    }
    net.params.forEach((p, i) => tf.tidy(() => p.assign(tf.tensor(orig[i]!, p.shape))));
    return { vjpError, fError, paramGradError, pairs };
  } finally {
    z.dispose();
    eps.dispose();
  }
}
