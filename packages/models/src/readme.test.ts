import * as tf from '@tensorflow/tfjs-core';
import { Random } from '@rnode/core';
import { createFlow, loadModel, saveModel } from './index.js';
import { it, expect } from 'vitest';

it('README example runs without leaks', async () => {
  const before = tf.memory().numTensors;
  
  const rng = new Random(42);
  // FFJORD's toy model: 2 → 64 → 64 → 64 → 2, concatsquash, tanh; here 2 blocks over [0, 0.5] each.
  const flow = createFlow({ dim: 2, blocks: 2, hidden: [64, 64, 64], T: 0.5 }, rng);
  
  const x = rng.normal([100, 2]);
  const logp = flow.logProb(x);                         // [100] nats; exact divergence, dopri5 1e-5
  const samples = flow.sample(500, new Random(1));      // base normals → data
  
  // Training step (RNODE): Hutchinson probe + regularizers, RK4, continuous adjoint.
  const opts = { method: 'rk4', stepSize: 0.25, estimator: 'hutchinson', noiseRng: rng,
                 regularizers: ['kinetic-energy', 'jacobian-frobenius'] } as const;
  const { value, grads } = tf.variableGrads(() => {
    const r = flow.forward(x, opts);
    const nll = tf.neg(tf.mean(tf.sub(tf.sum(tf.mul(-0.5, tf.square(r.z)), 1), r.deltaLogp)));
    return tf.add(nll, tf.mul(0.01, tf.add(tf.mean(r.regs['kinetic-energy']!), tf.mean(r.regs['jacobian-frobenius']!)))) as tf.Scalar;
  }, flow.params);
  
  const file = saveModel(flow);                         // plain JSON-serialisable object
  const copy = loadModel(JSON.parse(JSON.stringify(file)));
  tf.dispose([x, logp, samples, value, ...Object.values(grads)]);
  flow.dispose();
  copy.dispose();
  
  expect(tf.memory().numTensors).toBe(before);
});
