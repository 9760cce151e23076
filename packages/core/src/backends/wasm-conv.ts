import { backend_util } from '@tensorflow/tfjs-core';
import type { DataType, NamedAttrMap, TensorInfo } from '@tensorflow/tfjs-core';
import { wasmKernelModule, type WasmVariant } from '../kernels/wasm-module.js';
import { CONV_NET_WASM_RELAXED, CONV_NET_WASM_SIMD } from './conv-net-wasm.generated.js';

/**
 * rnode's own wasm-SIMD kernels for the conv ODE nets (assembly/conv-net.ts): stride-1 NHWC
 * convolutions — 3×3 by Winograd F(2×2, 3×3), inputs with fewer than 4 channels unfolded into a
 * 1×1 convolution, the rest direct — around a register-blocked GEMM micro-kernel with fused
 * multiply-add where the engine has relaxed SIMD; the input gradient as a convolution of dy with
 * the flipped, transposed filter; the filter gradient the same way (tfjs-backend-wasm has none;
 * the composite of transposes and an XNNPACK conv it replaces ran at a third of the forward's
 * speed); and a vectorised softplus (tfjs-backend-wasm's is a scalar loop). The kernels run in
 * their own wasm instance, one per thread: each kernel call copies a few images into it (one, or
 * enough small ones for ≥ 256 Winograd tiles; zero-padded spatially and to whole f32x4 channel
 * blocks) and the result out into the tfjs heap, so the instance's memory stays the size of a
 * few images whatever the batch.
 *
 * Each function returns null where it does not apply (other strides, dilations or layouts,
 * non-float32, no WebAssembly SIMD, a module that could not be compiled synchronously yet);
 * the caller then runs the kernel it wraps.
 */

/** The slice of tfjs-backend-wasm's BackendWasm used here. */
interface WasmHeapBackend {
  makeOutput(shape: number[], dtype: DataType, memoryOffset?: number, values?: backend_util.BackendValues): TensorInfo;
  typedArrayFromHeap(t: TensorInfo): backend_util.TypedArray;
}

interface Exports {
  memory: WebAssembly.Memory;
  heapBase(): number;
  ensureMemory(bytes: number): number;
  conv(x: number, w: number, y: number, Hp: number, Wp: number, ci4: number, fh: number, fw: number, co8: number): void;
  convFilterGrad(x: number, dy: number, dw: number, Hp: number, Wp: number, ci4: number, fh: number, fw: number, co8: number, band: number): void;
  softplus(x: number, y: number, n: number): void;
  winogradFilterGradOutput(w: number, dw: number, ci4: number, co8: number): void;
  winogradFilter(w: number, u: number, ci4: number, co8: number): void;
  convWinograd(x: number, u: number, v: number, m: number, y: number, tH: number, tW: number, ci4: number, co8: number, Ho: number, Wo: number, images: number): void;
  convFilterGradWinograd(x: number, dy: number, v: number, m: number, w: number, tH: number, tW: number, ci4: number, co8: number, Ho: number, Wo: number, images: number): void;
}

type Attrs = NamedAttrMap & Record<string, unknown>;

const loader = wasmKernelModule('kernel:conv-net', { simd: CONV_NET_WASM_SIMD, relaxed: CONV_NET_WASM_RELAXED });

let live: { x: Exports; variant: WasmVariant } | undefined;
let syncCompileFailed = false;
let forced: WasmVariant | undefined;

/** Tests (both variants in one process): run `variant` from the next call on; 'auto' picks again. */
export function setConvNetKernelVariant(variant: 'auto' | WasmVariant): void {
  forced = variant === 'auto' ? undefined : loader.resolve(variant);
  live = undefined;
  syncCompileFailed = false;
}

/** Starts compiling the kernels asynchronously (browsers' main threads refuse synchronous compilation of larger modules). */
export function precompileConvNetKernels(): Promise<unknown> {
  if (!loader.available('simd')) return Promise.resolve();
  return loader.compile(loader.resolve('auto')).catch(() => undefined);
}

/** Whether the engine runs a variant of the conv-net kernels. */
export const convNetVariantAvailable = (variant: WasmVariant): boolean => loader.available(variant);

/** The variant the conv kernels run ('relaxed' = with FMA), or null when they do not run here. */
export function convNetKernelVariant(): WasmVariant | null {
  return instance() ? live!.variant : null;
}

function instance(): Exports | null {
  if (live) return live.x;
  if (!loader.available('simd')) return null;
  const variant = forced ?? loader.resolve('auto');
  if (!loader.available(variant)) return null;
  let module = loader.compiled(variant);
  if (!module) {
    if (syncCompileFailed) return null;
    try {
      module = loader.module(variant);
    } catch {
      syncCompileFailed = true; // retried when `precompileConvNetKernels` has finished
      return null;
    }
  }
  live = { x: new WebAssembly.Instance(module, {}).exports as unknown as Exports, variant };
  return live.x;
}

const ceil = (n: number, m: number) => Math.ceil(n / m) * m;
const align = (bytes: number) => ceil(bytes, 64);

/** A conv attribute (strides, dilations) as [h, w]: tfjs gives a number, a pair, or nothing (the fallback). */
export function pair(v: unknown, fallback = 1): [number, number] {
  if (v == null) return [fallback, fallback];
  if (typeof v === 'number') return [v, v];
  const a = v as number[];
  return [a[0] ?? fallback, a[1] ?? fallback];
}

/**
 * One stride-1 convolution as the kernels run it: `B` source images [H, W, C] placed at
 * (top, left) in a zero frame [Hp, Wp] (negative offsets clip), fh × fw taps, Ho × Wo outputs of
 * `O` channels. The forward convolution, the input gradient (dy as the source, the filter
 * flipped and transposed) and the filter gradient all reduce to it.
 */
interface Frame {
  B: number;
  H: number;
  W: number;
  C: number;
  top: number;
  left: number;
  Hp: number;
  Wp: number;
  fh: number;
  fw: number;
  Ho: number;
  Wo: number;
  O: number;
}

/** How a frame is laid out for the kernels. */
interface Layout {
  /** Inputs with fewer than 4 channels are unfolded (im2col) into rows of K = fh·fw·C taps: a 1×1 convolution. */
  unfold: boolean;
  /** Channels per pixel of the kernel's input (ceil4 of C, or of K when unfolded). */
  ci4: number;
  /** Output lanes per pixel: ceil8(O). */
  co: number;
  /** Frame the kernel sees: Hp × Wp with kh × kw taps. */
  Hp: number;
  Wp: number;
  kh: number;
  kw: number;
}

function layout(f: Frame): Layout {
  const unfold = f.C < 4 && f.fh * f.fw > 1;
  const co = ceil(f.O, 8);
  return unfold
    ? { unfold, ci4: ceil(f.fh * f.fw * f.C, 4), co, Hp: f.Ho, Wp: f.Wo, kh: 1, kw: 1 }
    : { unfold, ci4: ceil(f.C, 4), co, Hp: f.Hp, Wp: f.Wp, kh: f.fh, kw: f.fw };
}

/** Stride 1, dilation 1, NHWC, float32: what the kernels cover. */
function convInfo(xShape: number[], filterShape: number[], attrs: Attrs, dtypes: DataType[]): backend_util.Conv2DInfo | null {
  if (dtypes.some((d) => d !== 'float32') || xShape.length !== 4 || filterShape.length !== 4) return null;
  if (((attrs['dataFormat'] as string | undefined) ?? 'NHWC') !== 'NHWC') return null;
  if (pair(attrs['strides']).some((s) => s !== 1) || pair(attrs['dilations']).some((d) => d !== 1)) return null;
  const info = backend_util.computeConv2DInfo(
    xShape as [number, number, number, number],
    filterShape as [number, number, number, number],
    1,
    1,
    attrs['pad'] as 'same' | 'valid' | number | backend_util.ExplicitPadding,
    attrs['dimRoundingMode'] as 'floor' | 'round' | 'ceil' | undefined,
    false,
    'channelsLast',
  );
  const { top, left, bottom, right } = info.padInfo;
  if ([top, left, bottom, right].some((p) => p < 0) || info.outHeight < 1 || info.outWidth < 1 || info.batchSize < 1) return null;
  return info;
}

/** The forward convolution's frame: x is the source. */
function forwardFrame(info: backend_util.Conv2DInfo): Frame {
  const { batchSize: B, inHeight: H, inWidth: W, inChannels: C, filterHeight: fh, filterWidth: fw, outHeight: Ho, outWidth: Wo, outChannels: O } = info;
  return { B, H, W, C, top: info.padInfo.top, left: info.padInfo.left, Hp: Ho + fh - 1, Wp: Wo + fw - 1, fh, fw, Ho, Wo, O };
}

/**
 * The input gradient's frame: dy [B, Ho, Wo, cOut] is the source, placed at (fh − 1 − top,
 * fw − 1 − left); the outputs are x's H × W × cIn.
 */
function inputGradFrame(info: backend_util.Conv2DInfo): Frame | null {
  const { batchSize: B, inHeight: H, inWidth: W, inChannels: Ci, filterHeight: fh, filterWidth: fw, outHeight: Ho, outWidth: Wo, outChannels: Co } = info;
  const { top, left, bottom, right } = info.padInfo;
  if (top > fh - 1 || left > fw - 1 || bottom > fh - 1 || right > fw - 1) return null;
  return { B, H: Ho, W: Wo, C: Co, top: fh - 1 - top, left: fw - 1 - left, Hp: H + fh - 1, Wp: W + fw - 1, fh, fw, Ho: H, Wo: W, O: Ci };
}

/** Writes image n of src [B, H, W, C] into dst [Hp, Wp, stride] at (top, left), zero elsewhere. */
function placeImage(src: Float32Array, n: number, f: Frame, dst: Float32Array, stride: number): void {
  dst.fill(0, 0, f.Hp * f.Wp * stride);
  const { H, W, C, Hp, Wp, top, left } = f;
  const w0 = Math.max(0, -left);
  const w1 = Math.min(W, Wp - left);
  if (w1 <= w0) return;
  for (let h = 0; h < H; h++) {
    const hp = h + top;
    if (hp < 0 || hp >= Hp) continue;
    const s = ((n * H + h) * W + w0) * C;
    const d = (hp * Wp + w0 + left) * stride;
    if (C === stride) dst.set(src.subarray(s, s + (w1 - w0) * C), d);
    else for (let w = 0; w < w1 - w0; w++) for (let c = 0; c < C; c++) dst[d + w * stride + c] = src[s + w * C + c]!;
  }
}

/** Unfolds a placed image [Hp, Wp, C] into rows [Ho·Wo, ci4] of (tap, channel) values, zero-padded. */
function unfoldImage(placed: Float32Array, f: Frame, dst: Float32Array, ci4: number): void {
  const { C, Wp, fh, fw, Ho, Wo } = f;
  const K = fh * fw * C;
  if (K < ci4) dst.fill(0, 0, Ho * Wo * ci4);
  let p = 0;
  for (let oh = 0; oh < Ho; oh++) {
    for (let ow = 0; ow < Wo; ow++, p++) {
      let d = p * ci4;
      for (let i = 0; i < fh; i++) {
        for (let j = 0; j < fw; j++) {
          const s = ((oh + i) * Wp + ow + j) * C;
          for (let c = 0; c < C; c++) dst[d++] = placed[s + c]!;
        }
      }
    }
  }
}

/** The kernel's input for image n: placed (and unfolded) into `xk`; `scratch` holds the placed image when unfolding. */
function stageImage(src: Float32Array, n: number, f: Frame, l: Layout, xk: Float32Array, scratch: Float32Array | null): void {
  if (!l.unfold) placeImage(src, n, f, xk, l.ci4);
  else {
    placeImage(src, n, f, scratch!, f.C);
    unfoldImage(scratch!, f, xk, l.ci4);
  }
}

/**
 * Packs the filter for the kernel: w(i, j, c, o) (source channel c, output channel o) into
 * [kh, kw, ci4, co] or, unfolded, [ci4 rows of (i, j, c), co], zero-padded.
 */
function packFilter(fs: Float32Array, f: Frame, l: Layout, dst: Float32Array, flipTranspose: boolean): void {
  const { C, O, fh, fw } = f;
  dst.fill(0, 0, l.kh * l.kw * l.ci4 * l.co);
  const stride = l.unfold ? C : l.ci4;
  for (let i = 0; i < fh; i++) {
    for (let j = 0; j < fw; j++) {
      const tap = i * fw + j;
      for (let c = 0; c < C; c++) {
        const d = (tap * stride + c) * l.co;
        if (!flipTranspose) {
          // filter [fh, fw, C, O]
          const s = (tap * C + c) * O;
          dst.set(fs.subarray(s, s + O), d);
        } else {
          // filter [fh, fw, O, C], read at the flipped tap: w(i, j, c, o) = W[fh−1−i, fw−1−j, o, c]
          const base = ((fh - 1 - i) * fw + (fw - 1 - j)) * O * C + c;
          for (let o = 0; o < O; o++) dst[d + o] = fs[base + o * C]!;
        }
      }
    }
  }
}

/** Copies rows of width `from` (a [rows, from] block) into rows of width `to`, zero-filling the rest. */
function widen(src: Float32Array, srcOff: number, rows: number, from: number, dst: Float32Array, to: number): void {
  if (from === to) {
    dst.set(src.subarray(srcOff, srcOff + rows * from));
    return;
  }
  dst.fill(0, 0, rows * to);
  for (let r = 0; r < rows; r++) for (let c = 0; c < from; c++) dst[r * to + c] = src[srcOff + r * from + c]!;
}

/** The inverse of `widen`: rows of width `from` into rows of width `to` ≤ from, at dst[dstOff…]. */
function narrow(src: Float32Array, rows: number, from: number, dst: Float32Array, dstOff: number, to: number): void {
  if (from === to) {
    dst.set(src.subarray(0, rows * to), dstOff);
    return;
  }
  for (let r = 0; r < rows; r++) for (let c = 0; c < to; c++) dst[dstOff + r * to + c] = src[r * from + c]!;
}

function f32(k: Exports, offset: number, length: number): Float32Array {
  return new Float32Array(k.memory.buffer, offset, length);
}

/** Memory of one call: the kernel input, the filter, the output (or dy), and the placed image when unfolding. */
function reserve(k: Exports, sizes: number[]): number[] | null {
  const offs: number[] = [];
  let at = align(k.heapBase());
  for (const n of sizes) {
    offs.push(at);
    at = align(at + 4 * n);
  }
  return k.ensureMemory(at) ? offs : null;
}


/** How a frame's images go through the kernels: Winograd (3×3, not unfolded) or not, and how many per call. */
interface Plan {
  wino: boolean;
  /** 2×2 output tiles per image (Winograd): tH × tW = T. */
  tH: number;
  tW: number;
  T: number;
  /** Images per kernel call: enough tiles (≥ 256) for tall GEMMs on small planes (7×7: 16 tiles per image); 1 without Winograd. */
  G: number;
  /** The frame the images are placed in: Winograd grows it to whole tiles (the extra rows and columns only reach outputs that are dropped). */
  frame: Frame;
  /** Floats of one placed image. */
  xOne: number;
}

function plan(f: Frame, l: Layout): Plan {
  const wino = !l.unfold && f.fh === 3 && f.fw === 3;
  const tH = Math.ceil(f.Ho / 2);
  const tW = Math.ceil(f.Wo / 2);
  const T = tH * tW;
  const G = wino ? Math.max(1, Math.min(f.B, Math.ceil(256 / T))) : 1;
  const frame: Frame = wino ? { ...f, Hp: 2 * tH + 2, Wp: 2 * tW + 2 } : f;
  return { wino, tH, tW, T, G, frame, xOne: wino ? frame.Hp * frame.Wp * l.ci4 : l.Hp * l.Wp * l.ci4 };
}

/** Runs the convolution of frame f over every image: out [B, Ho, Wo, O]. */
function convolve(backend: WasmHeapBackend, src: TensorInfo, filter: TensorInfo, f: Frame, flipTranspose: boolean): TensorInfo | null {
  const k = instance();
  if (!k) return null;
  const l = layout(f);
  const { wino, tH, tW, T, G, frame, xOne } = plan(f, l);
  const wLen = l.kh * l.kw * l.ci4 * l.co;
  const yOne = f.Ho * f.Wo * l.co;
  const offs = reserve(k, [G * xOne, wLen, G * yOne, l.unfold ? f.Hp * f.Wp * f.C : 0, wino ? 16 * l.ci4 * l.co : 0, wino ? 16 * G * T * l.ci4 : 0, wino ? 16 * G * T * l.co : 0]);
  if (!offs) return null;
  const [xOff, wOff, yOff, sOff, uOff, vOff, mOff] = offs as [number, number, number, number, number, number, number];
  const out = backend.makeOutput([f.B, f.Ho, f.Wo, f.O], 'float32');
  // views after makeOutput (it may grow the tfjs heap)
  const xs = backend.typedArrayFromHeap(src) as Float32Array;
  const ys = backend.typedArrayFromHeap(out) as Float32Array;
  const scratch = l.unfold ? f32(k, sOff, f.Hp * f.Wp * f.C) : null;
  const wk = f32(k, wOff, wLen);
  packFilter(backend.typedArrayFromHeap(filter) as Float32Array, f, l, wk, flipTranspose);
  if (wino) k.winogradFilter(wOff, uOff, l.ci4, l.co);
  for (let n0 = 0; n0 < f.B; n0 += G) {
    const g = Math.min(G, f.B - n0);
    if (wino) {
      for (let i = 0; i < g; i++) placeImage(xs, n0 + i, frame, f32(k, xOff + 4 * i * xOne, xOne), l.ci4);
      k.convWinograd(xOff, uOff, vOff, mOff, yOff, tH, tW, l.ci4, l.co, f.Ho, f.Wo, g);
    } else {
      stageImage(xs, n0, f, l, f32(k, xOff, xOne), scratch);
      k.conv(xOff, wOff, yOff, l.Hp, l.Wp, l.ci4, l.kh, l.kw, l.co);
    }
    narrow(f32(k, yOff, g * yOne), g * f.Ho * f.Wo, l.co, ys, n0 * f.Ho * f.Wo * f.O, f.O);
  }
  return out;
}

/** y = conv2d(x, filter) (Conv2D's inputs and attrs), or null where the kernel does not apply. */
export function conv2DWasm(args: { inputs: Record<string, TensorInfo>; backend: unknown; attrs?: Attrs }): TensorInfo | null {
  const { x, filter } = args.inputs as { x: TensorInfo; filter: TensorInfo };
  const info = convInfo(x.shape, filter.shape, args.attrs ?? {}, [x.dtype, filter.dtype]);
  if (!info || filter.shape[2] !== x.shape[3]) return null;
  return convolve(args.backend as WasmHeapBackend, x, filter, forwardFrame(info), false);
}

/** dx = Conv2DBackpropInput(dy, filter) (its inputs and attrs), or null where the kernel does not apply. */
export function conv2DBackpropInputWasm(args: { inputs: Record<string, TensorInfo>; backend: unknown; attrs?: Attrs }): TensorInfo | null {
  const { dy, filter } = args.inputs as { dy: TensorInfo; filter: TensorInfo };
  const inputShape = (args.attrs ?? {})['inputShape'] as number[] | undefined;
  if (!inputShape) return null;
  const info = convInfo(inputShape, filter.shape, args.attrs ?? {}, [dy.dtype, filter.dtype]);
  if (!info || dy.shape.length !== 4) return null;
  if (dy.shape[0] !== info.batchSize || dy.shape[1] !== info.outHeight || dy.shape[2] !== info.outWidth || dy.shape[3] !== info.outChannels) return null;
  const f = inputGradFrame(info);
  return f ? convolve(args.backend as WasmHeapBackend, dy, filter, f, true) : null;
}

/** Rows of output pixels per band of the filter gradient: the band of x and dy near 128 KiB (L2). */
function bandRows(l: Layout, Wo: number, Ho: number): number {
  const perRow = 4 * (l.Wp * l.ci4 + Wo * l.co);
  return Math.max(1, Math.min(Ho, Math.floor((128 * 1024) / perRow)));
}

/** dW (Conv2DBackpropFilter's inputs and attrs), or null where the kernel does not apply. */
export function conv2DBackpropFilterFast(args: { inputs: Record<string, TensorInfo>; backend: unknown; attrs?: Attrs }): TensorInfo | null {
  const { x, dy } = args.inputs as { x: TensorInfo; dy: TensorInfo };
  const attrs = args.attrs ?? {};
  const filterShape = attrs['filterShape'] as number[] | undefined;
  if (!filterShape) return null;
  const info = convInfo(x.shape, filterShape, attrs, [x.dtype, dy.dtype]);
  if (!info || filterShape[2] !== x.shape[3] || dy.shape.length !== 4) return null;
  if (dy.shape[0] !== info.batchSize || dy.shape[1] !== info.outHeight || dy.shape[2] !== info.outWidth || dy.shape[3] !== info.outChannels) return null;
  const k = instance();
  if (!k) return null;
  const f = forwardFrame(info);
  const l = layout(f);
  const { wino, tH, tW, T, G, frame, xOne } = plan(f, l);
  const dyOne = f.Ho * f.Wo * l.co;
  const wLen = (wino ? 16 : l.kh * l.kw) * l.ci4 * l.co;
  const offs = reserve(k, [G * xOne, G * dyOne, wLen, l.unfold ? f.Hp * f.Wp * f.C : 0, wino ? 16 * G * T * l.ci4 : 0, wino ? 16 * G * T * l.co : 0, wino ? 9 * l.ci4 * l.co : 0]);
  if (!offs) return null;
  const [xOff, dyOff, wOff, sOff, vOff, mOff, dOff] = offs as [number, number, number, number, number, number, number];
  const backend = args.backend as WasmHeapBackend;
  const out = backend.makeOutput(filterShape, 'float32');
  const xs = backend.typedArrayFromHeap(x) as Float32Array;
  const dys = backend.typedArrayFromHeap(dy) as Float32Array;
  const ws = backend.typedArrayFromHeap(out) as Float32Array;
  const wk = f32(k, wOff, wLen);
  const scratch = l.unfold ? f32(k, sOff, f.Hp * f.Wp * f.C) : null;
  wk.fill(0);
  const band = bandRows(l, f.Wo, f.Ho);
  for (let n0 = 0; n0 < f.B; n0 += G) {
    const g = Math.min(G, f.B - n0);
    widen(dys, n0 * f.Ho * f.Wo * f.O, g * f.Ho * f.Wo, f.O, f32(k, dyOff, g * dyOne), l.co);
    if (wino) {
      for (let i = 0; i < g; i++) placeImage(xs, n0 + i, frame, f32(k, xOff + 4 * i * xOne, xOne), l.ci4);
      k.convFilterGradWinograd(xOff, dyOff, vOff, mOff, wOff, tH, tW, l.ci4, l.co, f.Ho, f.Wo, g);
    } else {
      stageImage(xs, n0, f, l, f32(k, xOff, xOne), scratch);
      k.convFilterGrad(xOff, dyOff, wOff, l.Hp, l.Wp, l.ci4, l.kh, l.kw, l.co, band);
    }
  }
  let res = wk;
  if (wino) {
    // the 16 planes → [3, 3, ci4, co]
    k.winogradFilterGradOutput(wOff, dOff, l.ci4, l.co);
    res = f32(k, dOff, 9 * l.ci4 * l.co);
  }
  // [kh, kw, ci4, co] (or unfolded rows (i, j, c)) → [fh, fw, C, O]
  const stride = l.unfold ? f.C : l.ci4;
  for (let tap = 0; tap < f.fh * f.fw; tap++) {
    for (let c = 0; c < f.C; c++) {
      const s = (tap * stride + c) * l.co;
      ws.set(res.subarray(s, s + f.O), (tap * f.C + c) * f.O);
    }
  }
  return out;
}


const SOFTPLUS_CHUNK = 1 << 14;

/** softplus(x) for float32 x, or null where the kernel does not run. */
export function softplusWasm(args: { inputs: Record<string, TensorInfo>; backend: unknown }): TensorInfo | null {
  const { x } = args.inputs as { x: TensorInfo };
  if (x.dtype !== 'float32') return null;
  const k = instance();
  if (!k) return null;
  const off = align(k.heapBase());
  if (!k.ensureMemory(off + 4 * SOFTPLUS_CHUNK)) return null;
  const backend = args.backend as WasmHeapBackend;
  const out = backend.makeOutput(x.shape.slice(), 'float32');
  const xs = backend.typedArrayFromHeap(x) as Float32Array;
  const ys = backend.typedArrayFromHeap(out) as Float32Array;
  const buf = f32(k, off, SOFTPLUS_CHUNK);
  for (let i = 0; i < xs.length; i += SOFTPLUS_CHUNK) {
    const m = Math.min(SOFTPLUS_CHUNK, xs.length - i);
    buf.set(xs.subarray(i, i + m));
    k.softplus(off, off, ceil(m, 4));
    ys.set(buf.subarray(0, m), i);
  }
  return out;
}
