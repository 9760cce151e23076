// A fused wasm-SIMD kernel for the CNF ODE net (time-dependent affine layers, tanh) and the exact
// VJP of its outputs, for one wasm thread. Source: assembly/cnf-mlp.ts (AssemblyScript), compiled
// by scripts/build-kernels.mjs into two variants: `simd` (f32x4 mul + add) and `relaxed`
// (f32x4.relaxed_madd, fused multiply-add where the CPU has it). Browser-safe: no Node built-ins.
//
// Per sample, with z, e ∈ R^D and layers y = x·W_l(t) + c_l(t) (tanh after all but the last):
//   f = net(t, z), g = eᵀ ∂f/∂z, div = g·e, kin = |f|², frob = |g|²
// and `backward` returns dz and dθ of ℓ = Σ_batch (cf·f + cg·g + cdiv·div + ckin·kin + cfrob·frob).
import * as z from 'zod/mini';
import { RnodeError, describe, numberOption, parseOptions } from '@rnode/core';
import { wasmKernelModule } from '@rnode/core/kernels';
import { CNF_MLP_WASM_RELAXED, CNF_MLP_WASM_SIMD } from './cnf-mlp-wasm.generated.js';

const SOURCE = 'kernel:cnf-mlp';

export type CnfMlpKind = 'concatsquash' | 'concat' | 'ignore';
export type CnfMlpVariant = 'simd' | 'relaxed';

const KINDS = ['concatsquash', 'concat', 'ignore'] as const satisfies readonly CnfMlpKind[];
const MAX_LAYERS = 63;
const isWidth = (d: unknown): boolean => typeof d === 'number' && Number.isInteger(d) && d >= 1 && d <= 1 << 16;

export const cnfMlpKernelConfigSchema = z.object({
  /** Layer widths d_0 = D → d_1 → … → d_L = D (L ≥ 1 layers). */
  dims: z.custom<readonly number[]>((v) => Array.isArray(v) && v.length >= 2 && v.length <= MAX_LAYERS + 1 && v.every(isWidth), {
    error: `an array of 2 to ${MAX_LAYERS + 1} positive integer layer widths (at most 65536)`,
  }),
  kind: z.enum(KINDS),
  /** The only activation of this kernel. */
  activation: z.literal('tanh'),
  /** Largest batch a call may pass (sizes the kernel's memory). */
  maxBatch: numberOption('integer>0'),
  /** 'auto' (default): `relaxed` when the engine validates relaxed SIMD, else `simd`. */
  variant: z.optional(z.enum(['auto', 'simd', 'relaxed'])),
});
export type CnfMlpKernelConfig = z.input<typeof cnfMlpKernelConfigSchema>;

export interface CnfMlpOutputs {
  f: Float32Array; // [B*D]
  g: Float32Array; // [B*D]
  div: Float32Array; // [B]
  kin: Float32Array; // [B]
  frob: Float32Array; // [B]
}

/** The cotangents of `backward`: data, not options (arrays checked by length where they are used). */
export interface CnfMlpCotangents {
  f?: Float32Array; // [B*D]
  g?: Float32Array; // [B*D]
  div?: Float32Array; // [B]
  kin?: Float32Array; // [B]
  frob?: Float32Array; // [B]
}
/** The keys `backward` knows (a typo such as `frobenius` is an error). */
const cotangentsSchema = z.object({
  f: z.optional(z.custom<Float32Array>()),
  g: z.optional(z.custom<Float32Array>()),
  div: z.optional(z.custom<Float32Array>()),
  kin: z.optional(z.custom<Float32Array>()),
  frob: z.optional(z.custom<Float32Array>()),
});

export interface CnfMlpGrads {
  dz: Float32Array; // [B*D]
  dtheta: Float32Array; // [P]
}

export interface CnfMlpKernel {
  readonly variant: CnfMlpVariant;
  /** P: the length of θ (each layer's params in order: W [in,out] row-major, b, then Wg, bg, Wb | wt). */
  readonly paramCount: number;
  readonly dims: readonly number[];
  readonly kind: CnfMlpKind;
  readonly maxBatch: number;
  /** Copies θ into the kernel (invalidates the activations kept by `forward`). */
  setParams(theta: Float32Array): void;
  /**
   * Writes f, g [B*D] and div, kin, frob [B] (the first B*D / B entries of each array) and keeps
   * the activations for `backward`. Returns a token naming them.
   */
  forward(t: number, z: Float32Array, e: Float32Array, batch: number, out: CnfMlpOutputs): number;
  /**
   * Overwrites dz [B*D] and dtheta [P]. Reuses the activations of the latest `forward` when `token`
   * is its token (same t and batch; the caller vouches for z, e and the params); otherwise (or with
   * token -1) recomputes the forward first. Missing cotangents are zero. Fills `out` with the
   * forward outputs when given.
   */
  backward(
    t: number,
    z: Float32Array,
    e: Float32Array,
    batch: number,
    cot: CnfMlpCotangents,
    grads: CnfMlpGrads,
    token?: number,
    out?: CnfMlpOutputs,
  ): void;
  /** Releases the instance; later calls throw. */
  dispose(): void;
}

interface Exports {
  memory: WebAssembly.Memory;
  dimsPtr(): number;
  configure(nLayers: number, kind: number, maxBatch: number): number;
  ptr(which: number): number;
  forward(t: number, batch: number): void;
  backward(t: number, batch: number): void;
  tanhVec(x: number, y: number, n: number): void;
  scratchPtr(): number;
}

const loader = wasmKernelModule(SOURCE, { simd: CNF_MLP_WASM_SIMD, relaxed: CNF_MLP_WASM_RELAXED });

/** Whether the engine runs a variant (not cached when false: a flag may enable it later). */
export function cnfMlpVariantAvailable(v: CnfMlpVariant): boolean {
  return loader.available(v);
}

/** WebAssembly with fixed-width SIMD is present (the `simd` variant runs). */
export function cnfMlpKernelAvailable(): boolean {
  return loader.available('simd');
}

/**
 * Compiles a variant asynchronously and caches it, so that `createCnfMlpKernel` (synchronous)
 * needs no compilation afterwards. Browsers refuse synchronous compilation of modules this size
 * (tens of KB) on the main thread; workers and Node do not need this. Resolves to the variant.
 */
export async function precompileCnfMlpKernel(variant: 'auto' | CnfMlpVariant = 'auto'): Promise<CnfMlpVariant> {
  const v = loader.resolve(variant);
  await loader.compile(v);
  return v;
}

const moduleFor = (v: CnfMlpVariant): WebAssembly.Module => loader.module(v);
const resolveVariant = (v: CnfMlpKernelConfig['variant']): CnfMlpVariant => loader.resolve(v);

function bad(message: string): never {
  throw new RnodeError('INVALID_OPTIONS', message, { source: SOURCE });
}

function checkConfig(config: CnfMlpKernelConfig): void {
  const { dims, kind } = parseOptions(cnfMlpKernelConfigSchema, config, SOURCE);
  if (dims[0] !== dims[dims.length - 1]) {
    bad(`option "dims" must start and end with the same width D (z → f), got ${dims[0]} and ${dims[dims.length - 1]}`);
  }
  let p = 0;
  for (let l = 1; l < dims.length; l++) p += dims[l - 1]! * dims[l]! + dims[l]! * (kind === 'concatsquash' ? 4 : kind === 'concat' ? 2 : 1);
  if (p > 2 ** 27) bad(`dims ${dims.join('→')} give ${p} parameters, more than this kernel's 2^27`);
}

function argError(message: string): never {
  throw new RnodeError('INVALID_ARGUMENT', message, { source: SOURCE });
}

function checkArray(a: unknown, name: string, need: number): Float32Array {
  if (!(a instanceof Float32Array)) argError(`${name} must be a Float32Array, got ${describe(a)}`);
  if (a.length < need) argError(`${name} has length ${a.length}, needs at least ${need}`);
  return a;
}

function instantiate(module: WebAssembly.Module): Exports {
  return new WebAssembly.Instance(module, {}).exports as unknown as Exports;
}

export function createCnfMlpKernel(config: CnfMlpKernelConfig): CnfMlpKernel {
  checkConfig(config);
  const variant = resolveVariant(config.variant);
  const dims = config.dims.slice();
  const kind = config.kind;
  const maxBatch = config.maxBatch;
  const D = dims[0]!;
  const L = dims.length - 1;
  const module = moduleFor(variant);
  let x: Exports | null = instantiate(module);
  new Int32Array(x.memory.buffer, x.dimsPtr(), dims.length).set(dims);
  let P: number;
  try {
    P = x.configure(L, KINDS.indexOf(kind), maxBatch);
  } catch (cause) {
    throw new RnodeError('INVALID_OPTIONS', `cannot lay out ${dims.join('→')} for maxBatch ${maxBatch} in wasm memory`, {
      source: SOURCE,
      cause,
    });
  }
  if (P < 0) bad(`dims ${dims.join('→')} with maxBatch ${maxBatch} do not fit in a 4 GiB wasm memory; lower maxBatch`);

  let buf: ArrayBuffer | null = null;
  let v!: {
    theta: Float32Array; dtheta: Float32Array; z: Float32Array; e: Float32Array; f: Float32Array; g: Float32Array;
    div: Float32Array; kin: Float32Array; frob: Float32Array; cf: Float32Array; cg: Float32Array; cdiv: Float32Array;
    ckin: Float32Array; cfrob: Float32Array; dz: Float32Array;
  };
  const live = (): Exports => {
    if (!x) argError('the kernel was disposed');
    if (x.memory.buffer !== buf) {
      buf = x.memory.buffer as ArrayBuffer;
      const f32 = (which: number, n: number): Float32Array => new Float32Array(buf!, x!.ptr(which), n);
      const bd = maxBatch * D;
      v = {
        theta: f32(0, P), dtheta: f32(1, P), z: f32(2, bd), e: f32(3, bd), f: f32(4, bd), g: f32(5, bd),
        div: f32(6, maxBatch), kin: f32(7, maxBatch), frob: f32(8, maxBatch), cf: f32(9, bd), cg: f32(10, bd),
        cdiv: f32(11, maxBatch), ckin: f32(12, maxBatch), cfrob: f32(13, maxBatch), dz: f32(14, bd),
      };
    }
    return x;
  };
  live();

  let haveParams = false;
  let counter = 0;
  let lastToken = -1;
  let lastT = NaN;
  let lastB = -1;

  const checkCall = (t: number, batch: number): void => {
    if (typeof t !== 'number' || !Number.isFinite(t)) argError(`t must be a finite number, got ${describe(t)}`);
    if (!Number.isInteger(batch) || batch < 1 || batch > maxBatch) {
      argError(`batch must be an integer in [1, ${maxBatch}] (maxBatch), got ${describe(batch)}`);
    }
    if (!haveParams) argError('setParams must be called before forward/backward');
  };
  const copyIn = (src: Float32Array, dst: Float32Array, n: number): void => {
    dst.set(src.length === n ? src : src.subarray(0, n));
  };
  const checkOut = (out: CnfMlpOutputs, B: number): void => {
    if (typeof out !== 'object' || out === null) argError(`out must be an object of Float32Arrays, got ${describe(out)}`);
    checkArray(out.f, 'out.f', B * D);
    checkArray(out.g, 'out.g', B * D);
    checkArray(out.div, 'out.div', B);
    checkArray(out.kin, 'out.kin', B);
    checkArray(out.frob, 'out.frob', B);
  };
  const copyOut = (out: CnfMlpOutputs, B: number): void => {
    out.f.set(v.f.subarray(0, B * D));
    out.g.set(v.g.subarray(0, B * D));
    out.div.set(v.div.subarray(0, B));
    out.kin.set(v.kin.subarray(0, B));
    out.frob.set(v.frob.subarray(0, B));
  };
  const runForward = (ex: Exports, t: number, z: Float32Array, e: Float32Array, B: number): number => {
    copyIn(z, v.z, B * D);
    copyIn(e, v.e, B * D);
    lastToken = -1;
    ex.forward(t, B);
    lastToken = ++counter;
    lastT = t;
    lastB = B;
    return lastToken;
  };

  return {
    variant,
    paramCount: P,
    dims,
    kind,
    maxBatch,
    setParams(theta) {
      live();
      checkArray(theta, 'theta', P);
      if (theta.length !== P) argError(`theta has length ${theta.length}, the kernel has ${P} parameters`);
      v.theta.set(theta);
      haveParams = true;
      lastToken = -1;
    },
    forward(t, z, e, batch, out) {
      const ex = live();
      checkCall(t, batch);
      checkArray(z, 'z', batch * D);
      checkArray(e, 'e', batch * D);
      checkOut(out, batch);
      const token = runForward(ex, t, z, e, batch);
      copyOut(out, batch);
      return token;
    },
    backward(t, z, e, batch, cot, grads, token = -1, out) {
      const ex = live();
      checkCall(t, batch);
      checkArray(z, 'z', batch * D);
      checkArray(e, 'e', batch * D);
      if (typeof cot !== 'object' || cot === null) argError(`cot must be an object, got ${describe(cot)}`);
      parseOptions(cotangentsSchema, cot, SOURCE);
      if (typeof grads !== 'object' || grads === null) argError(`grads must be an object, got ${describe(grads)}`);
      checkArray(grads.dz, 'grads.dz', batch * D);
      checkArray(grads.dtheta, 'grads.dtheta', P);
      if (out !== undefined) checkOut(out, batch);
      const bd = batch * D;
      const cots: [Float32Array | undefined, Float32Array, string, number][] = [
        [cot.f, v.cf, 'cot.f', bd],
        [cot.g, v.cg, 'cot.g', bd],
        [cot.div, v.cdiv, 'cot.div', batch],
        [cot.kin, v.ckin, 'cot.kin', batch],
        [cot.frob, v.cfrob, 'cot.frob', batch],
      ];
      for (const [c, , name, n] of cots) if (c !== undefined) checkArray(c, name, n);
      const reuse = typeof token === 'number' && token >= 0 && token === lastToken && t === lastT && batch === lastB;
      if (!reuse) runForward(ex, t, z, e, batch);
      for (const [c, dst, , n] of cots) {
        if (c === undefined) dst.fill(0, 0, n);
        else copyIn(c, dst, n);
      }
      ex.backward(t, batch);
      grads.dz.set(v.dz.subarray(0, bd));
      grads.dtheta.set(v.dtheta);
      if (out) copyOut(out, batch);
    },
    dispose() {
      x = null;
      buf = null;
      lastToken = -1;
    },
  };
}

/**
 * The kernel's SIMD tanh applied to `xs` (a diagnostic: its accuracy is tested against Math.tanh).
 */
export function cnfMlpTanh(xs: Float32Array, variant: CnfMlpVariant = 'simd'): Float32Array {
  const ex = instantiate(moduleFor(variant));
  const n = xs.length;
  const chunk = 4096; // floats per 16 KiB half of the 64 KiB scratch area
  const base = ex.scratchPtr();
  const out = new Float32Array(n);
  for (let i = 0; i < n; i += chunk) {
    const k = Math.min(chunk, n - i);
    const k4 = (k + 3) & ~3;
    const mem = new Float32Array(ex.memory.buffer, base, 2 * chunk);
    mem.fill(0);
    mem.set(xs.subarray(i, i + k));
    ex.tanhVec(base, base + chunk * 4, k4);
    out.set(new Float32Array(ex.memory.buffer, base + chunk * 4, k), i);
  }
  return out;
}
