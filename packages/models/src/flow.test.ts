import * as tf from '@tensorflow/tfjs-core';
import { Random } from '@rnode/core';
import { describe, expect, it } from 'vitest';
import { createFlow, loadModel, saveModel, standardNormalLogProb, type CreateFlowOptions, type ModelFile } from './index.js';

const tight = { method: 'dopri5', rtol: 1e-6, atol: 1e-6 } as const;
const flow2d = (seed: number, extra: Partial<CreateFlowOptions> = {}) =>
  createFlow({ dim: 2, blocks: 2, hidden: [16, 16], zeroLast: 'none', T: 0.5, ...extra }, new Random(seed));

function read(t: tf.Tensor): number[] {
  return Array.from(t.dataSync());
}
/** max |a − b| without leaving tensors behind. */
function maxDiff(a: tf.Tensor, b: tf.Tensor): number {
  return tf.tidy(() => tf.max(tf.abs(tf.sub(a, b))).dataSync()[0]!);
}

describe('Flow', () => {
  it('round trip data → base → data within 1e-3 (dopri5, rtol = atol = 1e-6, 2 blocks)', () => {
    const before = tf.memory().numTensors;
    const flow = flow2d(1, { activation: 'tanh', layer: 'concatsquash', T: 2 });
    const x = new Random(2).normal([32, 2]);
    const out = flow.forward(x, tight);
    const back = flow.inverse(out.z, tight);
    const moved = maxDiff(out.z, x);
    const err = maxDiff(back, x);
    console.log(`round trip: max |x − inverse(forward(x))| = ${err.toExponential(2)} (the flow moves points by up to ${moved.toFixed(3)})`);
    expect(moved).toBeGreaterThan(0.05);
    expect(err).toBeLessThan(1e-3);
    tf.dispose([x, back]);
    out.dispose();
    flow.dispose();
    expect(tf.memory().numTensors - before).toBe(0);
  });

  it('log-density = log N(z) + log|det ∂z/∂x| (Jacobian by central differences of the flow map)', () => {
    const before = tf.memory().numTensors;
    const flow = flow2d(3, { activation: 'softplus' });
    const fixed = { method: 'rk4', stepSize: 0.01 } as const; // same grid for the map and the divergence
    const pts = [[0.3, -0.7], [-1.2, 0.4], [0.9, 1.1]];
    const h = 1e-2;
    const x = tf.tensor2d(pts);
    const lpT = flow.logProb(x, fixed);
    const lp = read(lpT);
    lpT.dispose();
    let maxErr = 0;
    pts.forEach(([a, b], i) => {
      const probe = tf.tensor2d([[a! + h, b!], [a! - h, b!], [a!, b! + h], [a!, b! - h], [a!, b!]]);
      const r = flow.forward(probe, fixed);
      const z = read(r.z);
      const j11 = (z[0]! - z[2]!) / (2 * h), j21 = (z[1]! - z[3]!) / (2 * h);
      const j12 = (z[4]! - z[6]!) / (2 * h), j22 = (z[5]! - z[7]!) / (2 * h);
      const logdet = Math.log(Math.abs(j11 * j22 - j12 * j21));
      const zc = [z[8]!, z[9]!];
      const ref = -0.5 * (zc[0]! ** 2 + zc[1]! ** 2) - Math.log(2 * Math.PI) + logdet;
      maxErr = Math.max(maxErr, Math.abs(ref - lp[i]!));
      r.dispose();
      probe.dispose();
    });
    console.log(`log-density vs log N(z) + log|det J_FD|: max abs error ${maxErr.toExponential(2)}`);
    expect(maxErr).toBeLessThan(2e-3);
    x.dispose();
    flow.dispose();
    expect(tf.memory().numTensors - before).toBe(0);
  });

  it('exp(logProb) integrates to 1 within 2 % on [−6, 6]² (exact divergence, dopri5)', async () => {
    const before = tf.memory().numTensors;
    const flow = flow2d(5, { T: 1.5 });
    const n = 120;
    const step = 12 / n;
    const coords: number[] = [];
    for (let i = 0; i < n; i++) for (let j = 0; j < n; j++) coords.push(-6 + (i + 0.5) * step, -6 + (j + 0.5) * step);
    const x = tf.tensor2d(coords, [n * n, 2]);
    const lp = await flow.logProbAsync(x, { rtol: 1e-5, atol: 1e-5 });
    const mass = read(lp).reduce((a, v) => a + Math.exp(v), 0) * step * step;
    console.log(`∫ exp(logProb) on [−6, 6]² (${n}×${n} midpoints) = ${mass.toFixed(5)}`);
    expect(Math.abs(mass - 1)).toBeLessThan(0.02);
    tf.dispose([x, lp]);
    flow.dispose();
    expect(tf.memory().numTensors - before).toBe(0);
  });

  it('learned T = s²: the gradient reaches s and matches finite differences', () => {
    const before = tf.memory().numTensors;
    const flow = createFlow({ dim: 2, blocks: 1, hidden: [8], zeroLast: 'none', T: 0.7, trainT: true }, new Random(9));
    const s = flow.blocks[0]!.sqrtT!;
    expect(flow.paramNames).toContain('block0/sqrtT');
    expect(flow.blocks[0]!.endTime()).toBeCloseTo(0.7, 6);
    const x = new Random(10).normal([16, 2]);
    const opts = { method: 'rk4', stepSize: 0.05 } as const;
    const loss = (adjoint: 'backprop' | 'backsolve') => () => tf.neg(tf.mean(tf.sub(standardNormalLogProb(flow.forward(x, { ...opts, adjoint }).z), flow.forward(x, { ...opts, adjoint }).deltaLogp))) as tf.Scalar;
    const grad = (adjoint: 'backprop' | 'backsolve') => {
      const { value, grads } = tf.variableGrads(loss(adjoint), [s]);
      const g = grads[s.name]!.dataSync()[0]!;
      tf.dispose([value, ...Object.values(grads)]);
      return g;
    };
    const gBackprop = grad('backprop');
    const gBacksolve = grad('backsolve');
    const s0 = s.dataSync()[0]!;
    const h = 1e-2;
    const at = (v: number) => {
      tf.tidy(() => s.assign(tf.scalar(v)));
      return tf.tidy(() => tf.neg(tf.mean(flow.logProb(x, opts))).dataSync()[0]!);
    };
    const fd = (at(s0 + h) - at(s0 - h)) / (2 * h);
    tf.tidy(() => s.assign(tf.scalar(s0)));
    console.log(`dL/ds: backprop ${gBackprop.toFixed(5)}, backsolve ${gBacksolve.toFixed(5)}, central FD ${fd.toFixed(5)}`);
    expect(Math.abs(gBackprop)).toBeGreaterThan(1e-3);
    expect(Math.abs(gBackprop - fd) / Math.abs(fd)).toBeLessThan(1e-2);
    expect(Math.abs(gBacksolve - fd) / Math.abs(fd)).toBeLessThan(2e-2);
    x.dispose();
    flow.dispose();
    expect(tf.memory().numTensors - before).toBe(0);
  });

  it('no leaks: forward with gradients (hutchinson + regularizers, backsolve and backprop), forwardAsync, inverse, sample, trajectories', async () => {
    const flow = flow2d(11, { trainT: true });
    const x = new Random(12).normal([8, 2]);
    const before = tf.memory().numTensors;
    const hut = { method: 'rk4', stepSize: 0.25, estimator: 'hutchinson', regularizers: ['kinetic-energy', 'jacobian-frobenius'], noiseRng: new Random(13) } as const;
    for (const adjoint of ['backsolve', 'backprop'] as const) {
      let stats: { nfe: number; backward: { nfe: number; done: boolean } | null } | undefined;
      const { value, grads } = tf.variableGrads(() => {
        const r = flow.forward(x, { ...hut, adjoint });
        stats = r.stats;
        expect(Object.keys(r.regs)).toEqual(['kinetic-energy', 'jacobian-frobenius']);
        return tf.add(tf.mean(r.deltaLogp), tf.mean(r.regs['kinetic-energy']!)) as tf.Scalar;
      }, flow.params);
      expect(stats!.nfe).toBe(2 * 4 * 4); // 2 blocks × 4 rk4 steps × 4 stages
      if (adjoint === 'backsolve') expect(stats!.backward!.done && stats!.backward!.nfe > 0).toBe(true);
      expect(Object.keys(grads).length).toBeGreaterThan(0);
      tf.dispose([value, ...Object.values(grads)]);
      expect(tf.memory().numTensors - before).toBe(0);
    }
    flow.forward(x, hut).dispose(); // forward without a tape
    (await flow.forwardAsync(x, hut)).dispose();
    flow.inverse(x).dispose();
    (await flow.inverseAsync(x)).dispose();
    flow.sample(5, new Random(1)).dispose();
    (await flow.sampleAsync(5, new Random(1))).dispose();
    tf.dispose(flow.trajectories(x, [0, 0.2, 0.5, 1]));
    expect(tf.memory().numTensors - before).toBe(0);
    x.dispose();
    flow.dispose();
  });

  it('trajectories end at forward(x); sample = inverse of the drawn normals', () => {
    const before = tf.memory().numTensors;
    const flow = flow2d(14);
    const x = new Random(15).normal([4, 2]);
    const traj = flow.trajectories(x, [0, 0.25, 0.5, 0.75, 1], tight);
    const out = flow.forward(x, tight);
    expect(maxDiff(traj[0]!, x)).toBe(0);
    expect(maxDiff(traj[4]!, out.z)).toBeLessThan(1e-4);
    const s = flow.sample(4, new Random(16), tight);
    const zs = new Random(16).normal([4, 2]);
    const inv = flow.inverse(zs, tight);
    expect(read(s)).toEqual(read(inv));
    tf.dispose([...traj, x, s, zs, inv]);
    out.dispose();
    flow.dispose();
    expect(tf.memory().numTensors - before).toBe(0);
  });

  it('save → load gives identical outputs; the file is plain JSON', () => {
    const before = tf.memory().numTensors;
    const flow = flow2d(17, { trainT: true, layer: 'concat', activation: 'swish' });
    const file = JSON.parse(JSON.stringify(saveModel(flow))) as ModelFile;
    expect(file.format).toBe('rnode-model');
    expect(file.version).toBe(1);
    expect(Object.keys(file.weights)).toEqual(flow.paramNames);
    const loaded = loadModel(file);
    const x = new Random(18).normal([6, 2]);
    const a = flow.logProb(x, tight);
    const b = loaded.logProb(x, tight);
    expect(read(b)).toEqual(read(a));
    expect(loaded.config).toEqual(flow.config);
    tf.dispose([x, a, b]);
    flow.dispose();
    loaded.dispose();
    expect(tf.memory().numTensors - before).toBe(0);
  });

  it('rejects corrupted model files with clear errors and leaks nothing', () => {
    const flow = flow2d(19);
    const good = saveModel(flow);
    flow.dispose();
    const before = tf.memory().numTensors;
    const mutate = (fn: (f: ModelFile) => void) => {
      const f = JSON.parse(JSON.stringify(good)) as ModelFile;
      fn(f);
      return f;
    };
    const cases: Array<[string, ModelFile, RegExp]> = [
      ['format', mutate((f) => ((f as { format: string }).format = 'keras')), /"format" must be "rnode-model"/],
      ['version', mutate((f) => ((f as { version: number }).version = 2)), /version/],
      ['shape', mutate((f) => (f.weights['block0/layer1/W']!.shape = [16, 15])), /block0\/layer1\/W.*shape/],
      ['truncated', mutate((f) => (f.weights['block1/layer0/b']!.data = f.weights['block1/layer0/b']!.data.slice(0, -8))), /block1\/layer0\/b/],
      ['not base64', mutate((f) => (f.weights['block0/layer0/W']!.data = '@@@@')), /not valid base64/],
      ['missing', mutate((f) => delete f.weights['block1/layer2/Wb']), /"block1\/layer2\/Wb" is missing/],
      ['extra', mutate((f) => (f.weights['block9/x'] = { shape: [1], dtype: 'float32', data: 'AAAAAA==' })), /unexpected weight/],
      ['config', mutate((f) => ((f.config.blocks[0]!.net as { activation: string }).activation = 'relu')), /activation/],
    ];
    for (const [what, file, re] of cases) {
      let err: unknown;
      try {
        loadModel(file).dispose();
      } catch (e) {
        err = e;
      }
      expect(err, what).toMatchObject({ code: 'INVALID_CHECKPOINT' });
      expect((err as Error).message, what).toMatch(re);
    }
    expect(tf.memory().numTensors - before).toBe(0);
  });
});


describe('standardNormalLogProb', () => {
  it('log N(z; 0, I) per sample for any rank: [B, D] and [B, H, W, C] give −½‖z‖² − (D/2)·log 2π', () => {
    const before = tf.memory().numTensors;
    const z2 = tf.tensor2d([[0, 0, 0, 0], [1, -2, 0.5, 3]]);
    const z4 = tf.reshape(z2, [2, 2, 1, 2]);
    const c = 2 * Math.log(2 * Math.PI); // (D/2)·log 2π, D = 4
    const lp2 = standardNormalLogProb(z2);
    const lp4 = standardNormalLogProb(z4);
    expect(lp2.shape).toEqual([2]);
    expect(lp4.shape).toEqual([2]);
    const v = read(lp2);
    expect(v[0]).toBeCloseTo(-c, 5);
    expect(v[1]).toBeCloseTo(-0.5 * (1 + 4 + 0.25 + 9) - c, 5);
    expect(read(lp4)).toEqual(v); // same bits whatever the rank
    tf.dispose([z2, z4, lp2, lp4]);
    expect(tf.memory().numTensors).toBe(before);
  });
});
