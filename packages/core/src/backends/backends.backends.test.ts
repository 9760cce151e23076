// The backend plugins, in every project (cpu, wasm, webgpu): availability,
// selection, errors, and a few ops agreeing across cpu, wasm and webgpu.
// Reads go through `await data()` so this runs on WebGPU in Node too.
import * as tf from '@tensorflow/tfjs-core';
// tfjs-core's main bundle registers no gradients; the union package @tensorflow/tfjs would.
import '@tensorflow/tfjs-core/dist/register_all_gradients.js';
import { afterAll, describe, expect, it } from 'vitest';
import { isRnodeError } from '../errors.js';
import { register, unregister } from '../registry.js';
import type { BackendPlugin } from './types.js';
import type { BackendName } from './index.js';
import {
  canReadSync,
  createWebgpuBackend,
  currentBackend,
  pickAutoBackend,
  probeBackends,
  useBackend,
  webgpuBackend,
} from './index.js';
import { leakedTensors, testBackendName } from '../testing/index.js';
import { tfjsPackageLoader } from './optional.js';

const project = testBackendName();
afterAll(async () => {
  await useBackend(project);
});

async function rejection(p: Promise<unknown>): Promise<Error & { code?: string }> {
  try {
    await p;
  } catch (e) {
    return e as Error & { code?: string };
  }
  throw new Error('expected a rejection');
}

describe('backend plugins', () => {
  it('probeBackends reports every built-in, with reasons for the unavailable ones', async () => {
    const report = await probeBackends();
    console.log(`[backends:${project}] probe:`, JSON.stringify(report.map(({ name, available, software }) => ({ name, available, software }))));
    expect(report.map((r) => r.name)).toEqual(expect.arrayContaining(['cpu', 'wasm', 'webgpu', 'tensorflow', 'tensorflow-gpu']));
    for (const r of report) if (!r.available) expect(r.reason, r.name).toMatch(/\S/);
    expect(report.find((r) => r.name === 'cpu')).toMatchObject({ available: true, software: false });
    expect(report.find((r) => r.name === 'wasm')).toMatchObject({ available: true });
    if (project === 'webgpu') expect(report.find((r) => r.name === 'webgpu')?.available).toBe(true);
  });

  it('useBackend activates every available backend, then the project backend again', async () => {
    for (const r of await probeBackends()) {
      if (!r.available) continue;
      const p = await useBackend(r.name);
      expect(p.name).toBe(r.name);
      expect(tf.getBackend()).toBe(p.tfjsName);
      expect(currentBackend()).toBe(p);
    }
    await useBackend(project);
    expect(tf.getBackend()).toBe(project);
  });

  it('auto never picks a software backend', async () => {
    const auto = await pickAutoBackend();
    expect(auto.isSoftware?.() ?? false).toBe(false);
    if ((await webgpuBackend.isAvailable()) && webgpuBackend.isSoftware?.()) expect(auto.name).not.toBe('webgpu');

    const fake: BackendPlugin<'fake-software'> = {
      kind: 'backend',
      name: 'fake-software',
      tfjsName: 'cpu',
      priority: 1e9,
      syncRead: true,
      isAvailable: async () => true,
      isSoftware: () => true,
      init: async () => {},
    };
    register(fake);
    try {
      expect((await pickAutoBackend()).name).not.toBe('fake-software');
    } finally {
      unregister('backend', fake);
    }
  });

  it('an unknown backend name lists the registered ones', async () => {
    // @ts-expect-error a misspelt name is a type error too; here it is passed anyway, for the run-time check
    const e = await rejection(useBackend('no-such-backend'));
    expect(isRnodeError(e, 'PLUGIN_NOT_FOUND')).toBe(true);
    expect(e.message).toMatch(/unknown backend "no-such-backend"/);
    expect(e.message).toMatch(/cpu, wasm, webgpu, tensorflow, tensorflow-gpu/);
  });

  it('tensorflow and tensorflow-gpu say what to install when tfjs-node is missing', async () => {
    const report = await probeBackends();
    for (const [name, pkg] of [
      ['tensorflow', '@tensorflow/tfjs-node'],
      ['tensorflow-gpu', '@tensorflow/tfjs-node-gpu'],
    ] as const) {
      const r = report.find((x) => x.name === name)!;
      if (r.available) continue; // installed here: nothing to check
      expect(r.reason).toContain(`npm install ${pkg}@4.22.0`);
      expect(r.reason).toMatch(/downloads .*libtensorflow.*internet/);
      const e = await rejection(useBackend(name));
      expect(isRnodeError(e, 'BACKEND_UNAVAILABLE')).toBe(true);
      expect(e.message).toContain(`[backend:${name}]`);
      expect(e.message).toContain(`npm install ${pkg}@4.22.0`);
    }
    expect(report.find((x) => x.name === 'tensorflow-gpu')!.reason ?? '').toMatch(/CUDA/);
    expect(tf.getBackend()).toBe(project); // a failed useBackend leaves the current backend alone
  });

  it('a list falls back past backends that are unknown, unavailable or fail to initialise, naming each', async () => {
    const broken: BackendPlugin<'broken-init'> = {
      kind: 'backend',
      name: 'broken-init',
      tfjsName: 'cpu',
      priority: 1e9, // auto tries it first
      syncRead: true,
      isAvailable: async () => true,
      init: async () => {
        throw new Error('the .wasm file was not served');
      },
    };
    const missing: BackendPlugin<'not-installed'> = {
      kind: 'backend',
      name: 'not-installed',
      tfjsName: 'not-installed',
      priority: 1e8,
      syncRead: true,
      isAvailable: async () => false,
      unavailableReason: () => 'its package is not installed',
      init: async () => {},
    };
    register(broken, missing);
    try {
      const p = await useBackend([broken, missing, 'cpu']);
      expect(p.name).toBe('cpu');
      expect(tf.getBackend()).toBe('cpu');
      // auto skips what is unavailable and falls back past what fails to initialise
      const auto = await useBackend('auto');
      expect(auto.name).not.toBe('broken-init');
      expect(auto.name).not.toBe('not-installed');
      // nothing in the list works: one error naming every backend tried and why
      const e = await rejection(useBackend([broken, missing]));
      expect(isRnodeError(e, 'BACKEND_UNAVAILABLE')).toBe(true);
      expect(e.message).toContain('broken-init: ');
      expect(e.message).toContain('the .wasm file was not served');
      expect(e.message).toContain('not-installed: ');
      expect(e.message).toContain('its package is not installed');
      // a single backend reports its own error unchanged
      const single = await rejection(useBackend(broken));
      expect(single.message).toMatch(/could not initialise backend "broken-init": the \.wasm file was not served/);
    } finally {
      unregister('backend', broken);
      unregister('backend', missing);
      await useBackend(project);
    }
  });

  it('a backend whose tfjs package cannot be loaded is unavailable, with a reason that names the entry to import', async () => {
    const load = tfjsPackageLoader('imaginary', 'imaginary', '@tensorflow/tfjs-backend-imaginary');
    const r = await load();
    expect(r.ok).toBe(false);
    if (!r.ok) {
      expect(r.reason).toContain('needs the package "@tensorflow/tfjs-backend-imaginary", which is not installed');
      expect(r.reason).toContain("import '@rnode/core/backends/imaginary'");
    }
    // a package tfjs already knows (loaded by the test setup) is available without an import
    expect(await tfjsPackageLoader('cpu', 'cpu', '@tensorflow/tfjs-backend-does-not-matter')()).toEqual({ ok: true });
  });

  it('createWebgpuBackend checks its options', () => {
    expect(() => createWebgpuBackend({ icdd: 'x' } as never)).toThrow(/unknown option "icdd"/);
    expect(() => createWebgpuBackend({ powerPreference: 'fast' as never })).toThrow(/option "powerPreference" must be 'low-power' or 'high-performance', got "fast"/);
  });

  it.runIf(project === 'webgpu')('webgpu in Node: software adapter detected, no synchronous reads', async () => {
    expect(currentBackend()?.name).toBe('webgpu');
    const info = (webgpuBackend as ReturnType<typeof createWebgpuBackend>).adapterInfo();
    console.log('[backends:webgpu] adapter:', JSON.stringify(info));
    if (/swiftshader/i.test(JSON.stringify(info))) expect(webgpuBackend.isSoftware?.()).toBe(true);
    // Never on WebGPU (browsers included: tfjs's dataSync returned zeros there), whether it was
    // set by useBackend or by tf.setBackend directly.
    expect(canReadSync()).toBe(false);
    expect(webgpuBackend.syncRead).toBe(false);
  });
});

// ---------------------------------------------------------------------------
// Cross-backend agreement.

function values(n: number, seed: number, scale = 1): Float32Array {
  const out = new Float32Array(n);
  let s = seed >>> 0 || 1;
  for (let i = 0; i < n; i++) {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    out[i] = (s / 2 ** 31 - 1) * scale;
  }
  return out;
}

/** The ops under comparison, each a function of fresh inputs made on the current backend. */
const OPS: Record<string, () => tf.Tensor | tf.Tensor[]> = {
  matMul: () => tf.matMul(tf.tensor2d(values(16 * 32, 1), [16, 32]), tf.tensor2d(values(32 * 8, 2), [32, 8])),
  'matMul transposed': () =>
    tf.matMul(tf.tensor2d(values(32 * 16, 3), [32, 16]), tf.tensor2d(values(8 * 32, 4), [8, 32]), true, true),
  conv2d: () => tf.conv2d(tf.tensor4d(values(2 * 8 * 8 * 3, 5), [2, 8, 8, 3]), tf.tensor4d(values(3 * 3 * 3 * 4, 6), [3, 3, 3, 4]), 1, 'same'),
  'conv2d grads (x, filter), 3x3 same': () => {
    const x = tf.tensor4d(values(2 * 8 * 8 * 3, 7), [2, 8, 8, 3]);
    const f = tf.tensor4d(values(3 * 3 * 3 * 4, 8), [3, 3, 3, 4]);
    const w = tf.tensor4d(values(2 * 8 * 8 * 4, 9), [2, 8, 8, 4]);
    return tf.grads((a: tf.Tensor, b: tf.Tensor) => tf.sum(tf.mul(tf.conv2d(a as tf.Tensor4D, b as tf.Tensor4D, 1, 'same'), w)))([x, f]);
  },
  'conv2d grads (x, filter), stride 2 valid': () => {
    const x = tf.tensor4d(values(2 * 9 * 9 * 3, 10), [2, 9, 9, 3]);
    const f = tf.tensor4d(values(3 * 3 * 3 * 8, 11), [3, 3, 3, 8]);
    const w = tf.tensor4d(values(2 * 4 * 4 * 8, 12), [2, 4, 4, 8]);
    return tf.grads((a: tf.Tensor, b: tf.Tensor) => tf.sum(tf.mul(tf.conv2d(a as tf.Tensor4D, b as tf.Tensor4D, 2, 'valid'), w)))([x, f]);
  },
  softplus: () => tf.softplus(tf.tensor1d(values(257, 13, 20))),
  tanh: () => tf.tanh(tf.tensor1d(values(257, 14, 5))),
  'tanh grad': () => tf.grad((v: tf.Tensor) => tf.sum(tf.tanh(v)))(tf.tensor1d(values(257, 15, 3))),
  'sum/mean/max/min along an axis': () => {
    const a = tf.tensor2d(values(33 * 65, 16), [33, 65]);
    return [tf.sum(a, 1), tf.mean(a, 0), tf.max(a, 1), tf.min(a, 0), tf.sum(a)];
  },
  logSumExp: () => tf.logSumExp(tf.tensor2d(values(7 * 129, 17, 10), [7, 129]), 1),
};

/** float32 on every backend (WebGPU has no float64): error relative to the largest |cpu| entry. */
const TOL = 5e-5;

async function evaluate(): Promise<Record<string, Float32Array[]>> {
  const out: Record<string, Float32Array[]> = {};
  for (const [name, op] of Object.entries(OPS)) {
    const leaked = await leakedTensors(async () => {
      const r = tf.tidy(op);
      const list = Array.isArray(r) ? r : [r];
      out[name] = await Promise.all(list.map(async (t) => (await t.data()) as Float32Array));
      tf.dispose(list);
    });
    expect(leaked, `${tf.getBackend()} ${name} leaked tensors`).toBe(0);
  }
  return out;
}

describe('ops agree across backends', () => {
  it('matMul, conv2d and its gradients, softplus, tanh, reductions: cpu vs wasm vs webgpu', async () => {
    const backends: BackendName[] = ['cpu', 'wasm'];
    if (await webgpuBackend.isAvailable()) backends.push('webgpu');
    const results: Record<string, Record<string, Float32Array[]>> = {};
    for (const b of backends) {
      await useBackend(b);
      results[b] = await evaluate();
    }
    await useBackend(project);
    const worst: Record<string, number> = {};
    for (const b of backends.slice(1)) {
      for (const [name, ref] of Object.entries(results['cpu']!)) {
        const got = results[b]![name]!;
        expect(got.length).toBe(ref.length);
        let e = 0;
        ref.forEach((r, i) => {
          const g = got[i]!;
          expect(g.length, `${b} ${name}`).toBe(r.length);
          let scale = 0;
          let err = 0;
          for (let k = 0; k < r.length; k++) {
            scale = Math.max(scale, Math.abs(r[k]!));
            const d = Math.abs(g[k]! - r[k]!);
            err = Number.isNaN(d) ? Infinity : Math.max(err, d);
          }
          e = Math.max(e, err / Math.max(scale, 1e-30));
        });
        worst[`${b} ${name}`] = e;
        expect(e, `${b} vs cpu: ${name}`).toBeLessThan(TOL);
      }
    }
    console.log(`[backends:${project}] worst error / max|cpu| per op:`, JSON.stringify(worst));
  });
});
