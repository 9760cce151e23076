import * as tf from '@tensorflow/tfjs-core';
import { Random, getActivation, type ActivationName } from '@rnode/core';
import { regularizerContext } from '../context.js';
import { hutchinson } from '../estimators.js';
import { vjp } from '../vjp.js';
import type { EstimatorPlugin, EstimatorResult, RegularizerPlugin, VectorField } from '../types.js';

/**
 * Conformance suites for estimator and regularizer plugins, framework-agnostic:
 * they return a report that the caller's test asserts on (`report.ok`,
 * `report.failures`). Built-ins and third-party plugins run the same suite.
 * tfjs gradients must be registered (as for training).
 */

export interface TestField {
  field: VectorField;
  params: tf.Variable[];
  dispose(): void;
}

export interface TestFieldOptions {
  dims?: number;
  hidden?: number;
  seed?: number | string;
  activation?: ActivationName;
  /** Add t·w_t to the hidden pre-activation (default true). */
  timeDependent?: boolean;
  /** Scale of the output weights; 0 gives f ≡ b2 = 0 (default 1). */
  outputScale?: number;
}

/** f(t, z) = act(z W1 + t·w_t + b1) W2 + b2 with trainable variables, for tests. */
export function testField(options: TestFieldOptions = {}): TestField {
  const d = options.dims ?? 3;
  const h = options.hidden ?? 8;
  const rng = new Random(options.seed ?? 1);
  const act = getActivation(options.activation ?? 'tanh');
  const s = options.outputScale ?? 1;
  const variable = (t: tf.Tensor) => {
    const v = tf.variable(t);
    t.dispose();
    return v;
  };
  const W1 = variable(rng.normal([d, h], 0, 1 / Math.sqrt(d)));
  const b1 = variable(rng.normal([h], 0, 0.3));
  const wt = variable(rng.normal([1, h], 0, 0.5));
  const W2 = variable(rng.normal([h, d], 0, s / Math.sqrt(h)));
  const b2 = variable(s === 0 ? tf.zeros([d]) : rng.normal([d], 0, 0.3));
  const timeDependent = options.timeDependent ?? true;
  const field: VectorField = (t, z) =>
    tf.tidy(() => {
      const z2 = tf.reshape(z, [z.shape[0]!, d]);
      let pre = tf.add(tf.matMul(z2, W1), b1);
      if (timeDependent) pre = tf.add(pre, tf.mul(wt, t));
      return tf.reshape(tf.add(tf.matMul(act(pre), W2), b2), z.shape);
    });
  const params = [W1, b1, wt, W2, b2];
  return { field, params, dispose: () => params.forEach((p) => p.dispose()) };
}

export interface CheckReport {
  name: string;
  ok: boolean;
  checks: Array<{ check: string; ok: boolean; detail?: string }>;
  failures: string[];
}

// A Gaussian-probe estimator for checkRegularizer, built here so the suite needs no registration.
const gaussianProbe = hutchinson({ name: 'conformance-probe' });

class Reporter {
  readonly checks: CheckReport['checks'] = [];
  add(check: string, ok: boolean, detail?: string) {
    this.checks.push(detail === undefined ? { check, ok } : { check, ok, detail });
  }
  run(check: string, fn: () => boolean | string) {
    try {
      const r = fn();
      this.add(check, r === true, r === true || r === false ? undefined : r);
    } catch (e) {
      this.add(check, false, `threw: ${(e as Error).message}`);
    }
  }
  report(name: string): CheckReport {
    const failures = this.checks.filter((c) => !c.ok).map((c) => `${c.check}${c.detail ? `: ${c.detail}` : ''}`);
    return { name, ok: failures.length === 0, checks: this.checks, failures };
  }
}

const allFinite = (t: tf.Tensor) => Array.from(t.dataSync()).every(Number.isFinite);
const sameShape = (t: tf.Tensor, s: readonly number[]) => t.shape.length === s.length && t.shape.every((x, i) => x === s[i]);
const maxDiff = (a: tf.Tensor, b: tf.Tensor) => {
  const x = a.dataSync();
  const y = b.dataSync();
  let m = 0;
  for (let i = 0; i < x.length; i++) m = Math.max(m, Math.abs(x[i]! - y[i]!));
  return m;
};
const disposeResult = (r: EstimatorResult, noise: tf.Tensor | null) =>
  tf.dispose([r.f, r.divergence, ...(r.epsJ ? [r.epsJ] : []), ...(r.sqJacobianNorm ? [r.sqJacobianNorm] : []), ...(r.eps && r.eps !== noise ? [r.eps] : [])]);

export interface CheckEstimatorOptions {
  batch?: number;
  dims?: number;
  seed?: number;
  /** Probes for the unbiasedness check on a linear field (default 2000; 0 skips it). */
  probes?: number;
}

/**
 * Estimator conformance: f equals the field, divergence is [batch] and finite,
 * noise has z's shape (or is null) and is reproducible from the seed, results
 * are deterministic for fixed noise, no tensor leaks, the divergence is
 * differentiable w.r.t. parameters (finite gradient), zero for f ≡ 0, and on a
 * linear field f = zA the mean over many probes is within 4 standard errors of
 * tr(A) (exact: equal).
 */
export function checkEstimator(plugin: EstimatorPlugin, options: CheckEstimatorOptions = {}): CheckReport {
  const B = options.batch ?? 4;
  const D = options.dims ?? 3;
  const seed = options.seed ?? 7;
  const probes = options.probes ?? 2000;
  const rep = new Reporter();
  rep.add('kind is estimator', plugin.kind === 'estimator');
  rep.add('provides is a list', Array.isArray(plugin.provides));
  const tf0 = testField({ dims: D, seed });
  const z = new Random(seed + 1).normal([B, D]);
  const before = tf.memory().numTensors;
  rep.run('noise shape and seed', () => {
    const n1 = plugin.sampleNoise(z.shape, new Random(seed));
    const n2 = plugin.sampleNoise(z.shape, new Random(seed));
    if (n1 === null || n2 === null) return n1 === n2 || 'null only sometimes';
    const ok = sameShape(n1, z.shape) && maxDiff(n1, n2) === 0;
    tf.dispose([n1, n2]);
    return ok || 'noise differs for the same seed or has the wrong shape';
  });
  const noise = plugin.sampleNoise(z.shape, new Random(seed));
  rep.run('f, divergence shape, finite, deterministic', () => {
    const a = plugin.evaluate(tf0.field, 0.3, z, noise);
    const b = plugin.evaluate(tf0.field, 0.3, z, noise);
    const f = tf0.field(0.3, z);
    const msgs: string[] = [];
    if (!sameShape(a.divergence, [B])) msgs.push(`divergence shape [${a.divergence.shape.join(', ')}]`);
    if (!allFinite(a.divergence)) msgs.push('divergence not finite');
    if (maxDiff(a.f, f) > 1e-5) msgs.push('f differs from field(t, z)');
    if (maxDiff(a.divergence, b.divergence) !== 0) msgs.push('not deterministic for fixed noise');
    disposeResult(a, noise);
    disposeResult(b, noise);
    f.dispose();
    return msgs.length === 0 || msgs.join('; ');
  });
  rep.run('no tensor leaks', () => {
    const n0 = tf.memory().numTensors;
    for (let i = 0; i < 3; i++) disposeResult(plugin.evaluate(tf0.field, 0.1 * i, z, noise), noise);
    return tf.memory().numTensors === n0 || `${tf.memory().numTensors - n0} tensors leaked`;
  });
  rep.run('differentiable w.r.t. parameters', () => {
    const { value, grads } = tf.variableGrads(() => {
      const r = plugin.evaluate(tf0.field, 0.2, z, noise);
      const loss = tf.sum(r.divergence) as tf.Scalar;
      disposeResult(r, noise);
      return loss;
    }, tf0.params);
    const g = Object.values(grads);
    const ok = g.length > 0 && g.every(allFinite);
    tf.dispose([value, ...g]);
    return ok || 'missing or non-finite parameter gradients';
  });
  rep.run('zero divergence for f ≡ 0', () => {
    const zero = testField({ dims: D, seed, outputScale: 0 });
    const r = plugin.evaluate(zero.field, 0, z, noise);
    const m = Math.max(...Array.from(r.divergence.dataSync()).map(Math.abs));
    disposeResult(r, noise);
    zero.dispose();
    return m === 0 || `max |div| = ${m}`;
  });
  if (probes > 0) {
    rep.run('unbiased on a linear field', () => {
      const rng = new Random(seed + 2);
      const A = rng.normal([D, D]);
      const trace = Array.from({ length: D }, (_, i) => A.dataSync()[i * D + i]!).reduce((a, b) => a + b, 0);
      const lin: VectorField = (_t, x) => tf.matMul(x as tf.Tensor2D, A);
      const zz = tf.tidy(() => tf.tile(rng.normal([1, D]), [probes, 1]));
      const nz = plugin.sampleNoise(zz.shape, rng);
      const r = plugin.evaluate(lin, 0, zz, nz);
      const v = Array.from(r.divergence.dataSync());
      disposeResult(r, nz);
      tf.dispose([A, zz, ...(nz ? [nz] : [])]);
      const mean = v.reduce((a, b) => a + b, 0) / v.length;
      const sd = Math.sqrt(v.reduce((a, b) => a + (b - mean) ** 2, 0) / Math.max(1, v.length - 1));
      const se = sd / Math.sqrt(v.length);
      const tol = Math.max(4 * se, 1e-4 * (1 + Math.abs(trace)));
      return Math.abs(mean - trace) <= tol || `mean ${mean} vs tr(A) ${trace} (se ${se})`;
    });
  }
  if (noise) noise.dispose();
  rep.add('memory flat over the suite', tf.memory().numTensors === before, `${tf.memory().numTensors - before} tensors`);
  z.dispose();
  tf0.dispose();
  return rep.report(`estimator:${plugin.name}`);
}

export interface CheckRegularizerOptions {
  batch?: number;
  dims?: number;
  seed?: number;
  /** Estimator whose outputs feed the rate (default: Hutchinson with Gaussian probes). */
  estimator?: EstimatorPlugin;
  /** Whether the rate must vanish for f ≡ 0 (default true). */
  zeroForZeroField?: boolean;
}

/**
 * Regularizer conformance: rate is [batch], finite, deterministic for fixed
 * noise, leaks nothing, is differentiable w.r.t. the field's parameters
 * (finite gradient), and vanishes for f ≡ 0 (unless turned off).
 */
export function checkRegularizer(plugin: RegularizerPlugin, options: CheckRegularizerOptions = {}): CheckReport {
  const B = options.batch ?? 4;
  const D = options.dims ?? 3;
  const seed = options.seed ?? 11;
  const rep = new Reporter();
  rep.add('kind is regularizer', plugin.kind === 'regularizer');
  rep.add('rate is a function', typeof plugin.rate === 'function');
  rep.add('uses is a list', Array.isArray(plugin.uses));
  const tfield = testField({ dims: D, seed });
  const z = new Random(seed + 1).normal([B, D]);
  const before = tf.memory().numTensors;
  const est = options.estimator ?? gaussianProbe;
  const noise = est.sampleNoise(z.shape, new Random(seed));
  const rate = (field: VectorField, t: number) => tf.tidy(() => plugin.rate(regularizerContext(t, z, field, est.evaluate(field, t, z, noise))));
  rep.run('shape [batch], finite, deterministic', () => {
    const a = rate(tfield.field, 0.4);
    const b = rate(tfield.field, 0.4);
    const msgs: string[] = [];
    if (!sameShape(a, [B])) msgs.push(`rate shape [${a.shape.join(', ')}]`);
    if (!allFinite(a)) msgs.push('rate not finite');
    if (maxDiff(a, b) !== 0) msgs.push('not deterministic for fixed noise');
    tf.dispose([a, b]);
    return msgs.length === 0 || msgs.join('; ');
  });
  rep.run('no tensor leaks', () => {
    const n0 = tf.memory().numTensors;
    for (let i = 0; i < 3; i++) rate(tfield.field, 0.1 * i).dispose();
    return tf.memory().numTensors === n0 || `${tf.memory().numTensors - n0} tensors leaked`;
  });
  rep.run('differentiable w.r.t. parameters', () => {
    const { value, grads } = tf.variableGrads(() => tf.tidy(() => tf.sum(rate(tfield.field, 0.2)) as tf.Scalar), tfield.params);
    const g = Object.values(grads);
    const ok = g.length > 0 && g.every(allFinite);
    tf.dispose([value, ...g]);
    return ok || 'missing or non-finite parameter gradients';
  });
  rep.run('same rate from a fused probe (fSquaredSum, epsJSquaredSum) as from plain ops', () => {
    // The field with a probe that hands over Σf² and Σ(εᵀJ)² per sample, as a fused kernel does;
    // a regularizer that reads them must agree with its plain path to float32 rounding.
    const probed: VectorField = Object.assign((t: number, x: tf.Tensor) => tfield.field(t, x), {
      probe: (t: number, x: tf.Tensor, v: tf.Tensor) =>
        tf.tidy(() => {
          const r = vjp(tfield.field, t, x, v);
          const perSample = (a: tf.Tensor) => tf.sum(tf.reshape(a, [a.shape[0]!, -1]), 1);
          return { f: r.f, vjp: r.vjp, vDotVjp: perSample(tf.mul(r.vjp, v)), fSquaredSum: perSample(tf.square(r.f)), vjpSquaredSum: perSample(tf.square(r.vjp)) };
        }),
    });
    const plain = rate(tfield.field, 0.3);
    const fused = rate(probed, 0.3);
    const d = maxDiff(plain, fused);
    const scale = Math.max(1e-6, ...Array.from(plain.dataSync()).map(Math.abs));
    tf.dispose([plain, fused]);
    return d <= 1e-5 * scale || `max |fused − plain| = ${d} (scale ${scale})`;
  });
  if (options.zeroForZeroField ?? true) {
    rep.run('zero for f ≡ 0', () => {
      const zero = testField({ dims: D, seed, outputScale: 0 });
      const r = rate(zero.field, 0);
      const m = Math.max(...Array.from(r.dataSync()).map(Math.abs));
      r.dispose();
      zero.dispose();
      return m === 0 || `max |rate| = ${m}`;
    });
  }
  noise?.dispose();
  rep.add('memory flat over the suite', tf.memory().numTensors === before, `${tf.memory().numTensors - before} tensors`);
  z.dispose();
  tfield.dispose();
  return rep.report(`regularizer:${plugin.name}`);
}
