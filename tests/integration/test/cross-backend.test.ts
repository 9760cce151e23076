// The same solutions and gradients on every available backend, within float32
// tolerance: an adaptive solve (dopri5, async reads so WebGPU in Node works),
// a neural ODE's parameter gradients by the continuous adjoint on the RK4 grid,
// and a full RNODE loss (Hutchinson divergence, kinetic energy, Jacobian
// Frobenius) differentiated through odeintAdjoint. cpu is the reference.
import * as tf from '@tensorflow/tfjs-core';
import { probeBackends, Random, safeTanh, useBackend, type BackendName } from '@rnode/core';
import { odeintAsync } from '@rnode/solvers';
import { linearProblem } from '@rnode/solvers/testing';
import { odeintAdjoint } from '@rnode/adjoint';
import { cnfDynamics, hutchinson, jacobianFrobenius, kineticEnergy } from '@rnode/estimators';
import { beforeAll, describe, expect, it } from 'vitest';

interface Results {
  adaptive: Float32Array;
  nfe: number;
  neuralGrads: Float32Array[];
  cnfLoss: number;
  cnfGrads: Float32Array[];
}

/** Parameters drawn on the host from one seed, so every backend starts from the same numbers. */
function makeParams(seed: number, shapes: number[][]): tf.Variable[] {
  const rng = new Random(seed);
  return shapes.map((s) => {
    const init = rng.normal(s, 0, 0.5);
    const v = tf.variable(init);
    init.dispose(); // tf.variable keeps its own reference to the data
    return v;
  });
}

async function runOn(): Promise<Results> {
  // 1. Adaptive solve of the 10-D linear problem.
  const lin = linearProblem(10, 0);
  const y0 = tf.tensor1d(Array.from(lin.exact(lin.t0)));
  const sol = await odeintAsync((t, y: tf.Tensor) => lin.f(t, y), y0, [lin.t0, lin.t1], { method: 'dopri5', rtol: 1e-5, atol: 1e-6 });
  const adaptive = (await sol.ys[1]!.data()) as Float32Array;
  const nfe = sol.stats.nfe;
  sol.ys.forEach((y) => y.dispose());
  y0.dispose();

  // 2. Neural ODE gradients by the adjoint on the RK4 grid.
  const [W1, b1, W2, b2, c] = makeParams(1, [[2, 16], [16], [16, 2], [2], [16]]) as [tf.Variable, tf.Variable, tf.Variable, tf.Variable, tf.Variable];
  const params = [W1, b1, W2, b2, c];
  const field = (t: number, z: tf.Tensor) =>
    tf.add(tf.matMul(safeTanh(tf.add(tf.add(tf.matMul(z, W1), b1), tf.mul(c, t))), W2), b2);
  const x = new Random(2).normal([8, 2]);
  const g1 = tf.variableGrads(() => {
    const s = odeintAdjoint(field, x, [0, 0.5, 1], params, { method: 'rk4', stepSize: 0.25 });
    return tf.add(tf.sum(tf.square(s.ys[2] as tf.Tensor)), tf.sum(s.ys[1] as tf.Tensor)) as tf.Scalar;
  }, params);
  const neuralGrads = await Promise.all(params.map((p) => g1.grads[p.name]!.data() as Promise<Float32Array>));
  g1.value.dispose();
  Object.values(g1.grads).forEach((g) => g.dispose());

  // 3. The RNODE loss of a CNF, its gradient by the adjoint.
  const est = hutchinson();
  const noise = est.sampleNoise([8, 2], new Random(3))!;
  const ke = kineticEnergy();
  const jf = jacobianFrobenius();
  const dyn = cnfDynamics({ field, estimator: est, regularizers: [ke, jf], noise });
  const zero = tf.zeros([8]);
  const g2 = tf.variableGrads(() => {
    const s = odeintAdjoint(dyn, { z: x, logp: zero, [ke.name]: zero, [jf.name]: zero }, [0, 1], params, {
      method: 'rk4',
      stepSize: 0.25,
    });
    const end = s.ys[1] as Record<string, tf.Tensor>;
    const logNormal = tf.mul(-0.5, tf.add(tf.sum(tf.square(end.z!), -1), 2 * Math.log(2 * Math.PI)));
    const nll = tf.sub(end.logp!, logNormal); // −log p(x) = −(log N(z(1)) − Δlogp)
    return tf.mean(tf.add(nll, tf.mul(0.01, tf.add(end[ke.name]!, end[jf.name]!)))) as tf.Scalar;
  }, params);
  const cnfLoss = (await g2.value.data())[0] as number;
  const cnfGrads = await Promise.all(params.map((p) => g2.grads[p.name]!.data() as Promise<Float32Array>));
  g2.value.dispose();
  Object.values(g2.grads).forEach((g) => g.dispose());
  tf.dispose([x, noise, zero, ...params]);
  return { adaptive, nfe, neuralGrads, cnfLoss, cnfGrads };
}

const relErr = (a: Float32Array, b: Float32Array) => {
  let num = 0;
  let den = 0;
  for (let i = 0; i < a.length; i++) {
    num = Math.max(num, Math.abs(a[i]! - b[i]!));
    den = Math.max(den, Math.abs(b[i]!));
  }
  return num / Math.max(den, 1e-12);
};

describe('solutions and gradients agree across backends', () => {
  const results = new Map<string, Results>();
  let names: BackendName[] = [];

  beforeAll(async () => {
    names = (await probeBackends()).filter((b) => b.available).map((b) => b.name);
    for (const name of names) {
      await useBackend(name);
      const before = tf.memory().numTensors;
      results.set(name, await runOn());
      expect(tf.memory().numTensors, `tensors leaked on ${name}`).toBe(before);
    }
    await useBackend('cpu');
  });

  it('runs on cpu and wasm at least (and webgpu where an adapter exists)', () => {
    expect(names).toContain('cpu');
    expect(names).toContain('wasm');
    if (process.env.VK_ICD_FILENAMES) expect(names).toContain('webgpu');
  });

  it('agrees with cpu within float32 tolerance', () => {
    const ref = results.get('cpu')!;
    const report: Record<string, Record<string, number>> = {};
    for (const [name, r] of results) {
      if (name === 'cpu') continue;
      const e = {
        adaptive: relErr(r.adaptive, ref.adaptive),
        neuralGrads: Math.max(...r.neuralGrads.map((g, i) => relErr(g, ref.neuralGrads[i]!))),
        cnfLoss: Math.abs(r.cnfLoss - ref.cnfLoss) / Math.abs(ref.cnfLoss),
        cnfGrads: Math.max(...r.cnfGrads.map((g, i) => relErr(g, ref.cnfGrads[i]!))),
      };
      report[name] = e;
      // float32 on every backend; kernels differ in summation order (and WebGPU in fused math),
      // so allow 1e-4 relative on solutions and 1e-3 on second-order gradients.
      expect(e.adaptive, `${name} adaptive solve`).toBeLessThan(1e-4);
      expect(r.nfe, `${name} NFE`).toBe(ref.nfe);
      expect(e.neuralGrads, `${name} adjoint gradients`).toBeLessThan(1e-3);
      expect(e.cnfLoss, `${name} RNODE loss`).toBeLessThan(1e-4);
      expect(e.cnfGrads, `${name} RNODE loss gradients`).toBeLessThan(1e-3);
    }
    console.log('[cross-backend] max relative difference from cpu:', JSON.stringify(report));
    expect(Number.isFinite(ref.cnfLoss)).toBe(true);
  });
});
