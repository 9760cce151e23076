import * as tf from '@tensorflow/tfjs-core';
import { afterAll, describe, expect, test } from 'vitest';
import { odeint } from '@rnode/solvers';
import { odeintAdjoint, type BackwardStats, type OdeintAdjointOptions } from './index.js';
import { directionalFd, mkVar, neuralOde, randn, relErr, weightedLoss } from './internal/test-problems.js';

// Tolerances are float32-aware:
// - dopri5 at rtol = atol = 1e-6: adjoint vs backprop differ by the two solves' errors → 2e-3;
// - rk4 on a fixed grid, the same grid reversed in the backward solve: the continuous adjoint
//   differs from backprop-through-solver by O(h⁴) (plus float32 round-off) → 1e-3 at h = 0.05;
// - central finite differences (ε = 1e-2) in float32: relative error 1e-2.
const DOPRI: OdeintAdjointOptions = { method: 'dopri5', rtol: 1e-6, atol: 1e-6 };
const RK4: OdeintAdjointOptions = { method: 'rk4', stepSize: 0.05 };
const report: Record<string, unknown> = {};
afterAll(() => console.log(`[adjoint figures ${process.env.RNODE_BACKEND}]`, JSON.stringify(report, null, 1)));

function gradsOf(vars: tf.Variable[], run: () => tf.Scalar): { value: number; grads: tf.Tensor[] } {
  const r = tf.variableGrads(run, vars);
  const value = r.value.dataSync()[0] as number;
  r.value.dispose();
  return { value, grads: vars.map((v) => r.grads[v.name] as tf.Tensor) };
}

describe('linear ODE y\' = a ⊙ y (closed form)', () => {
  test.each([
    ['dopri5', DOPRI, 2e-3],
    ['rk4', RK4, 1e-3],
  ] as const)('%s: adjoint = closed form = backprop', (name, opts, tol) => {
    const before = tf.memory().numTensors;
    const a = mkVar(tf.tensor1d([-0.7, 0.3, 1.1]), `a_${name}`);
    const y0 = mkVar(tf.tensor2d([[1.0, -0.5, 0.8]]), `y0_lin_${name}`);
    const w = tf.tensor2d([[0.3, -1.2, 0.5]]);
    const ts = [0, 0.5, 1.2];
    const f = (_t: number, y: tf.Tensor) => tf.mul(a, y);
    // L = Σ_j Σ_i w_i y_i(t_j) with y_i(t) = y0_i e^{a_i t}
    const loss = (ys: tf.Tensor[]) => tf.tidy(() => tf.addN(ys.slice(1).map((y) => tf.sum(tf.mul(w, y)))) as tf.Scalar);
    const adj = gradsOf([y0, a], () => loss(odeintAdjoint(f, y0 as tf.Tensor, ts, [a], opts).ys));
    const bp = gradsOf([y0, a], () => loss(odeint(f, y0 as tf.Tensor, ts, opts).ys));
    const av = a.dataSync();
    const yv = y0.dataSync();
    const wv = w.dataSync();
    const dy0 = [0, 0, 0];
    const da = [0, 0, 0];
    for (let i = 0; i < 3; i++) {
      for (const t of ts.slice(1)) {
        const e = Math.exp((av[i] as number) * t);
        dy0[i] = (dy0[i] as number) + (wv[i] as number) * e;
        da[i] = (da[i] as number) + (wv[i] as number) * (yv[i] as number) * t * e;
      }
    }
    const exact = [tf.tensor2d([dy0]), tf.tensor1d(da)];
    const errExact = relErr(adj.grads, exact);
    const errBp = relErr(adj.grads, bp.grads);
    report[`linear-${name}`] = { errVsExact: errExact, errVsBackprop: errBp };
    expect(errExact).toBeLessThan(tol);
    expect(errBp).toBeLessThan(tol);
    tf.dispose([...adj.grads, ...bp.grads, ...exact, a, y0, w]);
    expect(tf.memory().numTensors).toBe(before);
  });
});

describe('neural ODE f = W2·softplus(W1·y + b1 + t·c) + b2', () => {
  test.each([
    ['dopri5', DOPRI, 2e-3],
    ['rk4', RK4, 1e-3],
  ] as const)('%s: adjoint = backprop = finite differences (y0 and params, 3 output times)', (name, opts, tol) => {
    const before = tf.memory().numTensors;
    const net = neuralOde(2, 8, 11);
    const y0 = mkVar(tf.tensor2d(randn(6, 5), [3, 2]), `y0_nn_${name}`);
    const vars = [y0, ...net.params];
    const ts = [0, 0.4, 1];
    let bw: BackwardStats | undefined;
    let fwdNfe = 0;
    const adj = gradsOf(vars, () => {
      const sol = odeintAdjoint(net.f, y0 as tf.Tensor, ts, net.params, { ...opts, onBackward: (s) => (bw = s) });
      fwdNfe = sol.stats.nfe;
      return weightedLoss(sol.ys);
    });
    const bp = gradsOf(vars, () => weightedLoss(odeint(net.f, y0 as tf.Tensor, ts, opts).ys));
    const errBp = relErr(adj.grads, bp.grads);
    const lossOnly = () => {
      const sol = odeint(net.f, y0 as tf.Tensor, ts, opts);
      const l = weightedLoss(sol.ys);
      const v = l.dataSync()[0] as number;
      tf.dispose([l, ...sol.ys]);
      return v;
    };
    const fds = [1, 2, 3].map((seed) => directionalFd(lossOnly, vars, adj.grads, 1e-2, seed));
    const errFd = Math.max(...fds.map((d) => Math.abs(d.fd - d.analytic) / Math.max(Math.abs(d.fd), 1e-3)));
    report[`neural-${name}`] = { errVsBackprop: errBp, errVsFd: errFd, nfeForward: fwdNfe, nfeBackward: bw?.nfe };
    expect(bw?.done).toBe(true);
    expect(bw?.nfe).toBeGreaterThan(0);
    expect(errBp).toBeLessThan(tol);
    expect(errFd).toBeLessThan(1e-2);
    tf.dispose([...adj.grads, ...bp.grads, y0]);
    net.dispose();
    expect(tf.memory().numTensors).toBe(before);
  });

  test.each([
    ['dopri5', DOPRI, 2e-3],
    ['rk4', RK4, 1e-3],
  ] as const)('%s: reversed time (t decreasing)', (name, opts, tol) => {
    const before = tf.memory().numTensors;
    const net = neuralOde(2, 8, 21);
    const y0 = mkVar(tf.tensor2d(randn(6, 9), [3, 2]), `y0_rev_${name}`);
    const vars = [y0, ...net.params];
    const ts = [1, 0.5, -0.2];
    const adj = gradsOf(vars, () => weightedLoss(odeintAdjoint(net.f, y0 as tf.Tensor, ts, net.params, opts).ys));
    const bp = gradsOf(vars, () => weightedLoss(odeint(net.f, y0 as tf.Tensor, ts, opts).ys));
    const err = relErr(adj.grads, bp.grads);
    report[`reversed-${name}`] = { errVsBackprop: err };
    expect(err).toBeLessThan(tol);
    tf.dispose([...adj.grads, ...bp.grads, y0]);
    net.dispose();
    expect(tf.memory().numTensors).toBe(before);
  });
});

describe('structured states', () => {
  test('record state {z, logp} with logp\' depending on z (dopri5 and rk4)', () => {
    const before = tf.memory().numTensors;
    const net = neuralOde(2, 6, 31);
    type St = { z: tf.Tensor; logp: tf.Tensor };
    const f = (t: number, s: St): St => {
      const dz = net.f(t, s.z);
      return { z: dz, logp: tf.tidy(() => tf.neg(tf.sum(tf.mul(tf.square(dz), 0.5), 1, true))) };
    };
    const z0 = mkVar(tf.tensor2d(randn(8, 3), [4, 2]), 'z0_rec');
    const logp0 = mkVar(tf.zeros([4, 1]), 'logp0_rec');
    const vars = [z0, logp0, ...net.params];
    const ts = [0, 0.5, 1];
    const loss = (ys: St[]) =>
      tf.tidy(() => tf.add(weightedLoss(ys.map((s) => s.z)), tf.sum(tf.mul(ys[2]?.logp as tf.Tensor, -1))) as tf.Scalar);
    for (const [name, opts, tol] of [
      ['dopri5', { ...DOPRI, rtol: { z: 1e-6, logp: 1e-6 } }, 2e-3],
      ['rk4', RK4, 1e-3],
    ] as const) {
      const y0: St = { z: z0, logp: logp0 };
      const adj = gradsOf(vars, () => loss(odeintAdjoint(f, y0, ts, net.params, opts).ys));
      const bp = gradsOf(vars, () => loss(odeint(f, y0, ts, opts).ys));
      const err = relErr(adj.grads, bp.grads);
      report[`record-${name}`] = { errVsBackprop: err };
      expect(err).toBeLessThan(tol);
      tf.dispose([...adj.grads, ...bp.grads]);
    }
    tf.dispose([z0, logp0]);
    net.dispose();
    expect(tf.memory().numTensors).toBe(before);
  });

  test('tuple state [x, v] (damped oscillator, params k and c)', () => {
    const before = tf.memory().numTensors;
    const k = mkVar(tf.scalar(2.0), 'k_osc');
    const c = mkVar(tf.scalar(0.3), 'c_osc');
    const x0 = mkVar(tf.tensor1d([1, 0.2]), 'x0_osc');
    const v0 = mkVar(tf.tensor1d([0, -0.4]), 'v0_osc');
    const f = (_t: number, [x, v]: tf.Tensor[]) =>
      tf.tidy(() => [tf.clone(v as tf.Tensor), tf.neg(tf.add(tf.mul(k, x as tf.Tensor), tf.mul(c, v as tf.Tensor)))]);
    const vars = [x0, v0, k, c];
    const ts = [0, 0.7, 1.5, 2];
    const adj = gradsOf(vars, () => weightedLoss(odeintAdjoint(f, [x0, v0], ts, [k, c], DOPRI).ys));
    const bp = gradsOf(vars, () => weightedLoss(odeint(f, [x0, v0], ts, DOPRI).ys));
    const err = relErr(adj.grads, bp.grads);
    report['tuple-dopri5'] = { errVsBackprop: err };
    expect(err).toBeLessThan(2e-3);
    tf.dispose([...adj.grads, ...bp.grads, ...vars]);
    expect(tf.memory().numTensors).toBe(before);
  });

  test('tf.grads w.r.t. y0 and a plain-tensor param; unused params get zeros', () => {
    const before = tf.memory().numTensors;
    const y0 = tf.tensor2d([[0.5, -1]]);
    const a = tf.tensor1d([-0.4, 0.9]);
    const unused = tf.tensor2d([[1, 2]]);
    const g = tf.grads((y: tf.Tensor, p: tf.Tensor, u: tf.Tensor) => {
      const sol = odeintAdjoint((_t, s: tf.Tensor) => tf.mul(p, s), y, [0, 1], [p, u], DOPRI);
      return tf.sum(sol.ys[1] as tf.Tensor);
    })([y0, a, unused]);
    const e = [Math.exp(-0.4), Math.exp(0.9)];
    expect(relErr([g[0] as tf.Tensor], [tf.tensor2d([e], [1, 2])])).toBeLessThan(1e-3);
    expect(relErr([g[1] as tf.Tensor], [tf.tensor1d([0.5 * (e[0] as number), -1 * (e[1] as number)])])).toBeLessThan(1e-3);
    expect(Array.from((g[2] as tf.Tensor).dataSync())).toEqual([0, 0]);
    tf.dispose([...g, y0, a, unused]);
    // the tensors made for the expectations above are tidied by the engine's scope only if disposed:
    expect(tf.memory().numTensors).toBeLessThanOrEqual(before + 2);
  });
});

describe('backward options', () => {
  test('seminorm on and off: both match backprop; seminorm takes no more backward steps', () => {
    const before = tf.memory().numTensors;
    const net = neuralOde(3, 16, 61);
    const y0 = mkVar(tf.tensor2d(randn(12, 8), [4, 3]), 'y0_semi');
    const vars = [y0, ...net.params];
    const ts = [0, 0.5, 1.5];
    const opts = { method: 'dopri5', rtol: 1e-5, atol: 1e-6 } as const;
    const bp = gradsOf(vars, () => weightedLoss(odeint(net.f, y0 as tf.Tensor, ts, opts).ys));
    const figures: Record<string, unknown> = {};
    const nfe: Record<string, number> = {};
    for (const seminorm of [false, true]) {
      let bw: BackwardStats | undefined;
      let fwd = 0;
      const adj = gradsOf(vars, () => {
        const sol = odeintAdjoint(net.f, y0 as tf.Tensor, ts, net.params, { ...opts, seminorm, onBackward: (s) => (bw = s) });
        fwd = sol.stats.nfe;
        return weightedLoss(sol.ys);
      });
      const err = relErr(adj.grads, bp.grads);
      nfe[String(seminorm)] = bw?.nfe ?? NaN;
      figures[`seminorm=${seminorm}`] = { errVsBackprop: err, nfeForward: fwd, nfeBackward: bw?.nfe, rejected: bw?.rejected };
      expect(err).toBeLessThan(5e-3);
      tf.dispose(adj.grads);
    }
    report.seminorm = figures;
    expect(nfe.true).toBeLessThanOrEqual(nfe.false as number);
    tf.dispose([...bp.grads, y0]);
    net.dispose();
    expect(tf.memory().numTensors).toBe(before);
  });

  test('adjointMethod / adjointStepSize / adjointRtol; the sol.backward stats object fills in', () => {
    const before = tf.memory().numTensors;
    const net = neuralOde(2, 8, 71);
    const y0 = mkVar(tf.tensor2d(randn(4, 6), [2, 2]), 'y0_opts');
    const vars = [y0, ...net.params];
    const ts = [0, 1];
    const bp = gradsOf(vars, () => weightedLoss(odeint(net.f, y0 as tf.Tensor, ts, RK4).ys));
    const cases: Array<[string, OdeintAdjointOptions, number]> = [
      ['rk4 → dopri5 backward', { ...RK4, adjointMethod: 'dopri5', adjointRtol: 1e-6, adjointAtol: 1e-6 }, 1e-3],
      ['rk4 → rk4 at h/2 backward', { ...RK4, adjointStepSize: 0.025 }, 1e-3],
      ['rk4 → rk38 backward', { ...RK4, adjointMethod: 'rk38' }, 1e-3],
    ];
    for (const [name, o, tol] of cases) {
      let stats: BackwardStats | null = null;
      const adj = gradsOf(vars, () => {
        const sol = odeintAdjoint(net.f, y0 as tf.Tensor, ts, net.params, o);
        stats = sol.backward;
        expect(sol.backward?.done).toBe(false);
        return weightedLoss(sol.ys);
      });
      const s = stats as BackwardStats | null;
      expect(s?.done).toBe(true);
      const err = relErr(adj.grads, bp.grads);
      report[`options: ${name}`] = { errVsBackprop: err, nfeBackward: s?.nfe };
      expect(err).toBeLessThan(tol);
      tf.dispose(adj.grads);
    }
    tf.dispose([...bp.grads, y0]);
    net.dispose();
    expect(tf.memory().numTensors).toBe(before);
  });

  test('invalid arguments and options', () => {
    const y0 = tf.tensor1d([1]);
    const f = (_t: number, y: tf.Tensor) => y;
    expect(() => odeintAdjoint(f, y0, [0, 1], [], { seminorm: 1 as unknown as boolean })).toThrow(/seminorm/);
    expect(() => odeintAdjoint(f, y0, [0, 1], [], { adjointRtol: -1 })).toThrow(/adjointRtol/);
    expect(() => odeintAdjoint(f, y0, [0, 1], [3 as unknown as tf.Tensor])).toThrow(/params\[0\]/);
    expect(() => odeintAdjoint(f, y0, [0, 1], [], { rtoll: 1 } as OdeintAdjointOptions)).toThrow(/rtoll/);
    // @ts-expect-error a misspelt name is a type error too; here it is passed anyway, for the run-time check
    expect(() => odeintAdjoint(f, y0, [0, 1], [], { adjointMethod: 'nope' })).toThrow(/unknown solver "nope".*dopri5/);
    const i = tf.tensor1d([1], 'int32');
    expect(() => odeintAdjoint(f, i, [0, 1], [])).toThrow(/float32/);
    tf.dispose([y0, i]);
  });
});

describe('f that takes gradients itself (as a CNF divergence does)', () => {
  test('gradient flow f = −∇_y E(y), E = Σ (yW)⁴/4 + b·y, via tf.grads inside f', () => {
    const before = tf.memory().numTensors;
    const W = mkVar(tf.tensor2d(randn(6, 13, 0.5), [2, 3]));
    const b = mkVar(tf.tensor1d([0.2, -0.1]));
    const y0 = mkVar(tf.tensor2d(randn(4, 17), [2, 2]));
    const vars = [y0, W, b];
    const f = (_t: number, y: tf.Tensor) =>
      tf.tidy(() => {
        const g = tf.grad((x: tf.Tensor) => tf.add(tf.div(tf.sum(tf.pow(tf.matMul(x, W), 4)), 4), tf.sum(tf.mul(x, b))))(y);
        return tf.neg(g);
      });
    const ts = [0, 0.5, 1];
    const adj = gradsOf(vars, () => weightedLoss(odeintAdjoint(f, y0 as tf.Tensor, ts, [W, b], DOPRI).ys));
    const bp = gradsOf(vars, () => weightedLoss(odeint(f, y0 as tf.Tensor, ts, DOPRI).ys));
    const err = relErr(adj.grads, bp.grads);
    report['nested-grads-dopri5'] = { errVsBackprop: err };
    expect(err).toBeLessThan(2e-3);
    tf.dispose([...adj.grads, ...bp.grads, ...vars]);
    expect(tf.memory().numTensors).toBe(before);
  });
});

describe('edge cases', () => {
  test('y0 computed inside the gradient closure: the gradient flows upstream', () => {
    const before = tf.memory().numTensors;
    const x = mkVar(tf.tensor2d([[0.4, -0.3]]));
    const a = tf.tensor1d([-0.5, 0.25]);
    const f = (_t: number, y: tf.Tensor) => tf.mul(a, y);
    const r = tf.variableGrads(() => {
      const y0 = tf.mul(x, 3); // intermediate: disposed before the backward pass runs
      return tf.sum(odeintAdjoint(f, y0, [0, 1], [a], DOPRI).ys[1] as tf.Tensor) as tf.Scalar;
    }, [x]);
    const want = tf.tensor2d([[3 * Math.exp(-0.5), 3 * Math.exp(0.25)]]);
    expect(relErr([r.grads[x.name] as tf.Tensor], [want])).toBeLessThan(1e-4);
    tf.dispose([r.value, ...Object.values(r.grads), want, x, a]);
    expect(tf.memory().numTensors).toBe(before);
  });

  test('times follow the solvers\' rule (≥ 2, strictly monotonic), checked before solving', () => {
    const y0 = tf.tensor1d([1, 2]);
    const f = (_t: number, y: tf.Tensor) => y;
    expect(() => odeintAdjoint(f, y0, [0.3], [], DOPRI)).toThrow(/at least 2 times/);
    expect(() => odeintAdjoint(f, y0, [0, 1, 1], [], DOPRI)).toThrow(/strictly/);
    y0.dispose();
  });
});
