// Loading rnode's own AssemblyScript kernels (scripts/build-wasm-kernels.mjs): each kernel
// source is compiled twice, `simd` (f32x4 mul + add) and `relaxed` (f32x4.relaxed_madd, fused
// multiply-add where the CPU has it), and shipped as base64 strings. This module decodes them
// lazily, says which variant the engine runs, and compiles each variant once per thread.
// Browser-safe: no Node built-ins.
import { RnodeError, describe } from '../errors.js';

export type WasmVariant = 'simd' | 'relaxed';

/** A kernel binary in its two variants (the generated module's two base64 strings). */
export interface WasmKernelBinaries {
  simd: string;
  relaxed: string;
}

export interface WasmKernelModule {
  /** Whether the engine runs a variant (not cached when false: a V8 flag may enable it later). */
  available(variant: WasmVariant): boolean;
  /** 'auto': `relaxed` when it validates, else `simd`. */
  resolve(variant?: 'auto' | WasmVariant): WasmVariant;
  /** The compiled module, compiled synchronously on first use (fine in workers and Node; browsers refuse it on the main thread for large modules). */
  module(variant: WasmVariant): WebAssembly.Module;
  /** Compiles asynchronously and caches, so that `module` needs no compilation afterwards. */
  compile(variant: WasmVariant): Promise<WebAssembly.Module>;
  /** The compiled module if there is one already (no compilation). */
  compiled(variant: WasmVariant): WebAssembly.Module | undefined;
}

/** Standard base64 (no Buffer/atob: the same code runs in Node, browsers and workers). */
export function decodeBase64(s: string): Uint8Array<ArrayBuffer> {
  const table = new Uint8Array(128);
  const alphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/';
  for (let i = 0; i < 64; i++) table[alphabet.charCodeAt(i)] = i;
  let n = s.length;
  while (n > 0 && s[n - 1] === '=') n--;
  const out = new Uint8Array((n * 3) >> 2);
  let o = 0;
  for (let i = 0; i < n; i += 4) {
    const a = table[s.charCodeAt(i)]!;
    const b = table[s.charCodeAt(i + 1)]!;
    const c = i + 2 < n ? table[s.charCodeAt(i + 2)]! : 0;
    const d = i + 3 < n ? table[s.charCodeAt(i + 3)]! : 0;
    const v = (a << 18) | (b << 12) | (c << 6) | d;
    out[o++] = v >> 16;
    if (o < out.length) out[o++] = (v >> 8) & 255;
    if (o < out.length) out[o++] = v & 255;
  }
  return out;
}

/**
 * The loader of one kernel binary. `source` names it in errors (e.g. 'kernel:cnf-mlp').
 */
export function wasmKernelModule(source: string, binaries: WasmKernelBinaries): WasmKernelModule {
  const bytes: Partial<Record<WasmVariant, Uint8Array<ArrayBuffer>>> = {};
  const modules: Partial<Record<WasmVariant, WebAssembly.Module>> = {};
  const wasmBytes = (v: WasmVariant) => (bytes[v] ??= decodeBase64(binaries[v]));
  const available = (v: WasmVariant): boolean => {
    if (modules[v]) return true;
    if (typeof WebAssembly !== 'object' || typeof WebAssembly.validate !== 'function') return false;
    try {
      return WebAssembly.validate(wasmBytes(v));
    } catch {
      return false;
    }
  };
  const orThrow = (v: WasmVariant): void => {
    if (!available(v)) {
      throw new RnodeError(
        'BACKEND_UNAVAILABLE',
        v === 'relaxed'
          ? 'the relaxed-SIMD variant does not validate in this engine (Node 20 needs --experimental-wasm-relaxed-simd); use variant "simd" or "auto"'
          : 'WebAssembly fixed-width SIMD is not available in this engine',
        { source },
      );
    }
  };
  return {
    available,
    resolve(v = 'auto') {
      if (v === 'auto') return available('relaxed') ? 'relaxed' : 'simd';
      if (v === 'simd' || v === 'relaxed') return v;
      throw new RnodeError('INVALID_OPTIONS', `option "variant" must be "auto", "simd" or "relaxed", got ${describe(v)}`, { source });
    },
    module(v) {
      const m = modules[v];
      if (m) return m;
      orThrow(v);
      return (modules[v] = new WebAssembly.Module(wasmBytes(v)));
    },
    async compile(v) {
      const m = modules[v];
      if (m) return m;
      orThrow(v);
      return (modules[v] = await WebAssembly.compile(wasmBytes(v)));
    },
    compiled: (v) => modules[v],
  };
}
