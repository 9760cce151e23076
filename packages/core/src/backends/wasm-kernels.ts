import * as tf from '@tensorflow/tfjs-core';
import { backend_util, getKernel } from '@tensorflow/tfjs-core';
import type { KernelFunc, NamedAttrMap, TensorInfo } from '@tensorflow/tfjs-core';
import { registerKernels, wrapKernel, type KernelSet } from '../kernels/register.js';
import { WASM_KERNELS_APPLIED } from './wasm.js';
import { conv2DBackpropFilterFast, conv2DBackpropInputWasm, conv2DWasm, pair, precompileConvNetKernels, softplusWasm } from './wasm-conv.js';

/**
 * Kernels tfjs-backend-wasm 4.22 lacks for training, registered for the `wasm`
 * backend by `registerWasmKernels()`: at import of `@rnode/core/backends/wasm` (the only
 * module that imports this one), which the wasm plugin's `init` imports by a computed name
 * where it was not imported yet (Node), so the main entry's bundle carries none of it. They
 * fix the backend for every gradient taken on it (any model, or a user's own network),
 * which is why they live with the backend, not with the models that need them most:
 *
 * - `Conv2DBackpropFilter` (the filter gradient of `tf.conv2d`, and the
 *   second-order path of its input gradient): at stride 1 in NHWC (every conv of
 *   rnode's models) rnode's own wasm-SIMD kernels (`wasm-conv.ts`); otherwise
 *   a composite of the wasm kernels Transpose, Conv2D (XNNPACK) and Slice. The
 *   filter gradient is itself a convolution: with the channels of `x` as batch and
 *   the batch of `x` as channels, `x` convolved with `dy` (dilation = forward
 *   stride, stride = forward dilation) gives `dW`.
 * - `DepthwiseConv2dNativeBackpropInput` / `...BackpropFilter` (the gradients
 *   of `tf.depthwiseConv2d`): direct loops over the wasm heap in JavaScript.
 *   Depthwise layers are small in rnode's models, so correctness comes first.
 *
 * Each kernel is registered only if tfjs has none for `wasm`, so a future
 * tfjs-backend-wasm that ships its own wins. Kernels run below the engine: under
 * `tf.tidy` and the gradient tape they are one kernel call, and every
 * intermediate they make is freed before they return.
 *
 * Two kernels tfjs-backend-wasm does have are explicitly *wrapped* (replaced by a
 * kernel that keeps the original as its fallback, marked so that wrapping is
 * idempotent, setup/dispose hooks kept), because the originals are slow loops
 * that rnode's training runs through:
 *
 * - `BatchMatMul` with `transposeA`/`transposeB` (see `wrapBatchMatMul`).
 * - `Conv2DBackpropInput` (the input gradient of `tf.conv2d`, `tf.conv2dTranspose`,
 *   and the explicit VJPs of the conv ODE nets): a naive C++ loop in 4.22, about
 *   10x slower than the XNNPACK Conv2D. At stride 1 in NHWC rnode's wasm-SIMD
 *   kernel (`wasm-conv.ts`) runs it; else, at stride 1, it is an XNNPACK
 *   convolution (see `conv2DBackpropInputAsConv`); other cases go to the original.
 * - `Conv2D` at stride 1 in NHWC: rnode's wasm-SIMD kernels (`wasm-conv.ts`: 3×3 by
 *   Winograd F(2×2, 3×3), fused multiply-add under relaxed SIMD; 2.5–3× the speed of
 *   XNNPACK, which has no FMA in tfjs 4.22's build, on the image flows' 64→64 layers);
 *   XNNPACK for the rest.
 * - `Softplus`: vectorised (`wasm-conv.ts`); tfjs's is a scalar loop, ~4× slower.
 * - `Identity` and same-dtype `Cast`: tfjs-backend-wasm copies the data, where the
 *   cpu and webgl backends share it (tfjs never writes into a tensor's data). The
 *   tape clones every tensor it saves for the backward pass (`Identity`) and the
 *   Multiply gradient casts float32 to float32, so a reverse pass over image-sized
 *   activations made one full copy per saved tensor. Shared, as on cpu.
 *
 * tfjs-core registers no gradient for the backprop kernels themselves, on any
 * backend: differentiating `dW` again (e.g. a penalty on the filter gradient)
 * fails with "gradient function not found for Conv2DBackpropFilter". Gradients
 * of the *input* gradient (Conv2DBackpropInput) are registered and work.
 */

const BACKEND = 'wasm';

/** The slice of tfjs-backend-wasm's BackendWasm these kernels use. */
interface WasmBackendLike {
  readSync(dataId: object): backend_util.BackendValues;
  makeOutput(shape: number[], dtype: tf.DataType, memoryOffset?: number, values?: backend_util.BackendValues): TensorInfo;
  disposeData(dataId: object, force?: boolean): boolean;
}

type Attrs = NamedAttrMap & Record<string, unknown>;

function wasmKernel(name: string): KernelFunc {
  const k = getKernel(name, BACKEND);
  if (!k) throw new Error(`[rnode] wasm kernel ${name} is missing; rnode's wasm training kernels need it`);
  return k.kernelFunc;
}

/** Run a wasm kernel on TensorInfos; the result is owned by the caller (free it with `free`). */
function run(name: string, backend: WasmBackendLike, inputs: Record<string, TensorInfo>, attrs: Attrs): TensorInfo {
  const out = wasmKernel(name)({ inputs, backend: backend as unknown as tf.KernelBackend, attrs });
  return Array.isArray(out) ? (out[0] as TensorInfo) : out;
}

function free(backend: WasmBackendLike, ...infos: TensorInfo[]): void {
  for (const t of infos) backend.disposeData(t.dataId);
}


/**
 * dW[i,j,ci,co] = Σ_{n,oh,ow} x[n, oh·sh + i·dh − top, ow·sw + j·dw − left, ci] · dy[n,oh,ow,co].
 *
 * As a convolution: X' = xᵀ [Cin,H,W,N] (zero-padded), F' = dyᵀ [Ho,Wo,N,Cout];
 * conv2d(X', F', strides = forward dilations, dilations = forward strides)
 * gives [Cin, ≥fh, ≥fw, Cout]; slice to [Cin,fh,fw,Cout] and transpose.
 * tfjs never has strides > 1 together with dilations > 1, and neither do we.
 */
export function conv2DBackpropFilterWasm(args: { inputs: Record<string, TensorInfo>; backend: unknown; attrs?: Attrs }): TensorInfo {
  const fast = conv2DBackpropFilterFast(args);
  if (fast) return fast;
  const backend = args.backend as WasmBackendLike;
  const attrs = (args.attrs ?? {}) as Attrs;
  const { x, dy } = args.inputs as { x: TensorInfo; dy: TensorInfo };
  const filterShape = attrs['filterShape'] as [number, number, number, number];
  const dataFormat = (attrs['dataFormat'] as 'NHWC' | 'NCHW' | undefined) ?? 'NHWC';
  const strides = pair(attrs['strides']);
  // TensorFlow's Conv2DBackpropFilter has a dilations attribute; tfjs's op does not pass one (= 1).
  const dilations = pair(attrs['dilations']);
  if (strides.some((s) => s > 1) && dilations.some((d) => d > 1)) {
    throw new Error('[rnode] wasm Conv2DBackpropFilter: strides > 1 together with dilations > 1 are not supported (nor by tfjs)');
  }
  const owned: TensorInfo[] = [];
  try {
    let xh = x;
    let dyh = dy;
    if (dataFormat === 'NCHW') {
      xh = run('Transpose', backend, { x }, { perm: [0, 2, 3, 1] });
      owned.push(xh);
      dyh = run('Transpose', backend, { x: dy }, { perm: [0, 2, 3, 1] });
      owned.push(dyh);
    }
    const info = backend_util.computeConv2DInfo(
      xh.shape as [number, number, number, number],
      filterShape,
      strides,
      dilations,
      attrs['pad'] as 'same' | 'valid' | number | backend_util.ExplicitPadding,
      attrs['dimRoundingMode'] as 'floor' | 'round' | 'ceil' | undefined,
      false,
      'channelsLast',
    );
    const [fh, fw, cin, cout] = filterShape;
    const [, H, W] = xh.shape as [number, number, number, number];
    const { outHeight: Ho, outWidth: Wo } = info;
    if (dyh.shape[1] !== Ho || dyh.shape[2] !== Wo) {
      throw new Error(
        `[rnode] wasm Conv2DBackpropFilter: dy has spatial shape ${dyh.shape.slice(1, 3)}, the convolution gives ${Ho},${Wo}`,
      );
    }
    const top = info.padInfo.top;
    const left = info.padInfo.left;
    // The padded input must reach the last tap of the last output: (fh−1)·dh + (Ho−1)·sh + 1 rows.
    const needH = (fh - 1) * dilations[0] + (Ho - 1) * strides[0] + 1;
    const needW = (fw - 1) * dilations[1] + (Wo - 1) * strides[1] + 1;
    const bottom = Math.max(0, needH - top - H);
    const right = Math.max(0, needW - left - W);

    const xT = run('Transpose', backend, { x: xh }, { perm: [3, 1, 2, 0] }); // [Cin,H,W,N]
    owned.push(xT);
    const dyT = run('Transpose', backend, { x: dyh }, { perm: [1, 2, 0, 3] }); // [Ho,Wo,N,Cout]
    owned.push(dyT);
    const conv = run(
      'Conv2D',
      backend,
      { x: xT, filter: dyT },
      {
        strides: dilations,
        dilations: strides,
        pad: [
          [0, 0],
          [top, bottom],
          [left, right],
          [0, 0],
        ],
        dataFormat: 'NHWC',
      },
    ); // [Cin, ≥fh, ≥fw, Cout]
    owned.push(conv);
    let cut = conv;
    if (conv.shape[1] !== fh || conv.shape[2] !== fw) {
      cut = run('Slice', backend, { x: conv }, { begin: [0, 0, 0, 0], size: [cin, fh, fw, cout] });
      owned.push(cut);
    }
    return run('Transpose', backend, { x: cut }, { perm: [1, 2, 0, 3] }); // [fh,fw,Cin,Cout]
  } finally {
    free(backend, ...owned);
  }
}

/**
 * The input gradient of a stride-1 convolution as a forward convolution, on the XNNPACK Conv2D:
 *
 *   dx[n,h,w,ci] = Σ_{i,j,co} dy[n, h + top − i, w + left − j, co] · W[i,j,ci,co]
 *                = conv2d(dy, W')[n,h,w,ci],  W'[i,j,co,ci] = W[fh−1−i, fw−1−j, ci, co]
 *
 * with padding (fh−1−top, fh−1−bottom) × (fw−1−left, fw−1−right): the spatially flipped
 * filter with its in/out channels swapped (Reverse + Transpose, both small). Returns null
 * (the caller runs tfjs's own kernel) for what this does not cover: NCHW (the wasm Conv2D
 * is NHWC only), strides or dilations other than 1, a padding wider than the filter
 * (negative padding here), non-float32 inputs.
 */
export function conv2DBackpropInputAsConv(args: { inputs: Record<string, TensorInfo>; backend: unknown; attrs?: Attrs }): TensorInfo | null {
  const backend = args.backend as WasmBackendLike;
  const attrs = (args.attrs ?? {}) as Attrs;
  const { dy, filter } = args.inputs as { dy: TensorInfo; filter: TensorInfo };
  const dataFormat = (attrs['dataFormat'] as 'NHWC' | 'NCHW' | undefined) ?? 'NHWC';
  const inputShape = attrs['inputShape'] as number[] | undefined;
  if (dataFormat !== 'NHWC' || !inputShape || inputShape.length !== 4) return null;
  if (pair(attrs['strides']).some((s) => s !== 1) || pair(attrs['dilations']).some((d) => d !== 1)) return null;
  if (dy.dtype !== 'float32' || filter.dtype !== 'float32' || dy.shape.length !== 4 || filter.shape.length !== 4) return null;
  const info = backend_util.computeConv2DInfo(
    inputShape as [number, number, number, number],
    filter.shape as [number, number, number, number],
    1,
    1,
    attrs['pad'] as 'same' | 'valid' | number | backend_util.ExplicitPadding,
    attrs['dimRoundingMode'] as 'floor' | 'round' | 'ceil' | undefined,
    false,
    'channelsLast',
  );
  const [fh, fw] = filter.shape as [number, number, number, number];
  const { top, bottom, left, right } = info.padInfo;
  const pads = [fh - 1 - top, fh - 1 - bottom, fw - 1 - left, fw - 1 - right];
  if (pads.some((p) => p < 0)) return null;
  const [B, Ho, Wo, Co] = dy.shape;
  if (B !== info.batchSize || Ho !== info.outHeight || Wo !== info.outWidth || Co !== info.outChannels) return null;
  const owned: TensorInfo[] = [];
  try {
    const flipped = run('Reverse', backend, { x: filter }, { dims: [0, 1] });
    owned.push(flipped);
    const prepared = run('Transpose', backend, { x: flipped }, { perm: [0, 1, 3, 2] }); // [fh,fw,Cout,Cin]
    owned.push(prepared);
    const dx = run(
      'Conv2D',
      backend,
      { x: dy, filter: prepared },
      {
        strides: [1, 1],
        dilations: [1, 1],
        pad: [
          [0, 0],
          [pads[0]!, pads[1]!],
          [pads[2]!, pads[3]!],
          [0, 0],
        ],
        dataFormat: 'NHWC',
      },
    );
    if (dx.shape.some((d, i) => d !== inputShape[i])) {
      free(backend, dx);
      throw new Error(`[rnode] wasm Conv2DBackpropInput: the convolution gives [${dx.shape}], expected [${inputShape}]`);
    }
    return dx;
  } finally {
    free(backend, ...owned);
  }
}

function depthwiseInfo(xShape: number[], filterShape: number[], attrs: Attrs): backend_util.Conv2DInfo {
  return backend_util.computeConv2DInfo(
    xShape as [number, number, number, number],
    filterShape as [number, number, number, number],
    pair(attrs['strides']),
    pair(attrs['dilations']),
    attrs['pad'] as 'same' | 'valid' | number | backend_util.ExplicitPadding,
    attrs['dimRoundingMode'] as 'floor' | 'round' | 'ceil' | undefined,
    true,
  );
}

function floats(backend: WasmBackendLike, t: TensorInfo, what: string): Float32Array {
  if (t.dtype !== 'float32') throw new Error(`[rnode] wasm ${what}: expected float32, got ${t.dtype}`);
  return backend.readSync(t.dataId) as Float32Array; // a copy of the heap bytes
}

/** dW[i,j,c,m] = Σ_{b,oh,ow} x[b, oh·sh + i·dh − top, ow·sw + j·dw − left, c] · dy[b,oh,ow,c·M+m]. */
export function depthwiseBackpropFilterWasm(args: { inputs: Record<string, TensorInfo>; backend: unknown; attrs?: Attrs }): TensorInfo {
  const backend = args.backend as WasmBackendLike;
  const attrs = (args.attrs ?? {}) as Attrs;
  const { x, dy } = args.inputs as { x: TensorInfo; dy: TensorInfo };
  const filterShape = attrs['filterShape'] as number[];
  const ci = depthwiseInfo(x.shape, filterShape, attrs);
  const { batchSize: B, inHeight: H, inWidth: W, inChannels: C, outHeight: Ho, outWidth: Wo, outChannels: CM } = ci;
  const { filterHeight: fh, filterWidth: fw, strideHeight: sh, strideWidth: sw, dilationHeight: dh, dilationWidth: dw } = ci;
  const M = CM / C;
  const top = ci.padInfo.top;
  const left = ci.padInfo.left;
  const xv = floats(backend, x, 'DepthwiseConv2dNativeBackpropFilter');
  const dyv = floats(backend, dy, 'DepthwiseConv2dNativeBackpropFilter');
  const acc = new Float64Array(fh * fw * CM); // [fh,fw,C,M] flat = [fh,fw,C·M]
  for (let b = 0; b < B; b++) {
    for (let oh = 0; oh < Ho; oh++) {
      for (let i = 0; i < fh; i++) {
        const h = oh * sh + i * dh - top;
        if (h < 0 || h >= H) continue;
        for (let ow = 0; ow < Wo; ow++) {
          const dyOff = ((b * Ho + oh) * Wo + ow) * CM;
          for (let j = 0; j < fw; j++) {
            const w = ow * sw + j * dw - left;
            if (w < 0 || w >= W) continue;
            const xOff = ((b * H + h) * W + w) * C;
            const accOff = (i * fw + j) * CM;
            for (let c = 0; c < C; c++) {
              const xval = xv[xOff + c] as number;
              const base = c * M;
              for (let m = 0; m < M; m++) acc[accOff + base + m]! += xval * (dyv[dyOff + base + m] as number);
            }
          }
        }
      }
    }
  }
  return backend.makeOutput(filterShape, 'float32', undefined, Float32Array.from(acc));
}

/** dx[b,h,w,c] = Σ over taps (oh·sh + i·dh − top = h, …) of dy[b,oh,ow,c·M+m] · f[i,j,c,m]. */
export function depthwiseBackpropInputWasm(args: { inputs: Record<string, TensorInfo>; backend: unknown; attrs?: Attrs }): TensorInfo {
  const backend = args.backend as WasmBackendLike;
  const attrs = (args.attrs ?? {}) as Attrs;
  const { dy, filter } = args.inputs as { dy: TensorInfo; filter: TensorInfo };
  const inputShape = attrs['inputShape'] as number[];
  const ci = depthwiseInfo(inputShape, filter.shape, attrs);
  const { batchSize: B, inHeight: H, inWidth: W, inChannels: C, outHeight: Ho, outWidth: Wo, outChannels: CM } = ci;
  const { filterHeight: fh, filterWidth: fw, strideHeight: sh, strideWidth: sw, dilationHeight: dh, dilationWidth: dw } = ci;
  const M = CM / C;
  const top = ci.padInfo.top;
  const left = ci.padInfo.left;
  const dyv = floats(backend, dy, 'DepthwiseConv2dNativeBackpropInput');
  const fv = floats(backend, filter, 'DepthwiseConv2dNativeBackpropInput');
  const acc = new Float64Array(B * H * W * C);
  for (let b = 0; b < B; b++) {
    for (let oh = 0; oh < Ho; oh++) {
      for (let i = 0; i < fh; i++) {
        const h = oh * sh + i * dh - top;
        if (h < 0 || h >= H) continue;
        for (let ow = 0; ow < Wo; ow++) {
          const dyOff = ((b * Ho + oh) * Wo + ow) * CM;
          for (let j = 0; j < fw; j++) {
            const w = ow * sw + j * dw - left;
            if (w < 0 || w >= W) continue;
            const dxOff = ((b * H + h) * W + w) * C;
            const fOff = (i * fw + j) * CM;
            for (let c = 0; c < C; c++) {
              const base = c * M;
              let s = 0;
              for (let m = 0; m < M; m++) s += (dyv[dyOff + base + m] as number) * (fv[fOff + base + m] as number);
              acc[dxOff + c]! += s;
            }
          }
        }
      }
    }
  }
  return backend.makeOutput(inputShape, 'float32', undefined, Float32Array.from(acc));
}

/** The kernels rnode adds to the wasm backend (only where tfjs has none). */
export const wasmTrainingKernels: KernelSet = {
  source: 'backend:wasm',
  backends: [BACKEND],
  kernels: () => [
    { kernelName: tf.Conv2DBackpropFilter, kernelFunc: conv2DBackpropFilterWasm as unknown as KernelFunc },
    { kernelName: tf.DepthwiseConv2dNativeBackpropFilter, kernelFunc: depthwiseBackpropFilterWasm as unknown as KernelFunc },
    { kernelName: tf.DepthwiseConv2dNativeBackpropInput, kernelFunc: depthwiseBackpropInputWasm as unknown as KernelFunc },
  ],
};

/**
 * Register rnode's wasm training kernels. Idempotent. The kernels of
 * `wasmTrainingKernels` are added only where `wasm` has none (tfjs's or the
 * user's wins); `BatchMatMul`, `Conv2DBackpropInput`, `Identity` and `Cast` are
 * wrapped on purpose (the wrapper runs the fast path and falls back to the kernel
 * it replaced). Returns what it added or wrapped.
 */
export function registerWasmKernels(): string[] {
  const added = registerKernels(wasmTrainingKernels, BACKEND);
  if (wrapBatchMatMul()) added.push('BatchMatMul (transposes made explicit)');
  if (wrapConv2DBackpropInput()) added.push('Conv2DBackpropInput (stride 1: rnode\'s wasm-SIMD kernel, else as an XNNPACK Conv2D)');
  if (wrapKernel(tf.Conv2D, BACKEND, WRAPPED_CONV2D, (inner) => (args) => conv2DWasm(args as Parameters<typeof conv2DWasm>[0]) ?? inner(args))) {
    added.push('Conv2D (stride 1, NHWC: rnode\'s wasm-SIMD implicit GEMM)');
  }
  if (wrapKernel(tf.Softplus, BACKEND, WRAPPED_SOFTPLUS, (inner) => (args) => softplusWasm(args as Parameters<typeof softplusWasm>[0]) ?? inner(args))) {
    added.push('Softplus (vectorised)');
  }
  void precompileConvNetKernels();
  added.push(...wrapIdentityAndCast());
  (globalThis as Record<symbol, unknown>)[WASM_KERNELS_APPLIED] = true;
  return added;
}

/** Marker of the sharing Identity / Cast wrappers; its value is the kernel function wrapped (`wrapKernel`). */
export const WRAPPED_SHARE = Symbol.for('rnode.wasm.shareData');

/** A new reference to x's data (the cpu backend's Identity): no copy; the backend frees it at the last reference. */
function shareData(backend: tf.KernelBackend, x: TensorInfo, dtype: tf.DataType = x.dtype): TensorInfo {
  backend.incRef(x.dataId);
  return { dataId: x.dataId, shape: x.shape.slice(), dtype };
}

/**
 * Identity → shared data (not for strings, which wasm keeps on the JS side);
 * Cast to the same numeric dtype → shared data; every other Cast → tfjs's kernel.
 * Idempotent; keeps the originals' setup/dispose hooks.
 */
function wrapIdentityAndCast(): string[] {
  const added: string[] = [];
  const wrap = (name: string, share: (args: Parameters<KernelFunc>[0]) => boolean) => {
    const wrapped = wrapKernel(name, BACKEND, WRAPPED_SHARE, (inner) => (args) =>
      share(args) ? shareData(args.backend as tf.KernelBackend, args.inputs['x'] as TensorInfo) : inner(args),
    );
    if (wrapped) added.push(`${name} (shares data instead of copying)`);
  };
  const numeric = (x: TensorInfo | undefined): x is TensorInfo => x != null && x.dtype !== 'string';
  wrap(tf.Identity, ({ inputs }) => numeric(inputs['x'] as TensorInfo | undefined));
  wrap(tf.Cast, ({ inputs, attrs }) => {
    const x = inputs['x'] as TensorInfo | undefined;
    return numeric(x) && (attrs as { dtype?: string } | undefined)?.dtype === x.dtype;
  });
  return added;
}

/** Markers of the wrapped Conv2D and Softplus (rnode's conv-net kernels, `wasm-conv.ts`). */
export const WRAPPED_CONV2D = Symbol.for('rnode.wasm.conv2D.convNetKernel');
export const WRAPPED_SOFTPLUS = Symbol.for('rnode.wasm.softplus.convNetKernel');

/** The marker on rnode's wrapped kernels (`Symbol.for`: one per process, whichever copy of rnode set it). */
export const WRAPPED_CONV2D_BACKPROP_INPUT = Symbol.for('rnode.wasm.conv2DBackpropInput.asConv2D');

/**
 * Replace tfjs-backend-wasm's Conv2DBackpropInput (a naive C++ loop in 4.22) by
 * `conv2DBackpropInputAsConv` where it applies (stride 1, NHWC: every conv in
 * rnode's models), keeping the original kernel for the rest and its setup/dispose
 * hooks. This is an explicit override of a kernel tfjs has, unlike the kernels of
 * `wasmTrainingKernels`, which are added only where tfjs has none. Idempotent;
 * does nothing without a Conv2DBackpropInput or Conv2D for wasm.
 */
function wrapConv2DBackpropInput(): boolean {
  if (!getKernel(tf.Conv2D, BACKEND) || !getKernel(tf.Reverse, BACKEND) || !getKernel(tf.Transpose, BACKEND)) return false;
  return wrapKernel(tf.Conv2DBackpropInput, BACKEND, WRAPPED_CONV2D_BACKPROP_INPUT, (inner) => (args) =>
    conv2DBackpropInputWasm(args as Parameters<typeof conv2DBackpropInputWasm>[0]) ??
    conv2DBackpropInputAsConv(args as Parameters<typeof conv2DBackpropInputAsConv>[0]) ??
    inner(args),
  );
}

const WRAPPED = Symbol.for('rnode.wasm.batchMatMul.explicitTranspose');

/**
 * tfjs-backend-wasm's BatchMatMul has an XNNPACK path only without transpose
 * flags; with `transposeA`/`transposeB` it falls back to a loop about 12x
 * slower, and tfjs's own matMul gradient always sets a flag. Wrap the kernel:
 * transpose the flagged operand with the (fast) Transpose kernel, then multiply
 * without flags. Idempotent; keeps the original setup/dispose hooks.
 */
function wrapBatchMatMul(): boolean {
  return wrapKernel('BatchMatMul', BACKEND, WRAPPED, (inner) => {
    const transposeKernel = wasmKernel('Transpose');
    const kernelFunc: KernelFunc = ({ inputs, backend, attrs }) => {
      const { transposeA, transposeB } = attrs as { transposeA?: boolean; transposeB?: boolean };
      if (!transposeA && !transposeB) return inner({ inputs, backend, attrs: attrs ?? {} });
      const wasm = backend as unknown as WasmBackendLike;
      const temps: TensorInfo[] = [];
      const swapLast = (x: TensorInfo): TensorInfo => {
        const r = x.shape.length;
        const perm = Array.from({ length: r }, (_, i) => i);
        perm[r - 2] = r - 1;
        perm[r - 1] = r - 2;
        const out = transposeKernel({ inputs: { x }, backend, attrs: { perm } });
        const y = Array.isArray(out) ? (out[0] as TensorInfo) : out;
        temps.push(y);
        return y;
      };
      try {
        const a = transposeA ? swapLast(inputs.a as TensorInfo) : (inputs.a as TensorInfo);
        const b = transposeB ? swapLast(inputs.b as TensorInfo) : (inputs.b as TensorInfo);
        return inner({ inputs: { a, b }, backend, attrs: { ...attrs, transposeA: false, transposeB: false } });
      } finally {
        free(wasm, ...temps);
      }
    };
    (kernelFunc as unknown as Record<symbol, unknown>)[WRAPPED] = true;
    return kernelFunc;
  });
}
