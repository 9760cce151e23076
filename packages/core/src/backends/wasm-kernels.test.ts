// rnode's wasm training kernels (Conv2DBackpropFilter, depthwise backprops)
// against tfjs's cpu kernels. Runs in the wasm project: it switches between
// cpu and wasm itself and restores the project's backend afterwards.
import * as tf from '@tensorflow/tfjs-core';
// tfjs-core's main bundle registers no gradients; the union package @tensorflow/tfjs would.
import '@tensorflow/tfjs-core/dist/register_all_gradients.js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { useBackend } from './index.js';
import { WRAPPED_CONV2D_BACKPROP_INPUT, WRAPPED_SHARE, registerWasmKernels } from './wasm-kernels.js';
import { leakedTensors, testBackendName } from '../testing/index.js';
import { execFileSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { setFlagsFromString } from 'node:v8';
import { conv2DBackpropFilterFast, conv2DBackpropInputWasm, conv2DWasm, convNetKernelVariant, convNetVariantAvailable, setConvNetKernelVariant } from './wasm-conv.js';

/** V8 flags are process-wide; Node 20 runs relaxed SIMD only with this one (the CLI and bench set it). */
function enableRelaxedSimdForTests(): boolean {
  setFlagsFromString('--experimental-wasm-relaxed-simd');
  return convNetVariantAvailable('relaxed');
}

/** float32, sums of up to a few thousand products: error relative to the largest |reference| entry. */
const TOL = 2e-5;
const worst: Record<string, number> = {};

type Pad = 'same' | 'valid' | [[0, 0], [number, number], [number, number], [0, 0]];

function values(n: number, seed: number): Float32Array {
  const out = new Float32Array(n);
  let s = seed >>> 0 || 1;
  for (let i = 0; i < n; i++) {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    out[i] = s / 2 ** 31 - 1;
  }
  return out;
}
const size = (shape: number[]) => shape.reduce((a, b) => a * b, 1);
const t4 = (shape: number[], seed: number) => tf.tensor4d(values(size(shape), seed), shape as [number, number, number, number]);
const tn = (shape: number[], seed: number) => tf.tensor(values(size(shape), seed), shape);

function scaledError(a: ArrayLike<number>, ref: ArrayLike<number>): number {
  expect(a.length).toBe(ref.length);
  let scale = 0;
  let err = 0;
  for (let i = 0; i < ref.length; i++) scale = Math.max(scale, Math.abs(ref[i] as number));
  for (let i = 0; i < ref.length; i++) {
    const e = Math.abs((a[i] as number) - (ref[i] as number));
    err = Number.isNaN(e) ? Infinity : Math.max(err, e);
  }
  return err / Math.max(scale, 1e-30);
}

function expectClose(label: string, a: ArrayLike<number>, ref: ArrayLike<number>): void {
  const e = scaledError(a, ref);
  worst[label] = Math.max(worst[label] ?? 0, e);
  expect(e, label).toBeLessThan(TOL);
}

/** Run `fn` on `backend`, return its results as arrays, and check it leaked nothing there. */
async function on(backend: 'cpu' | 'wasm', fn: () => tf.Tensor | tf.Tensor[]): Promise<Float32Array[]> {
  await tf.setBackend(backend);
  let out: Float32Array[] = [];
  const leaked = await leakedTensors(() => {
    const r = fn();
    const list = Array.isArray(r) ? r : [r];
    out = list.map((t) => t.dataSync() as Float32Array);
    tf.dispose(list);
  });
  expect(leaked, `${backend} leaked tensors`).toBe(0);
  return out;
}

async function compare(label: string, fn: () => tf.Tensor | tf.Tensor[]): Promise<void> {
  const ref = await on('cpu', fn);
  const got = await on('wasm', fn);
  expect(got.length).toBe(ref.length);
  got.forEach((g, i) => expectClose(label, g, ref[i]!));
}

interface ConvCase {
  x: [number, number, number, number];
  f: [number, number, number, number];
  strides: [number, number];
  pad: Pad;
}
const convCases: ConvCase[] = [
  { x: [2, 8, 8, 3], f: [3, 3, 3, 8], strides: [1, 1], pad: 'same' }, // the paper's 3x3 conv layers
  { x: [2, 7, 7, 8], f: [1, 1, 8, 65], strides: [1, 1], pad: 'valid' },
  { x: [2, 9, 9, 3], f: [3, 3, 3, 8], strides: [2, 2], pad: 'valid' },
  { x: [1, 10, 10, 1], f: [3, 3, 1, 3], strides: [2, 2], pad: 'same' },
  { x: [2, 6, 6, 65], f: [3, 3, 65, 8], strides: [1, 1], pad: 'same' },
  { x: [1, 8, 9, 3], f: [4, 2, 3, 4], strides: [2, 3], pad: 'same' },
  { x: [1, 8, 8, 3], f: [3, 3, 3, 4], strides: [1, 1], pad: [[0, 0], [1, 2], [2, 0], [0, 0]] },
  { x: [2, 9, 8, 3], f: [3, 3, 3, 4], strides: [2, 2], pad: [[0, 0], [0, 1], [1, 1], [0, 0]] },
];
const name = (c: ConvCase) => `x${c.x.join('x')} f${c.f.join('x')} s${c.strides.join('x')} ${typeof c.pad === 'string' ? c.pad : 'explicit'}`;

const run = testBackendName() === 'wasm';

describe.runIf(run)('wasm training kernels', () => {
  const project = testBackendName();
  beforeAll(async () => {
    await useBackend('cpu');
    await useBackend('wasm');
  });
  afterAll(async () => {
    await useBackend(project);
    console.log('[wasm-kernels] worst error / max|ref|:', JSON.stringify(worst));
  });

  it('registers idempotently; replaces only the kernels it wraps on purpose (BatchMatMul, Conv2DBackpropInput, Conv2D, Softplus)', () => {
    for (const k of ['Conv2DBackpropFilter', 'DepthwiseConv2dNativeBackpropFilter', 'DepthwiseConv2dNativeBackpropInput']) {
      expect(tf.getKernel(k, 'wasm'), k).toBeDefined();
    }
    const names = ['Conv2DBackpropFilter', 'BatchMatMul', 'Conv2DBackpropInput', 'Conv2D', 'Softplus', 'Identity', 'Cast'];
    const before = names.map((k) => tf.getKernel(k, 'wasm'));
    expect(registerWasmKernels()).toEqual([]);
    expect(names.map((k) => tf.getKernel(k, 'wasm'))).toEqual(before);
    // The Conv2DBackpropInput wrapper keeps tfjs's kernel (its fallback) under the marker.
    const wrapped = tf.getKernel('Conv2DBackpropInput', 'wasm')!;
    const original = (wrapped.kernelFunc as unknown as Record<symbol, unknown>)[WRAPPED_CONV2D_BACKPROP_INPUT];
    expect(typeof original).toBe('function');
    expect(original).not.toBe(wrapped.kernelFunc);
    expect(wrapped.setupFunc).toBeDefined(); // tfjs's setup (its cwrap) is kept for the fallback
  });

  it('Identity and same-dtype Cast share the data (no copy); other casts convert; strings still clone', async () => {
    await tf.setBackend('wasm');
    for (const k of ['Identity', 'Cast']) {
      expect(typeof (tf.getKernel(k, 'wasm')!.kernelFunc as unknown as Record<symbol, unknown>)[WRAPPED_SHARE], k).toBe('function');
    }
    const backend = tf.engine().backend;
    const ids0 = backend.numDataIds();
    const n0 = tf.memory().numTensors;
    const x = tf.tensor2d([1.5, -2.25, 3, 4e-8], [2, 2]);
    const ids = backend.numDataIds();
    const y = tf.clone(x);
    const z = tf.cast(x, 'float32');
    expect(backend.numDataIds(), 'no new data for a clone or a same-dtype cast').toBe(ids);
    expect(y.shape).toEqual([2, 2]);
    x.dispose(); // the shared data lives on while y and z refer to it
    expect(Array.from(y.dataSync())).toEqual([1.5, -2.25, 3, Math.fround(4e-8)]);
    expect(Array.from(z.dataSync())).toEqual([1.5, -2.25, 3, Math.fround(4e-8)]);
    y.dispose();
    expect(Array.from(z.dataSync())).toEqual([1.5, -2.25, 3, Math.fround(4e-8)]);
    z.dispose();
    expect(backend.numDataIds(), 'freed at the last reference').toBe(ids0);
    // Casts that change the dtype convert (tfjs's kernel), and share nothing.
    const i = tf.tensor1d([1, -2, 3], 'int32');
    const f = tf.cast(i, 'float32');
    const g = tf.tidy(() => tf.cast(tf.tensor1d([1.7, -2.7]), 'int32'));
    expect([f.dtype, Array.from(f.dataSync())]).toEqual(['float32', [1, -2, 3]]);
    expect([g.dtype, Array.from(g.dataSync())]).toEqual(['int32', [1, -2]]);
    const s = tf.tensor1d(['a', 'b'], 'string');
    const sc = tf.clone(s);
    s.dispose();
    expect(await sc.array()).toEqual(['a', 'b']);
    tf.dispose([i, f, g, sc]);
    expect(tf.memory().numTensors - n0).toBe(0);
    // Gradients save their inputs by clone and Multiply's gradient casts float32 → float32.
    await compare('grads through shared clones', () =>
      tf.tidy(() => {
        const p = tn([3, 5, 7], 40);
        const q = tn([3, 5, 7], 41);
        return tf.grads((a: tf.Tensor, c: tf.Tensor) => tf.sum(tf.mul(tf.sigmoid(tf.mul(a, c)), tf.square(a))))([p, q]);
      }),
    );
  });

  it.each([
    [false, false],
    [true, false],
    [false, true],
    [true, true],
  ])('BatchMatMul with transposeA=%s transposeB=%s equals cpu (wrapped: explicit transpose, then XNNPACK)', async (ta, tb) => {
    const k = tf.getKernel('BatchMatMul', 'wasm')!;
    expect((k.kernelFunc as unknown as Record<symbol, unknown>)[Symbol.for('rnode.wasm.batchMatMul.explicitTranspose')]).toBe(true);
    for (const batch of [[], [3]]) {
      await compare(`matMul ${ta} ${tb} batch ${batch.join()}`, () => {
        const a = tn(ta ? [...batch, 17, 33] : [...batch, 33, 17], 5);
        const b = tn(tb ? [...batch, 9, 17] : [...batch, 17, 9], 6);
        const y = tf.matMul(a, b, ta, tb);
        tf.dispose([a, b]);
        return y;
      });
    }
    // And through tfjs's matMul gradient, which always sets a flag.
    await compare('matMul grads', () => {
      const a = tn([64, 32], 7);
      const b = tn([32, 16], 8);
      const g = tf.grads((x: tf.Tensor, y: tf.Tensor) => tf.sum(tf.square(tf.matMul(x, y))))([a, b]);
      tf.dispose([a, b]);
      return g;
    });
    const [p, q] = [tf.ones([4, 3]), tf.ones([4, 5])];
    expect(await leakedTensors(() => tf.matMul(p, q, true, false).dispose())).toBe(0); // the transposed temp is freed
    tf.dispose([p, q]);
  });

  it.each(convCases)('Conv2DBackpropFilter, direct kernel call: $x $f $strides $pad', async (c) => {
    const dyShape = tf.tidy(() => tf.conv2d(t4(c.x, 1), t4(c.f, 2), c.strides, c.pad).shape);
    await compare('conv2d dW (kernel)', () => {
      const x = t4(c.x, 3);
      const dy = t4(dyShape, 4);
      const out = tf.engine().runKernel('Conv2DBackpropFilter', { x, dy }, {
        strides: c.strides,
        pad: c.pad,
        dataFormat: 'NHWC',
        filterShape: c.f,
      } as unknown as tf.NamedAttrMap) as tf.Tensor;
      tf.dispose([x, dy]);
      return out;
    });
  });

  it.each(convCases)('conv2d gradients through tf.grads: $x $f $strides $pad', async (c) => {
    await compare(`conv2d grads`, () =>
      tf.tidy(() => {
        const x = t4(c.x, 5);
        const f = t4(c.f, 6);
        const w = tf.tidy(() => t4(tf.conv2d(x, f, c.strides, c.pad).shape, 7));
        const [dx, df] = tf.grads((a: tf.Tensor, b: tf.Tensor) =>
          tf.sum(tf.mul(tf.conv2d(a as tf.Tensor4D, b as tf.Tensor4D, c.strides, c.pad), w)),
        )([x, f]);
        return [dx!, df!];
      }),
    );
  });

  // Conv2DBackpropInput: stride 1 NHWC runs as an XNNPACK Conv2D of dy with the flipped filter;
  // strides > 1, NCHW and over-wide explicit padding fall back to tfjs's kernel. Agreement with cpu
  // relative to max|ref| (float32 sums of up to 585 products).
  const INPUT_TOL = 2e-6;
  const inputCases: ConvCase[] = [
    ...convCases,
    { x: [2, 28, 28, 64], f: [3, 3, 64, 64], strides: [1, 1], pad: 'same' }, // the MNIST conv net's hidden layers
    { x: [2, 28, 28, 64], f: [3, 3, 64, 1], strides: [1, 1], pad: 'same' }, // its last layer (VJP: 1 → 64 channels)
    { x: [2, 14, 14, 4], f: [3, 3, 4, 64], strides: [1, 1], pad: 'same' }, // the first layer at the 14×14 scale
    { x: [1, 6, 5, 2], f: [1, 1, 2, 3], strides: [1, 1], pad: 'same' },
    { x: [1, 7, 9, 2], f: [5, 3, 2, 3], strides: [1, 1], pad: 'valid' },
    { x: [1, 5, 5, 2], f: [3, 3, 2, 3], strides: [1, 1], pad: [[0, 0], [3, 0], [0, 1], [0, 0]] }, // top 3 > fh − 1: fallback
  ];
  it.each(inputCases)('Conv2DBackpropInput, direct kernel call: $x $f $strides $pad', async (c) => {
    const dyShape = tf.tidy(() => tf.conv2d(t4(c.x, 1), t4(c.f, 2), c.strides, c.pad).shape);
    const call = () => {
      const dy = t4(dyShape, 31);
      const f = t4(c.f, 32);
      const out = tf.engine().runKernel('Conv2DBackpropInput', { dy, filter: f }, {
        strides: c.strides,
        pad: c.pad,
        dataFormat: 'NHWC',
        inputShape: c.x,
      } as unknown as tf.NamedAttrMap) as tf.Tensor;
      tf.dispose([dy, f]);
      return out;
    };
    const [ref] = await on('cpu', call);
    await tf.setBackend('wasm');
    const dataIds = tf.engine().backend.numDataIds();
    const [got] = await on('wasm', call);
    expect(tf.engine().backend.numDataIds(), 'wasm data left behind').toBe(dataIds);
    expect(got!.length).toBe(ref!.length);
    const e = scaledError(got!, ref!);
    worst['conv2d dx (kernel)'] = Math.max(worst['conv2d dx (kernel)'] ?? 0, e);
    expect(e, 'conv2d dx (kernel)').toBeLessThan(INPUT_TOL);
  });

  it('Conv2DBackpropInput stride 1 (as Conv2D) equals the kernel it replaced', async () => {
    await tf.setBackend('wasm');
    const original = (tf.getKernel('Conv2DBackpropInput', 'wasm')!.kernelFunc as unknown as Record<symbol, tf.KernelFunc>)[
      WRAPPED_CONV2D_BACKPROP_INPUT
    ]!;
    for (const c of [inputCases[0]!, inputCases[4]!, inputCases[6]!, inputCases[9]!]) {
      const dyShape = tf.tidy(() => tf.conv2d(t4(c.x, 1), t4(c.f, 2), c.strides, c.pad).shape);
      const dy = t4(dyShape, 33);
      const f = t4(c.f, 34);
      const attrs = { strides: c.strides, pad: c.pad, dataFormat: 'NHWC', inputShape: c.x } as unknown as tf.NamedAttrMap;
      const mine = tf.engine().runKernel('Conv2DBackpropInput', { dy, filter: f }, attrs) as tf.Tensor;
      const info = original({ inputs: { dy, filter: f }, backend: tf.engine().backend, attrs }) as tf.TensorInfo;
      const theirs = tf.engine().makeTensorFromTensorInfo(info);
      expectClose('conv2d dx vs tfjs wasm kernel', mine.dataSync(), theirs.dataSync());
      expect(scaledError(mine.dataSync(), theirs.dataSync())).toBeLessThan(INPUT_TOL);
      tf.dispose([dy, f, mine, theirs]);
    }
  });

  it('Conv2DBackpropInput with NCHW data format falls back to tfjs (direct kernel call)', async () => {
    await compare('conv2d dx NCHW', () => {
      const dy = t4([2, 4, 7, 7], 35);
      const f = t4([3, 3, 3, 4], 36);
      const out = tf.engine().runKernel('Conv2DBackpropInput', { dy, filter: f }, {
        strides: [1, 1],
        pad: 'same',
        dataFormat: 'NCHW',
        inputShape: [2, 3, 7, 7],
      } as unknown as tf.NamedAttrMap) as tf.Tensor;
      tf.dispose([dy, f]);
      return out;
    });
  });

  it('conv2dTranspose and its gradients (dy: Conv2D, filter: Conv2DBackpropFilter) equal cpu', async () => {
    for (const c of [inputCases[0]!, inputCases[9]!, inputCases[2]!]) {
      const dyShape = tf.tidy(() => tf.conv2d(t4(c.x, 1), t4(c.f, 2), c.strides, c.pad).shape);
      await compare('conv2dTranspose + grads', () =>
        tf.tidy(() => {
          const dy = t4(dyShape, 37);
          const f = t4(c.f, 38);
          const w = t4(c.x, 39);
          const op = (a: tf.Tensor, b: tf.Tensor) =>
            tf.conv2dTranspose(a as tf.Tensor4D, b as tf.Tensor4D, c.x, c.strides, c.pad as 'same' | 'valid');
          const [gdy, gf] = tf.grads((a: tf.Tensor, b: tf.Tensor) => tf.sum(tf.mul(op(a, b), w)))([dy, f]);
          return [op(dy, f), gdy!, gf!];
        }),
      );
    }
  });

  it('Conv2DBackpropFilter with NCHW data format (direct kernel call)', async () => {
    await compare('conv2d dW NCHW', () => {
      const x = t4([2, 3, 7, 7], 8);
      const dy = t4([2, 4, 7, 7], 9);
      const out = tf.engine().runKernel('Conv2DBackpropFilter', { x, dy }, {
        strides: [1, 1],
        pad: 'same',
        dataFormat: 'NCHW',
        filterShape: [3, 3, 3, 4],
      } as unknown as tf.NamedAttrMap) as tf.Tensor;
      tf.dispose([x, dy]);
      return out;
    });
  });

  // tfjs's gradients never pass dilations to the backprop kernels (they assert
  // dilations = 1), and cpu's kernels ignore them, so dilated cases are checked
  // by the adjoint identity <dy, conv(x, f)> = <dW(x, dy), f> (and
  // <dy, dconv(x, f)> = <dx(dy, f), x> for depthwise), on wasm against cpu's forward.
  it.each([
    { x: [1, 9, 9, 3], f: [3, 3, 3, 4], pad: 'same', d: [2, 2] },
    { x: [2, 10, 8, 2], f: [2, 3, 2, 3], pad: 'valid', d: [3, 2] },
  ] as const)('dilated Conv2DBackpropFilter satisfies the adjoint identity: $x $f $d $pad', async (c) => {
    const fwd = await on('cpu', () =>
      tf.tidy(() => {
        const y = tf.conv2d(t4([...c.x], 10), t4([...c.f], 11), 1, c.pad, 'NHWC', [...c.d]);
        return [tf.sum(tf.mul(y, t4(y.shape, 12))), tf.tensor1d(y.shape)];
      }),
    );
    const dyShape = Array.from(fwd[1]!);
    const [lhs] = await on('wasm', () =>
      tf.tidy(() => {
        const dW = tf.engine().runKernel('Conv2DBackpropFilter', { x: t4([...c.x], 10), dy: t4(dyShape, 12) }, {
          strides: [1, 1],
          dilations: [...c.d],
          pad: c.pad,
          dataFormat: 'NHWC',
          filterShape: [...c.f],
        } as unknown as tf.NamedAttrMap) as tf.Tensor;
        return tf.sum(tf.mul(dW, t4([...c.f], 11)));
      }),
    );
    expectClose('conv2d dW dilated (adjoint)', lhs!, fwd[0]!);
  });

  it('second order: gradient w.r.t. the filter of a function of the input gradient', async () => {
    for (const c of [convCases[0]!, convCases[2]!, convCases[3]!]) {
      await compare('conv2d grad-of-grad', () =>
        tf.tidy(() => {
          const x = t4(c.x, 13);
          const f = t4(c.f, 14);
          const w = tf.tidy(() => t4(tf.conv2d(x, f, c.strides, c.pad).shape, 15));
          // d/df Σ (∂/∂x Σ conv(x,f)·w)² runs the gradient of Conv2DBackpropInput,
          // whose filter part is Conv2DBackpropFilter(ddx, dy).
          const g = tf.grad((ff: tf.Tensor) => {
            const gx = tf.grad((xx: tf.Tensor) =>
              tf.sum(tf.mul(tf.conv2d(xx as tf.Tensor4D, ff as tf.Tensor4D, c.strides, c.pad), w)),
            )(x);
            return tf.sum(tf.square(gx));
          })(f);
          return g;
        }),
      );
    }
  });

  it('Conv2DBackpropFilter has no gradient of its own in tfjs (documented limitation)', async () => {
    // Differentiating the filter gradient again (a penalty on dW) needs a gradient
    // for Conv2DBackpropFilter, which tfjs-core 4.22 does not register on any
    // backend. (tfjs leaves the tape's tensors alive when a gradient throws, so
    // this test does not count tensors.)
    await tf.setBackend('wasm');
    const x = t4([1, 4, 4, 2], 16);
    const f = t4([3, 3, 2, 2], 17);
    expect(() =>
      tf.tidy(() =>
        tf.grad((ff: tf.Tensor) => {
          const df = tf.grad((f2: tf.Tensor) => tf.sum(tf.square(tf.conv2d(x, f2 as tf.Tensor4D, 1, 'same'))))(ff);
          return tf.sum(tf.square(df));
        })(f),
      ),
    ).toThrow(/gradient function not found for Conv2DBackpropFilter/i);
    tf.dispose([x, f]);
  });

  const dwCases = [
    { x: [2, 8, 8, 3], f: [3, 3, 3, 2], strides: [1, 1], pad: 'same' },
    { x: [1, 9, 9, 8], f: [3, 3, 8, 1], strides: [2, 2], pad: 'valid' },
    { x: [2, 5, 5, 65], f: [1, 1, 65, 1], strides: [1, 1], pad: 'valid' },
    { x: [1, 7, 7, 1], f: [3, 3, 1, 4], strides: [2, 2], pad: 'same' },
    { x: [1, 6, 7, 3], f: [3, 2, 3, 2], strides: [1, 2], pad: [[0, 0], [1, 0], [2, 1], [0, 0]] },
  ] as Array<{ x: number[]; f: number[]; strides: [number, number]; pad: Pad }>;

  it.each(dwCases)('depthwise gradients through tf.grads: $x $f $strides $pad', async (c) => {
    await compare('depthwise grads', () =>
      tf.tidy(() => {
        const x = t4(c.x, 18);
        const f = t4(c.f, 19);
        const w = tf.tidy(() => t4(tf.depthwiseConv2d(x, f, c.strides, c.pad).shape, 20));
        const [dx, df] = tf.grads((a: tf.Tensor, b: tf.Tensor) =>
          tf.sum(tf.mul(tf.depthwiseConv2d(a as tf.Tensor4D, b as tf.Tensor4D, c.strides, c.pad), w)),
        )([x, f]);
        return [dx!, df!];
      }),
    );
  });

  it.each(dwCases)('depthwise backprops, direct kernel calls: $x $f $strides $pad', async (c) => {
    const dyShape = tf.tidy(() => tf.depthwiseConv2d(t4(c.x, 1), t4(c.f, 2), c.strides, c.pad).shape);
    await compare('depthwise dW/dx (kernel)', () => {
      const x = t4(c.x, 21);
      const f = t4(c.f, 22);
      const dy = t4(dyShape, 23);
      const attrs = { strides: c.strides, pad: c.pad, dilations: [1, 1] };
      const dW = tf.engine().runKernel('DepthwiseConv2dNativeBackpropFilter', { x, dy }, {
        ...attrs,
        filterShape: c.f,
      } as unknown as tf.NamedAttrMap) as tf.Tensor;
      const dx = tf.engine().runKernel('DepthwiseConv2dNativeBackpropInput', { dy, filter: f }, {
        ...attrs,
        inputShape: c.x,
      } as unknown as tf.NamedAttrMap) as tf.Tensor;
      tf.dispose([x, f, dy]);
      return [dW, dx];
    });
  });

  it('dilated depthwise backprops satisfy the adjoint identities', async () => {
    const c = { x: [1, 9, 9, 3], f: [3, 3, 3, 2], pad: 'same' as const, d: [2, 2] as [number, number] };
    const fwd = await on('cpu', () =>
      tf.tidy(() => {
        const y = tf.depthwiseConv2d(t4(c.x, 24), t4(c.f, 25), 1, c.pad, 'NHWC', c.d);
        return [tf.sum(tf.mul(y, t4(y.shape, 26))), tf.tensor1d(y.shape)];
      }),
    );
    const dyShape = Array.from(fwd[1]!);
    const [viaFilter, viaInput] = await on('wasm', () =>
      tf.tidy(() => {
        const x = t4(c.x, 24);
        const f = t4(c.f, 25);
        const dy = t4(dyShape, 26);
        const attrs = { strides: [1, 1], pad: c.pad, dilations: c.d };
        const dW = tf.engine().runKernel('DepthwiseConv2dNativeBackpropFilter', { x, dy }, {
          ...attrs,
          filterShape: c.f,
        } as unknown as tf.NamedAttrMap) as tf.Tensor;
        const dx = tf.engine().runKernel('DepthwiseConv2dNativeBackpropInput', { dy, filter: f }, {
          ...attrs,
          inputShape: c.x,
        } as unknown as tf.NamedAttrMap) as tf.Tensor;
        return [tf.sum(tf.mul(dW, f)), tf.sum(tf.mul(dx, x))];
      }),
    );
    expectClose('depthwise dilated (adjoint)', viaFilter!, fwd[0]!);
    expectClose('depthwise dilated (adjoint)', viaInput!, fwd[0]!);
  });
});

// rnode's own conv-net kernels (wasm-conv.ts): Conv2D (and through it the stride-1
// Conv2DBackpropInput), Conv2DBackpropFilter and Softplus, in both compiled variants.
describe.runIf(run)('wasm conv-net kernels (assembly/conv-net.ts), both variants', () => {
  const project = testBackendName();
  const relaxed = enableRelaxedSimdForTests();
  beforeAll(async () => {
    await useBackend('cpu');
    await useBackend('wasm');
  });
  afterAll(async () => {
    setConvNetKernelVariant('auto');
    await useBackend(project);
    const mine = Object.fromEntries(Object.entries(worst).filter(([k]) => /conv-net|softplus/.test(k)));
    console.log('[wasm conv-net kernels] worst error / max|ref| (softplus: relative to float64):', JSON.stringify(mine));
  });
  // channel counts off the f32x4 / 8-lane blocks (and below 4: unfolded into a 1×1 conv), widths
  // off the 4-pixel tiles (tiles crossing rows), bands shorter
  // than the image (40×40×32: 12 rows per band), 1×1 and 5×5 filters, explicit and valid padding
  const cases: ConvCase[] = [
    { x: [3, 7, 7, 1], f: [3, 3, 1, 64], strides: [1, 1], pad: 'same' },
    { x: [2, 14, 14, 64], f: [3, 3, 64, 4], strides: [1, 1], pad: 'same' },
    { x: [1, 40, 40, 32], f: [3, 3, 32, 32], strides: [1, 1], pad: 'same' },
    // 3×3 with ≥ 4 channels runs Winograd F(2×2, 3×3): odd output sizes (partial 2×2 tiles)
    { x: [2, 7, 7, 16], f: [3, 3, 16, 64], strides: [1, 1], pad: 'same' },
    // several images per Winograd call (2 of 196 tiles each here), the last call with fewer
    { x: [3, 28, 28, 8], f: [3, 3, 8, 8], strides: [1, 1], pad: 'same' },
    { x: [1, 5, 9, 8], f: [3, 3, 8, 3], strides: [1, 1], pad: 'valid' },
    { x: [1, 6, 7, 4], f: [3, 3, 4, 9], strides: [1, 1], pad: [[0, 0], [2, 1], [0, 2], [0, 0]] },
    { x: [2, 9, 6, 5], f: [5, 5, 5, 9], strides: [1, 1], pad: 'same' },
    { x: [1, 6, 11, 3], f: [3, 3, 3, 17], strides: [1, 1], pad: 'valid' },
    { x: [2, 5, 5, 12], f: [1, 1, 12, 3], strides: [1, 1], pad: 'valid' },
    { x: [1, 8, 8, 3], f: [3, 3, 3, 4], strides: [1, 1], pad: [[0, 0], [1, 2], [2, 0], [0, 0]] },
  ];
  const variants: Array<'simd' | 'relaxed'> = ['simd', ...(relaxed ? (['relaxed'] as const) : [])];

  it('the relaxed-SIMD variant validates once V8 has the flag (it is what the CLI and bench run)', () => {
    expect(relaxed).toBe(true);
  });

  for (const variant of variants) {
    it.each(cases)(`${variant}: Conv2D, Conv2DBackpropInput and Conv2DBackpropFilter equal cpu: $x $f $pad`, async (c) => {
      setConvNetKernelVariant(variant);
      const dyShape = tf.tidy(() => tf.conv2d(t4(c.x, 1), t4(c.f, 2), 1, c.pad).shape);
      await tf.setBackend('wasm');
      // the fast paths are taken (each returns null where it does not apply)
      const direct = tf.tidy(() => {
        const backend = tf.backend();
        const x = t4(c.x, 30);
        const f = t4(c.f, 31);
        const dy = t4(dyShape, 32);
        const attrs = { strides: [1, 1], pad: c.pad, dataFormat: 'NHWC', dilations: [1, 1], filterShape: c.f, inputShape: c.x } as never;
        const y = conv2DWasm({ inputs: { x, filter: f }, backend, attrs });
        const dx = conv2DBackpropInputWasm({ inputs: { dy, filter: f }, backend, attrs });
        const dW = conv2DBackpropFilterFast({ inputs: { x, dy }, backend, attrs });
        const taken = [y !== null, dx !== null, dW !== null];
        for (const t of [y, dx, dW]) if (t) backend.disposeData(t.dataId);
        return taken;
      });
      expect(direct).toEqual([true, true, true]);
      expect(convNetKernelVariant()).toBe(variant);
      await compare(`conv-net ${variant} conv2d, dx, dW`, () =>
        tf.tidy(() => {
          const x = t4(c.x, 33);
          const f = t4(c.f, 34);
          const w = t4(dyShape, 35);
          const [dx, df] = tf.grads((a: tf.Tensor, b: tf.Tensor) => tf.sum(tf.mul(tf.conv2d(a as tf.Tensor4D, b as tf.Tensor4D, 1, c.pad), w)))([x, f]);
          return [tf.conv2d(x, f, 1, c.pad), dx!, df!];
        }),
      );
    });

    it(`${variant}: softplus to float64 (relative 1e-6 everywhere, ±88 and beyond, NaN and ±inf), and its gradient`, async () => {
      setConvNetKernelVariant(variant);
      await tf.setBackend('wasm');
      const xs: number[] = [];
      for (let v = -120; v <= 120; v += 0.0137) xs.push(v);
      xs.push(0, -0, 1e-30, -1e-30, 87.5, -87.5, 88.8, -88.8, 1e6, -1e6, 3e38, -3e38);
      const x = tf.tensor1d(xs);
      const y = tf.softplus(x);
      const got = y.dataSync();
      let worstRel = 0;
      xs.forEach((v, i) => {
        const f = Math.fround(v);
        const ref = Math.max(f, 0) + Math.log1p(Math.exp(-Math.abs(f)));
        // below −87 the kernel clamps exp's argument: the value there is ~1e−38, not exp(x)
        if (f < -87) expect(Math.abs(got[i]!)).toBeLessThan(2e-38);
        else worstRel = Math.max(worstRel, Math.abs(got[i]! - ref) / ref);
      });
      worst[`softplus ${variant}`] = worstRel;
      expect(worstRel).toBeLessThan(1e-6);
      const special = tf.softplus(tf.tensor1d([NaN, Infinity, -Infinity, 0.5, 0.25, -3])).dataSync();
      expect(Number.isNaN(special[0]!)).toBe(true);
      expect(special[1]).toBe(Infinity);
      expect(special[2]!).toBeGreaterThanOrEqual(0);
      expect(special[2]!).toBeLessThan(2e-38);
      tf.dispose([x, y]);
      // sizes off the 4-lane vectors and across the 16,384-value chunks
      await compare(`softplus ${variant} and grad`, () =>
        tf.tidy(() => {
          const a = tn([3, 16_411], 40);
          const s = tf.mul(a, 30);
          return [tf.softplus(s), tf.grad((q: tf.Tensor) => tf.sum(tf.mul(tf.softplus(q), tn([3, 16_411], 41))))(s)];
        }),
      );
    });
  }

  it('not covered, tfjs runs: strides 2, NCHW, dilations (the wrappers fall back)', async () => {
    await tf.setBackend('wasm');
    const x = t4([1, 8, 8, 3], 50);
    const f = t4([3, 3, 3, 4], 51);
    const backend = tf.backend();
    const out = [
      conv2DWasm({ inputs: { x, filter: f }, backend, attrs: { strides: [2, 2], pad: 'same', dataFormat: 'NHWC' } as never }),
      conv2DWasm({ inputs: { x, filter: f }, backend, attrs: { strides: [1, 1], pad: 'same', dataFormat: 'NCHW' } as never }),
      conv2DWasm({ inputs: { x, filter: f }, backend, attrs: { strides: [1, 1], dilations: [2, 2], pad: 'same', dataFormat: 'NHWC' } as never }),
    ];
    tf.dispose([x, f]);
    expect(out).toEqual([null, null, null]);
  });
});

describe('conv-net kernels: generated binaries', () => {
  const pkg = fileURLToPath(new URL('../..', import.meta.url));
  const have = existsSync(join(pkg, '../../node_modules/assemblyscript/package.json'));
  const title = 'src/backends/conv-net-wasm.generated.ts is what `pnpm build:kernels` builds';
  it.skipIf(!have)(have ? title : `${title} (SKIPPED: assemblyscript is not installed, cannot rebuild)`, () => {
    // the package's own build:kernels command line, with --check (compare, write nothing)
    const [, ...args] = (JSON.parse(readFileSync(join(pkg, 'package.json'), 'utf8')).scripts['build:kernels'] as string).split(/\s+/);
    expect(() => execFileSync(process.execPath, [...args, '--check'], { cwd: pkg, stdio: 'pipe' }), 'stale: run `pnpm build:kernels`').not.toThrow();
  });
});
