// WebGPU smoke test (webgpu project only; WebGPU in Node has no synchronous reads): the conv ODE
// net's forward, explicit VJP and the parameter gradient of the VJP-based loss
// L = Σ(εᵀJ)² + Σ εᵀJε agree across webgpu, cpu and wasm (the same host-side init and inputs on
// each backend; all reads asynchronous).
import * as tf from '@tensorflow/tfjs-core';
import { Random, useBackend, type BackendName } from '@rnode/core';
import { afterAll, describe, expect, it } from 'vitest';
import { createConvOdeNet } from './index.js';

interface Out {
  f: Float32Array;
  vjp: Float32Array;
  grad: Float32Array;
}

async function evaluate(backend: BackendName): Promise<Out> {
  await useBackend(backend);
  const net = createConvOdeNet({ channels: 2, hidden: [8, 8], zeroLast: 'none' }, new Random('webgpu-conv'));
  const rng = new Random('webgpu-conv-inputs');
  const z = rng.normal([2, 6, 6, 2]);
  const eps = rng.normal([2, 6, 6, 2]);
  try {
    const r = net.vjp(0.37, z, eps);
    const [f, vjp] = await Promise.all([r.f.data(), r.vjp.data()]);
    tf.dispose([r.f, r.vjp]);
    const { value, grads } = tf.variableGrads(() => {
      const q = net.vjp(0.37, z, eps);
      return tf.add(tf.sum(tf.square(q.vjp)), tf.sum(tf.mul(q.vjp, eps))) as tf.Scalar;
    }, net.params);
    const parts = await Promise.all(net.params.map(async (p) => (grads[p.name] ? await grads[p.name]!.data() : new Float32Array(p.size))));
    value.dispose();
    tf.dispose(Object.values(grads));
    const grad = new Float32Array(parts.reduce((a, p) => a + p.length, 0));
    let o = 0;
    for (const p of parts) {
      grad.set(p as Float32Array, o);
      o += p.length;
    }
    return { f: f as Float32Array, vjp: vjp as Float32Array, grad };
  } finally {
    tf.dispose([z, eps]);
    net.dispose();
  }
}

const maxRel = (a: Float32Array, b: Float32Array) => {
  const scale = Math.max(1e-3, ...Array.from(b, Math.abs));
  return Math.max(...Array.from(a, (v, i) => Math.abs(v - b[i]!))) / scale;
};

// The cpu and wasm projects also pick up this file (src/**/*.test.ts): it needs the webgpu project.
describe.skipIf(process.env.RNODE_BACKEND !== 'webgpu')('conv ODE net on webgpu = cpu = wasm', () => {
  afterAll(async () => {
    await useBackend('webgpu');
  });

  it('forward, explicit VJP and the parameter gradient of the VJP loss agree within float32 tolerance', async () => {
    const gpu = await evaluate('webgpu');
    const cpu = await evaluate('cpu');
    const wasm = await evaluate('wasm');
    const errs = {
      f: Math.max(maxRel(gpu.f, cpu.f), maxRel(wasm.f, cpu.f)),
      vjp: Math.max(maxRel(gpu.vjp, cpu.vjp), maxRel(wasm.vjp, cpu.vjp)),
      grad: Math.max(maxRel(gpu.grad, cpu.grad), maxRel(wasm.grad, cpu.grad)),
    };
    console.log(`conv net webgpu/wasm vs cpu, max error relative to max |cpu|: f ${errs.f.toExponential(2)}, vjp ${errs.vjp.toExponential(2)}, parameter gradient ${errs.grad.toExponential(2)}`);
    expect(errs.f).toBeLessThan(1e-4);
    expect(errs.vjp).toBeLessThan(1e-4);
    expect(errs.grad).toBeLessThan(1e-3);
  });
});
