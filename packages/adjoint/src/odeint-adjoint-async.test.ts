import * as tf from '@tensorflow/tfjs-core';
import { describe, expect, test } from 'vitest';
import { odeintAdjoint, odeintAdjointAsync, type BackwardStats } from './index.js';
import { mkVar, neuralOde, randn, relErr, weightedLoss } from './internal/test-problems.js';

describe('odeintAdjointAsync', () => {
  test.each([
    ['dopri5', { method: 'dopri5', rtol: 1e-6, atol: 1e-6 }],
    ['rk4', { method: 'rk4', stepSize: 0.05 }],
  ] as const)('%s: explicit backward = the tape version (record state, output gradients at 2 times)', async (_name, opts) => {
    const before = tf.memory().numTensors;
    const net = neuralOde(2, 8, 91);
    type St = { z: tf.Tensor; logp: tf.Tensor };
    const f = (t: number, s: St): St => {
      const dz = net.f(t, s.z);
      return { z: dz, logp: tf.tidy(() => tf.neg(tf.sum(tf.square(dz), 1, true))) };
    };
    const z0 = mkVar(tf.tensor2d(randn(6, 1), [3, 2]), `z0_async_${_name}`);
    const logp0 = mkVar(tf.zeros([3, 1]), `logp0_async_${_name}`);
    const vars = [z0, logp0, ...net.params];
    const ts = [0, 0.5, 1];
    const loss = (ys: St[]) =>
      tf.tidy(() => tf.add(weightedLoss(ys.map((s) => s.z)), tf.addN(ys.slice(1).map((s, i) => tf.mul(tf.sum(s.logp), i + 1)))) as tf.Scalar);

    // Tape version.
    let syncStats: BackwardStats | undefined;
    const r = tf.variableGrads(
      () => loss(odeintAdjoint(f, { z: z0 as tf.Tensor, logp: logp0 as tf.Tensor }, ts, net.params, { ...opts, onBackward: (s) => (syncStats = s) }).ys),
      vars,
    );
    const ref = vars.map((v) => r.grads[v.name] as tf.Tensor);
    r.value.dispose();

    // Explicit version: dL/dys from tf.grads of the loss w.r.t. the outputs.
    const sol = await odeintAdjointAsync(f, { z: z0 as tf.Tensor, logp: logp0 as tf.Tensor }, ts, net.params, opts);
    const leaves = sol.ys.flatMap((s) => [s.z, s.logp]);
    const g = tf.grads((...xs: tf.Tensor[]) =>
      loss([sol.ys[0] as St, ...[0, 1].map((i) => ({ z: xs[2 * i] as tf.Tensor, logp: xs[2 * i + 1] as tf.Tensor }))]),
    )(leaves.slice(2));
    const dLdys = [null, { z: g[0] as tf.Tensor, logp: g[1] as tf.Tensor }, { z: g[2] as tf.Tensor, logp: g[3] as tf.Tensor }];
    const back = await sol.backward(dLdys);
    const got = [back.dy0.z, back.dy0.logp, ...back.dparams];
    const err = relErr(got, ref);
    console.log(`[async ${process.env.RNODE_BACKEND} ${_name}] err vs tape version ${err}; nfe fwd ${sol.stats.nfe} bwd ${back.stats.nfe} (tape ${syncStats?.nfe})`);
    expect(err).toBeLessThan(1e-5);
    expect(back.stats.nfe).toBe(syncStats?.nfe);
    await expect(sol.backward(dLdys)).rejects.toThrow(/already/);
    tf.dispose([...ref, ...g, ...got, ...leaves, z0, logp0]);
    net.dispose();
    expect(tf.memory().numTensors).toBe(before);
  });

  test('dispose() releases the stored states without a backward pass', async () => {
    const before = tf.memory().numTensors;
    const a = tf.tensor1d([0.3]);
    const y0 = tf.tensor1d([1]);
    const sol = await odeintAdjointAsync((_t, y: tf.Tensor) => tf.mul(a, y), y0, [0, 1], [a]);
    sol.dispose();
    tf.dispose([...sol.ys, a, y0]);
    expect(tf.memory().numTensors).toBe(before);
  });
});
