// Fused wasm-SIMD kernel for the CNF ODE net (an MLP of time-dependent affine layers with tanh)
// and its exact VJP. Compiled twice by scripts/build-kernels.mjs: `simd` (f32x4 mul + add) and
// `relaxed` (f32x4.relaxed_madd). The TypeScript wrapper is src/kernels/cnf-mlp.ts.
//
// Per sample (row vectors): a_0 = z; s_l = a_{l-1} W_l(t) + c_l(t); a_l = tanh(s_l) (l < L);
// f = s_L. VJP with the probe e: u_L = e; v_{l-1} = u_l W_l(t)^T; u_{l-1} = v_{l-1} * (1 - a_{l-1}^2);
// g = v_0; div = g.e, kin = |f|^2, frob = |g|^2. `backward` is the exact VJP of those outputs.
//
// Memory: every per-sample array of width w is stored [maxBatch, ld] with ld = w rounded up to 4
// and zero (or at least finite) padding lanes, so every GEMM streams whole f32x4 vectors. The
// prepared weights W(t) [n, ldm] and W(t)^T [m, ldn] have zero pads, so padded lanes of the
// activations stay 0 (tanh(0) = 0) and never leak into real lanes.

// ---------------------------------------------------------------- configuration and layout

const MAXL: i32 = 63;

const KIND_CONCATSQUASH: i32 = 0;
const KIND_CONCAT: i32 = 1;
const KIND_IGNORE: i32 = 2;

// level table (levels 0..L, width d_l): 8 u32 fields per level
const LV_W: i32 = 0; // width
const LV_LD: i32 = 1; // row stride (elements)
const LV_A: i32 = 2; // a_l; level 0: z; level L: f
const LV_D: i32 = 3; // d_l = 1 - a_l^2
const LV_V: i32 = 4; // v_l; level 0: g
const LV_U: i32 = 5; // u_l; level L: e
const LV_VB: i32 = 6; // vbar_l; level 0: gbar
const LV_SB: i32 = 7; // abar_l, then sbar_l in place; level L: fbar; level 0: dz

// layer table (layers 1..L): 16 u32 fields per layer
const LY_N: i32 = 0;
const LY_M: i32 = 1;
const LY_TW: i32 = 2; // byte offsets of the raw params inside theta (W, b, then kind-specific)
const LY_TB: i32 = 3;
const LY_T1: i32 = 4; // concatsquash: Wg; concat: wt
const LY_T2: i32 = 5; // concatsquash: bg
const LY_T3: i32 = 6; // concatsquash: Wb
const LY_W: i32 = 7; // W(t) [n, ldm]
const LY_WT: i32 = 8; // W(t)^T [m, ldn]
const LY_C: i32 = 9; // c(t) [ldm]
const LY_G: i32 = 10; // gate [m] (concatsquash)
const LY_GW: i32 = 11; // dL/dW(t): [n, ldm], or [m, ldn] when LY_GT
const LY_GT: i32 = 12;
const LY_GC: i32 = 13; // dL/dc(t) [ldm]

let nL: i32 = 0;
let kind: i32 = 0;
let maxB: i32 = 0;
let P: i32 = 0;
let D: i32 = 0;
let lev: usize = 0;
let lay: usize = 0;
let top: usize = 0;
let theta: usize = 0;
let dtheta: usize = 0;
let zc: usize = 0; // contiguous staging [maxB*D] / [maxB]
let ec: usize = 0;
let fc: usize = 0;
let gc: usize = 0;
let divp: usize = 0;
let kinp: usize = 0;
let frobp: usize = 0;
let cfc: usize = 0;
let cgc: usize = 0;
let cdivp: usize = 0;
let ckinp: usize = 0;
let cfrobp: usize = 0;
let dzc: usize = 0;
let tmpf: usize = 0;

@inline function lvp(l: i32, f: i32): usize {
  return lev + ((<usize>l << 5) + (<usize>f << 2));
}
@inline function LV(l: i32, f: i32): usize {
  return <usize>load<u32>(lvp(l, f));
}
@inline function lyp(l: i32, f: i32): usize {
  return lay + ((<usize>l << 6) + (<usize>f << 2));
}
@inline function LY(l: i32, f: i32): usize {
  return <usize>load<u32>(lyp(l, f));
}
@inline function LYi(l: i32, f: i32): i32 {
  return load<i32>(lyp(l, f));
}
@inline function LVi(l: i32, f: i32): i32 {
  return load<i32>(lvp(l, f));
}
@inline function ceil4(x: i32): i32 {
  return (x + 3) & ~3;
}

function dimsArea(): usize {
  return (__heap_base + 63) & ~(<usize>63);
}

/** Where the host writes the L + 1 dims (i32) before calling `configure`. */
export function dimsPtr(): usize {
  return dimsArea();
}

let oom: bool = false;

let nalloc: u32 = 0;

/**
 * Bump allocation (64-byte aligned, zeroed: memory is never reused); sets `oom` on failure.
 * Successive buffers start at staggered offsets modulo 4 KiB (17 cache lines apart): the
 * per-sample buffers are multiples of 4 KiB long, and loads 4 KiB apart from a recent store
 * stall on the CPU's store-forwarding check (4K aliasing) and crowd the same L1 sets.
 */
function balloc(bytes: u64): usize {
  if (top == 0) top = dimsArea() + 256;
  top += <usize>(((nalloc++ * 17) & 63) << 6);
  const end = (<u64>top + bytes + 63) & ~(<u64>63);
  if (oom || end > <u64>0xfff00000) {
    oom = true;
    return 0;
  }
  const p = top;
  top = <usize>end;
  const need = <i32>((end + 0xffff) >> 16);
  const have = memory.size();
  if (need > have && memory.grow(need - have) < 0) {
    oom = true;
    return 0;
  }
  return p;
}

/**
 * Lays out the buffers for nLayers layers (dims at dimsPtr()), kind 0 concatsquash | 1 concat |
 * 2 ignore, batches up to maxBatch. Returns the parameter count P, or -1 on a bad config or when the buffers do not fit in memory.
 * Call once per instance.
 */
export function configure(nLayers: i32, kindIn: i32, maxBatch: i32): i32 {
  if (nLayers < 1 || nLayers > MAXL || kindIn < 0 || kindIn > 2 || maxBatch < 1 || lev != 0) return -1;
  const dims = dimsArea();
  for (let l = 0; l <= nLayers; l++) if (load<i32>(dims + (<usize>l << 2)) < 1) return -1;
  nL = nLayers;
  kind = kindIn;
  maxB = maxBatch;
  lev = balloc(<u64>(nL + 1) << 5);
  lay = balloc(<u64>(nL + 1) << 6);
  D = load<i32>(dims);
  let maxW = 0;
  for (let l = 0; l <= nL; l++) {
    const w = load<i32>(dims + (<usize>l << 2));
    if (w > maxW) maxW = w;
    const ld = ceil4(w);
    const bytes = <u64>maxB * <u64>ld * 4;
    store<u32>(lvp(l, LV_W), w);
    store<u32>(lvp(l, LV_LD), ld);
    store<u32>(lvp(l, LV_A), <u32>balloc(bytes));
    store<u32>(lvp(l, LV_D), <u32>balloc(bytes));
    store<u32>(lvp(l, LV_V), <u32>balloc(bytes));
    store<u32>(lvp(l, LV_U), <u32>balloc(bytes));
    store<u32>(lvp(l, LV_VB), <u32>balloc(bytes));
    store<u32>(lvp(l, LV_SB), <u32>balloc(bytes));
  }
  let off: i32 = 0;
  for (let l = 1; l <= nL; l++) {
    const n = load<i32>(dims + (<usize>(l - 1) << 2));
    const m = load<i32>(dims + (<usize>l << 2));
    const ldn = ceil4(n);
    const ldm = ceil4(m);
    store<i32>(lyp(l, LY_N), n);
    store<i32>(lyp(l, LY_M), m);
    store<i32>(lyp(l, LY_TW), off << 2);
    off += n * m;
    store<i32>(lyp(l, LY_TB), off << 2);
    off += m;
    if (kind == KIND_CONCATSQUASH) {
      store<i32>(lyp(l, LY_T1), off << 2);
      off += m;
      store<i32>(lyp(l, LY_T2), off << 2);
      off += m;
      store<i32>(lyp(l, LY_T3), off << 2);
      off += m;
    } else if (kind == KIND_CONCAT) {
      store<i32>(lyp(l, LY_T1), off << 2);
      off += m;
    }
    store<u32>(lyp(l, LY_W), <u32>balloc(<u64>n * <u64>ldm * 4));
    store<u32>(lyp(l, LY_WT), <u32>balloc(<u64>m * <u64>ldn * 4));
    store<u32>(lyp(l, LY_C), <u32>balloc(<u64>ldm * 4));
    store<u32>(lyp(l, LY_G), <u32>balloc(<u64>ldm * 4));
    // weight-gradient orientation: vectors run along the wider side
    const trans = n > m ? 1 : 0;
    store<i32>(lyp(l, LY_GT), trans);
    store<u32>(lyp(l, LY_GW), <u32>balloc(trans ? <u64>m * <u64>ldn * 4 : <u64>n * <u64>ldm * 4));
    store<u32>(lyp(l, LY_GC), <u32>balloc(<u64>ldm * 4));
  }
  P = off;
  theta = balloc(<u64>P * 4);
  dtheta = balloc(<u64>P * 4);
  const bd = <u64>maxB * <u64>D * 4;
  const b1 = <u64>maxB * 4;
  zc = balloc(bd);
  ec = balloc(bd);
  fc = balloc(bd);
  gc = balloc(bd);
  cfc = balloc(bd);
  cgc = balloc(bd);
  dzc = balloc(bd);
  divp = balloc(b1);
  kinp = balloc(b1);
  frobp = balloc(b1);
  cdivp = balloc(b1);
  ckinp = balloc(b1);
  cfrobp = balloc(b1);
  tmpf = balloc(<u64>(maxW + 4) * 8);
  return oom ? -1 : P;
}

/** Pointers to the host-visible buffers: 0 theta, 1 dtheta, 2 z, 3 e, 4 f, 5 g, 6 div, 7 kin,
 * 8 frob, 9 cf, 10 cg, 11 cdiv, 12 ckin, 13 cfrob, 14 dz. */
export function ptr(which: i32): usize {
  switch (which) {
    case 0: return theta;
    case 1: return dtheta;
    case 2: return zc;
    case 3: return ec;
    case 4: return fc;
    case 5: return gc;
    case 6: return divp;
    case 7: return kinp;
    case 8: return frobp;
    case 9: return cfc;
    case 10: return cgc;
    case 11: return cdivp;
    case 12: return ckinp;
    case 13: return cfrobp;
    case 14: return dzc;
  }
  return 0;
}

// ---------------------------------------------------------------- SIMD helpers

@inline function madd(a: v128, b: v128, c: v128): v128 {
  if (ASC_FEATURE_RELAXED_SIMD) {
    return f32x4.relaxed_madd(a, b, c);
  } else {
    return f32x4.add(f32x4.mul(a, b), c);
  }
}

@inline function hsum(v: v128): f32 {
  const s = f32x4.add(v, v128.shuffle<f32>(v, v, 2, 3, 0, 1));
  return f32x4.extract_lane(f32x4.add(s, v128.shuffle<f32>(s, s, 1, 0, 3, 2)), 0);
}

// f32x4 constants, loaded from memory: V8 materialises each v128 immediate with 3 instructions
// inside every loop iteration, a load from this table is one.
const KTAB: usize = memory.data<f32>([
  9.0, 9.0, 9.0, 9.0, // K_CLAMP
  -2.8853900817779268, -2.8853900817779268, -2.8853900817779268, -2.8853900817779268, // K_L2E2
  12583039.0, 12583039.0, 12583039.0, 12583039.0, // K_MAGIC
  -2.0, -2.0, -2.0, -2.0, // K_M2
  -0.693145751953125, -0.693145751953125, -0.693145751953125, -0.693145751953125, // K_LN2HI
  -1.428606765330187e-6, -1.428606765330187e-6, -1.428606765330187e-6, -1.428606765330187e-6, // K_LN2LO
  0.001385816023685038, 0.001385816023685038, 0.001385816023685038, 0.001385816023685038, // K_P4
  0.00836667325347662, 0.00836667325347662, 0.00836667325347662, 0.00836667325347662, // K_P3
  0.041667595505714417, 0.041667595505714417, 0.041667595505714417, 0.041667595505714417, // K_P2
  0.16666541993618011, 0.16666541993618011, 0.16666541993618011, 0.16666541993618011, // K_P1
  0.4999999701976776, 0.4999999701976776, 0.4999999701976776, 0.4999999701976776, // K_P0
  1.0, 1.0, 1.0, 1.0, // K_ONE
  2.0, 2.0, 2.0, 2.0, // K_TWO
  -0.0, -0.0, -0.0, -0.0, // K_SIGN
], 16);
const K_CLAMP: usize = 0;
const K_L2E2: usize = 16;
const K_MAGIC: usize = 32;
const K_M2: usize = 48;
const K_LN2HI: usize = 64;
const K_LN2LO: usize = 80;
const K_P4: usize = 96;
const K_P3: usize = 112;
const K_P2: usize = 128;
const K_P1: usize = 144;
const K_P0: usize = 160;
const K_ONE: usize = 176;
const K_TWO: usize = 192;
const K_SIGN: usize = 208;
@inline function kv(off: usize): v128 {
  return v128.load(KTAB + off);
}

/**
 * tanh on f32x4: tanh|x| = -m / (m + 2), m = expm1(-2|x|) (|x| clamped to 9, where tanh rounds
 * to 1), with Cody-Waite reduction -2|x| = n ln2 + r, |r| <= ln2/2, expm1(r) = r + r^2 P(r)
 * (P: degree-4 least-squares fit, relative error 1.4e-8) and expm1(-2|x|) = 2^n expm1(r) + 2^n - 1.
 * n and 2^n come from the magic-number rounding trick (no float-int conversion). The sign of x
 * is copied back. Max abs error 1.5e-7 on [-10, 10], relative error < 2e-7 everywhere (also
 * near 0); NaN propagates, +-inf give +-1.
 */
@inline function tanh4(x: v128): v128 {
  const sign = kv(K_SIGN);
  const ax = f32x4.pmin(v128.andnot(x, sign), kv(K_CLAMP));
  // t = round(-2|x| log2 e) + 1.5 * 2^23 + 127: its low mantissa bits hold n + 127
  const magic = kv(K_MAGIC);
  const t = madd(ax, kv(K_L2E2), magic);
  const n = f32x4.sub(t, magic);
  let r = madd(n, kv(K_LN2HI), f32x4.mul(ax, kv(K_M2)));
  r = madd(n, kv(K_LN2LO), r);
  let p = madd(r, kv(K_P4), kv(K_P3));
  p = madd(p, r, kv(K_P2));
  p = madd(p, r, kv(K_P1));
  p = madd(p, r, kv(K_P0));
  p = madd(f32x4.mul(r, r), p, r);
  const s = i32x4.shl(t, 23); // 2^n
  const em = madd(s, p, f32x4.sub(s, kv(K_ONE)));
  const q = v128.andnot(f32x4.div(em, f32x4.add(em, kv(K_TWO))), sign);
  return v128.or(q, v128.and(x, sign));
}

/** Exposed for the accuracy test: y[i] = tanh(x[i]), i < n (n a multiple of 4). */
export function tanhVec(x: usize, y: usize, n: i32): void {
  for (let i = 0; i < n; i += 4) {
    v128.store(y + (<usize>i << 2), tanh4(v128.load(x + (<usize>i << 2))));
  }
}

/** A fresh 64 KiB scratch area (tests of tanhVec). */
export function scratchPtr(): usize {
  return balloc(1 << 16);
}

// ---------------------------------------------------------------- GEMM kernels

const EP_STORE: i32 = 0; // C = acc
const EP_ACC: i32 = 1; // C += acc
const EP_TANH: i32 = 2; // C = tanh(acc + bias); Y1 = 1 - C^2 (tanh in a pass per row block)
const EP_BIAS: i32 = 3; // C = acc + bias
const EP_MULD: i32 = 4; // C = acc; Y1 = acc * X1 (the product in a pass per row block)
const EP_RBAR: i32 = 5; // Y1 = acc * X1; C = -2 * X2 * acc * X3
const EP_ABAR: i32 = 6; // C = (C + acc) * X1

@inline function epi(
  mode: i32, acc: v128, o: usize, C: usize, x1: usize, x2: usize, x3: usize, y1: usize, bj: usize,
): void {
  if (mode == EP_STORE) {
    v128.store(C + o, acc);
  } else if (mode == EP_ACC) {
    v128.store(C + o, f32x4.add(v128.load(C + o), acc));
  } else if (mode == EP_TANH || mode == EP_BIAS) {
    v128.store(C + o, f32x4.add(acc, v128.load(bj)));
  } else if (mode == EP_MULD) {
    v128.store(C + o, acc);
  } else if (mode == EP_RBAR) {
    v128.store(y1 + o, f32x4.mul(acc, v128.load(x1 + o)));
    const av = f32x4.mul(v128.load(x2 + o), v128.load(x3 + o));
    v128.store(C + o, f32x4.mul(f32x4.mul(av, acc), kv(K_M2)));
  } else {
    v128.store(C + o, f32x4.mul(f32x4.add(v128.load(C + o), acc), v128.load(x1 + o)));
  }
}

/**
 * a = tanh(s) in place and d = 1 - a^2 for `rows` rows of NV vectors. Run per row block right
 * after the GEMM stored s (still in L1): a tight loop of its own is faster than tanh inside the
 * register-blocked epilogue, where it competes with the 8 live accumulators for registers.
 */
function tanhRows(S: usize, Dp: usize, rows: i32, NV: i32, ld4: usize): void {
  const one = kv(K_ONE);
  for (let r = 0; r < rows; r++) {
    const ro = <usize>r * ld4;
    let jv = 0;
    for (; jv + 2 <= NV; jv += 2) {
      const o = ro + (<usize>jv << 4);
      const a0 = tanh4(v128.load(S + o));
      const a1 = tanh4(v128.load(S + o + 16));
      v128.store(S + o, a0);
      v128.store(S + o + 16, a1);
      v128.store(Dp + o, f32x4.mul(f32x4.sub(one, a0), f32x4.add(one, a0)));
      v128.store(Dp + o + 16, f32x4.mul(f32x4.sub(one, a1), f32x4.add(one, a1)));
    }
    if (jv < NV) {
      const o = ro + (<usize>jv << 4);
      const a = tanh4(v128.load(S + o));
      v128.store(S + o, a);
      v128.store(Dp + o, f32x4.mul(f32x4.sub(one, a), f32x4.add(one, a)));
    }
  }
}

/** Y = V * X for `rows` rows of NV vectors (the EP_MULD pass per row block). */
function mulRows(V: usize, X: usize, Y: usize, rows: i32, NV: i32, ld4: usize): void {
  for (let r = 0; r < rows; r++) {
    const ro = <usize>r * ld4;
    for (let jv = 0; jv < NV; jv++) {
      const o = ro + (<usize>jv << 4);
      v128.store(Y + o, f32x4.mul(v128.load(V + o), v128.load(X + o)));
    }
  }
}

/**
 * C[i, 4jv..4jv+3] (mode)= sum_k A[i*sai + k*sak] * Bm[k*ldb + 4jv..4jv+3], i < M, jv < NV.
 * Register block: 4 rows x 8 columns (8 f32x4 accumulators), the row scalars splatted from
 * memory, the B vectors loaded once per k; 2-row (x 16 columns) and 1-row blocks for the rest.
 * X1..X3, Y1 share C's row stride; bias is per column. Inlined once per epilogue mode (the
 * gemm* functions below), so the mode tests fold away.
 */
@inline function gemmT(
  M: i32, NV: i32, K: i32, A: usize, sai: i32, sak: i32, Bm: usize, ldb: i32, C: usize, ldc: i32,
  mode: i32, x1: usize, x2: usize, x3: usize, y1: usize, bias: usize,
): void {
  const sai4 = <usize>sai << 2;
  const sak4 = <usize>sak << 2;
  const ldb4 = <usize>ldb << 2;
  const ldc4 = <usize>ldc << 2;
  const z = f32x4.splat(0);
  let i = 0;
  for (; i + 4 <= M; i += 4) {
    const a0 = A + <usize>i * sai4;
    const ro = <usize>i * ldc4;
    let jv = 0;
    for (; jv + 2 <= NV; jv += 2) {
      let c00 = z, c01 = z, c10 = z, c11 = z, c20 = z, c21 = z, c30 = z, c31 = z;
      let ap = a0;
      let bp = Bm + (<usize>jv << 4);
      for (let k = 0; k < K; k++) {
        const b0 = v128.load(bp);
        const b1 = v128.load(bp, 16);
        let x = v128.load32_splat(ap);
        c00 = madd(x, b0, c00);
        c01 = madd(x, b1, c01);
        x = v128.load32_splat(ap + sai4);
        c10 = madd(x, b0, c10);
        c11 = madd(x, b1, c11);
        x = v128.load32_splat(ap + 2 * sai4);
        c20 = madd(x, b0, c20);
        c21 = madd(x, b1, c21);
        x = v128.load32_splat(ap + 3 * sai4);
        c30 = madd(x, b0, c30);
        c31 = madd(x, b1, c31);
        ap += sak4;
        bp += ldb4;
      }
      const o = ro + (<usize>jv << 4);
      const bj = bias + (<usize>jv << 4);
      epi(mode, c00, o, C, x1, x2, x3, y1, bj);
      epi(mode, c01, o + 16, C, x1, x2, x3, y1, bj + 16);
      epi(mode, c10, o + ldc4, C, x1, x2, x3, y1, bj);
      epi(mode, c11, o + ldc4 + 16, C, x1, x2, x3, y1, bj + 16);
      epi(mode, c20, o + 2 * ldc4, C, x1, x2, x3, y1, bj);
      epi(mode, c21, o + 2 * ldc4 + 16, C, x1, x2, x3, y1, bj + 16);
      epi(mode, c30, o + 3 * ldc4, C, x1, x2, x3, y1, bj);
      epi(mode, c31, o + 3 * ldc4 + 16, C, x1, x2, x3, y1, bj + 16);
    }
    if (jv < NV) {
      let c0 = z, c1 = z, c2 = z, c3 = z;
      let ap = a0;
      let bp = Bm + (<usize>jv << 4);
      for (let k = 0; k < K; k++) {
        const b0 = v128.load(bp);
        c0 = madd(v128.load32_splat(ap), b0, c0);
        c1 = madd(v128.load32_splat(ap + sai4), b0, c1);
        c2 = madd(v128.load32_splat(ap + 2 * sai4), b0, c2);
        c3 = madd(v128.load32_splat(ap + 3 * sai4), b0, c3);
        ap += sak4;
        bp += ldb4;
      }
      const o = ro + (<usize>jv << 4);
      const bj = bias + (<usize>jv << 4);
      epi(mode, c0, o, C, x1, x2, x3, y1, bj);
      epi(mode, c1, o + ldc4, C, x1, x2, x3, y1, bj);
      epi(mode, c2, o + 2 * ldc4, C, x1, x2, x3, y1, bj);
      epi(mode, c3, o + 3 * ldc4, C, x1, x2, x3, y1, bj);
    }
    if (mode == EP_TANH) tanhRows(C + ro, y1 + ro, 4, NV, ldc4);
    if (mode == EP_MULD) mulRows(C + ro, x1 + ro, y1 + ro, 4, NV, ldc4);
  }
  if (i + 2 <= M) {
    const a0 = A + <usize>i * sai4;
    const ro = <usize>i * ldc4;
    let jv = 0;
    for (; jv + 4 <= NV; jv += 4) {
      let c00 = z, c01 = z, c02 = z, c03 = z, c10 = z, c11 = z, c12 = z, c13 = z;
      let ap = a0;
      let bp = Bm + (<usize>jv << 4);
      for (let k = 0; k < K; k++) {
        const b0 = v128.load(bp);
        const b1 = v128.load(bp, 16);
        const b2 = v128.load(bp, 32);
        const b3 = v128.load(bp, 48);
        let x = v128.load32_splat(ap);
        c00 = madd(x, b0, c00);
        c01 = madd(x, b1, c01);
        c02 = madd(x, b2, c02);
        c03 = madd(x, b3, c03);
        x = v128.load32_splat(ap + sai4);
        c10 = madd(x, b0, c10);
        c11 = madd(x, b1, c11);
        c12 = madd(x, b2, c12);
        c13 = madd(x, b3, c13);
        ap += sak4;
        bp += ldb4;
      }
      const o = ro + (<usize>jv << 4);
      const bj = bias + (<usize>jv << 4);
      epi(mode, c00, o, C, x1, x2, x3, y1, bj);
      epi(mode, c01, o + 16, C, x1, x2, x3, y1, bj + 16);
      epi(mode, c02, o + 32, C, x1, x2, x3, y1, bj + 32);
      epi(mode, c03, o + 48, C, x1, x2, x3, y1, bj + 48);
      epi(mode, c10, o + ldc4, C, x1, x2, x3, y1, bj);
      epi(mode, c11, o + ldc4 + 16, C, x1, x2, x3, y1, bj + 16);
      epi(mode, c12, o + ldc4 + 32, C, x1, x2, x3, y1, bj + 32);
      epi(mode, c13, o + ldc4 + 48, C, x1, x2, x3, y1, bj + 48);
    }
    for (; jv < NV; jv++) {
      let c0 = z, c1 = z;
      let ap = a0;
      let bp = Bm + (<usize>jv << 4);
      for (let k = 0; k < K; k++) {
        const b0 = v128.load(bp);
        c0 = madd(v128.load32_splat(ap), b0, c0);
        c1 = madd(v128.load32_splat(ap + sai4), b0, c1);
        ap += sak4;
        bp += ldb4;
      }
      const o = ro + (<usize>jv << 4);
      const bj = bias + (<usize>jv << 4);
      epi(mode, c0, o, C, x1, x2, x3, y1, bj);
      epi(mode, c1, o + ldc4, C, x1, x2, x3, y1, bj);
    }
    if (mode == EP_TANH) tanhRows(C + ro, y1 + ro, 2, NV, ldc4);
    if (mode == EP_MULD) mulRows(C + ro, x1 + ro, y1 + ro, 2, NV, ldc4);
    i += 2;
  }
  if (i < M) {
    const a0 = A + <usize>i * sai4;
    const ro = <usize>i * ldc4;
    let jv = 0;
    for (; jv + 2 <= NV; jv += 2) {
      let c0 = z, c1 = z;
      let ap = a0;
      let bp = Bm + (<usize>jv << 4);
      for (let k = 0; k < K; k++) {
        const x = v128.load32_splat(ap);
        c0 = madd(x, v128.load(bp), c0);
        c1 = madd(x, v128.load(bp, 16), c1);
        ap += sak4;
        bp += ldb4;
      }
      const o = ro + (<usize>jv << 4);
      const bj = bias + (<usize>jv << 4);
      epi(mode, c0, o, C, x1, x2, x3, y1, bj);
      epi(mode, c1, o + 16, C, x1, x2, x3, y1, bj + 16);
    }
    if (jv < NV) {
      let c0 = z;
      let ap = a0;
      let bp = Bm + (<usize>jv << 4);
      for (let k = 0; k < K; k++) {
        c0 = madd(v128.load32_splat(ap), v128.load(bp), c0);
        ap += sak4;
        bp += ldb4;
      }
      epi(mode, c0, ro + (<usize>jv << 4), C, x1, x2, x3, y1, bias + (<usize>jv << 4));
    }
    if (mode == EP_TANH) tanhRows(C + ro, y1 + ro, 1, NV, ldc4);
    if (mode == EP_MULD) mulRows(C + ro, x1 + ro, y1 + ro, 1, NV, ldc4);
  }
}

function gemmStore(M: i32, NV: i32, K: i32, A: usize, sai: i32, sak: i32, Bm: usize, ldb: i32, C: usize, ldc: i32): void {
  gemmT(M, NV, K, A, sai, sak, Bm, ldb, C, ldc, EP_STORE, 0, 0, 0, 0, 0);
}
function gemmAcc(M: i32, NV: i32, K: i32, A: usize, sai: i32, sak: i32, Bm: usize, ldb: i32, C: usize, ldc: i32): void {
  gemmT(M, NV, K, A, sai, sak, Bm, ldb, C, ldc, EP_ACC, 0, 0, 0, 0, 0);
}
function gemmTanh(M: i32, NV: i32, K: i32, A: usize, lda: i32, Bm: usize, ldb: i32, C: usize, ldc: i32, y1: usize, bias: usize): void {
  gemmT(M, NV, K, A, lda, 1, Bm, ldb, C, ldc, EP_TANH, 0, 0, 0, y1, bias);
}
function gemmBias(M: i32, NV: i32, K: i32, A: usize, lda: i32, Bm: usize, ldb: i32, C: usize, ldc: i32, bias: usize): void {
  gemmT(M, NV, K, A, lda, 1, Bm, ldb, C, ldc, EP_BIAS, 0, 0, 0, 0, bias);
}
function gemmMulD(M: i32, NV: i32, K: i32, A: usize, lda: i32, Bm: usize, ldb: i32, C: usize, ldc: i32, x1: usize, y1: usize): void {
  gemmT(M, NV, K, A, lda, 1, Bm, ldb, C, ldc, EP_MULD, x1, 0, 0, y1, 0);
}
function gemmRbar(
  M: i32, NV: i32, K: i32, A: usize, lda: i32, Bm: usize, ldb: i32, C: usize, ldc: i32, x1: usize, x2: usize, x3: usize, y1: usize,
): void {
  gemmT(M, NV, K, A, lda, 1, Bm, ldb, C, ldc, EP_RBAR, x1, x2, x3, y1, 0);
}
function gemmAbar(M: i32, NV: i32, K: i32, A: usize, lda: i32, Bm: usize, ldb: i32, C: usize, ldc: i32, x1: usize): void {
  gemmT(M, NV, K, A, lda, 1, Bm, ldb, C, ldc, EP_ABAR, x1, 0, 0, 0, 0);
}

/**
 * Thin outputs (N <= 4): C[i*ldc + j] = sum over the KV vectors of A[i*lda..] . Bt[j*ldbt..]
 * (+ bias[j] when bias != 0). Vectors run along k (both operands contiguous, Bt zero-padded);
 * 4 rows x 2 columns of accumulators, horizontal sums at the end.
 */
function gemmDot(
  M: i32, N: i32, KV: i32, A: usize, lda: i32, Bt: usize, ldbt: i32, C: usize, ldc: i32, bias: usize,
): void {
  const lda4 = <usize>lda << 2;
  const ldbt4 = <usize>ldbt << 2;
  const ldc4 = <usize>ldc << 2;
  const z = f32x4.splat(0);
  let i = 0;
  for (; i + 4 <= M; i += 4) {
    const a0 = A + <usize>i * lda4;
    const co = C + <usize>i * ldc4;
    for (let j = 0; j < N; j += 2) {
      const two = j + 1 < N;
      const b0p = Bt + <usize>j * ldbt4;
      const b1p = two ? b0p + ldbt4 : b0p;
      let c00 = z, c01 = z, c10 = z, c11 = z, c20 = z, c21 = z, c30 = z, c31 = z;
      let ap = a0;
      let o: usize = 0;
      for (let kv = 0; kv < KV; kv++) {
        const b0 = v128.load(b0p + o);
        const b1 = v128.load(b1p + o);
        let x = v128.load(ap);
        c00 = madd(x, b0, c00);
        c01 = madd(x, b1, c01);
        x = v128.load(ap + lda4);
        c10 = madd(x, b0, c10);
        c11 = madd(x, b1, c11);
        x = v128.load(ap + 2 * lda4);
        c20 = madd(x, b0, c20);
        c21 = madd(x, b1, c21);
        x = v128.load(ap + 3 * lda4);
        c30 = madd(x, b0, c30);
        c31 = madd(x, b1, c31);
        ap += 16;
        o += 16;
      }
      const bb0: f32 = bias ? load<f32>(bias + (<usize>j << 2)) : 0;
      const cj = co + (<usize>j << 2);
      store<f32>(cj, hsum(c00) + bb0);
      store<f32>(cj + ldc4, hsum(c10) + bb0);
      store<f32>(cj + 2 * ldc4, hsum(c20) + bb0);
      store<f32>(cj + 3 * ldc4, hsum(c30) + bb0);
      if (two) {
        const bb1: f32 = bias ? load<f32>(bias + (<usize>(j + 1) << 2)) : 0;
        store<f32>(cj + 4, hsum(c01) + bb1);
        store<f32>(cj + ldc4 + 4, hsum(c11) + bb1);
        store<f32>(cj + 2 * ldc4 + 4, hsum(c21) + bb1);
        store<f32>(cj + 3 * ldc4 + 4, hsum(c31) + bb1);
      }
    }
  }
  for (; i < M; i++) {
    const a0 = A + <usize>i * lda4;
    for (let j = 0; j < N; j++) {
      const bp = Bt + <usize>j * ldbt4;
      let c0 = z;
      for (let kv = 0; kv < KV; kv++) {
        c0 = madd(v128.load(a0 + (<usize>kv << 4)), v128.load(bp + (<usize>kv << 4)), c0);
      }
      const bb: f32 = bias ? load<f32>(bias + (<usize>j << 2)) : 0;
      store<f32>(C + <usize>i * ldc4 + (<usize>j << 2), hsum(c0) + bb);
    }
  }
}

/** Thin outputs go through the dot kernel. */
@inline function thin(w: i32): bool {
  return w <= 4;
}

// ---------------------------------------------------------------- passes

/** Fold t into every layer: gate, W(t), W(t)^T, c(t). */
function prepare(t: f64): void {
  for (let l = 1; l <= nL; l++) {
    const n = LYi(l, LY_N);
    const m = LYi(l, LY_M);
    const ldn = <usize>ceil4(n);
    const ldm = <usize>ceil4(m);
    const tW = theta + LY(l, LY_TW);
    const tB = theta + LY(l, LY_TB);
    const W = LY(l, LY_W);
    const WT = LY(l, LY_WT);
    const c = LY(l, LY_C);
    const g = LY(l, LY_G);
    for (let j = 0; j < m; j++) {
      const jo = <usize>j << 2;
      const b = <f64>load<f32>(tB + jo);
      let gj: f64 = 1.0;
      let cj: f64 = b;
      if (kind == KIND_CONCATSQUASH) {
        const s = t * <f64>load<f32>(theta + LY(l, LY_T1) + jo) + <f64>load<f32>(theta + LY(l, LY_T2) + jo);
        gj = 1.0 / (1.0 + Math.exp(-s));
        cj = b * gj + t * <f64>load<f32>(theta + LY(l, LY_T3) + jo);
      } else if (kind == KIND_CONCAT) {
        cj = b + t * <f64>load<f32>(theta + LY(l, LY_T1) + jo);
      }
      store<f32>(g + jo, <f32>gj);
      store<f32>(c + jo, <f32>cj);
    }
    // W(t) = W * gate (columns), and its transpose: 4x4 blocks through registers, scalar edges
    const cs = kind == KIND_CONCATSQUASH;
    const n4 = n & ~3;
    const m4 = m & ~3;
    const ldn4 = ldn << 2;
    const ldm4 = ldm << 2;
    const m1 = <usize>m << 2;
    for (let i = 0; i < n4; i += 4) {
      const src = tW + ((<usize>i * <usize>m) << 2);
      const dst = W + <usize>i * ldm4;
      for (let j = 0; j < m4; j += 4) {
        const jo = <usize>j << 2;
        let r0 = v128.load(src + jo);
        let r1 = v128.load(src + m1 + jo);
        let r2 = v128.load(src + 2 * m1 + jo);
        let r3 = v128.load(src + 3 * m1 + jo);
        if (cs) {
          const gv = v128.load(g + jo);
          r0 = f32x4.mul(r0, gv);
          r1 = f32x4.mul(r1, gv);
          r2 = f32x4.mul(r2, gv);
          r3 = f32x4.mul(r3, gv);
        }
        v128.store(dst + jo, r0);
        v128.store(dst + ldm4 + jo, r1);
        v128.store(dst + 2 * ldm4 + jo, r2);
        v128.store(dst + 3 * ldm4 + jo, r3);
        const t0 = v128.shuffle<f32>(r0, r1, 0, 4, 1, 5);
        const t1 = v128.shuffle<f32>(r0, r1, 2, 6, 3, 7);
        const t2 = v128.shuffle<f32>(r2, r3, 0, 4, 1, 5);
        const t3 = v128.shuffle<f32>(r2, r3, 2, 6, 3, 7);
        const dT = WT + <usize>j * ldn4 + (<usize>i << 2);
        v128.store(dT, v128.shuffle<f32>(t0, t2, 0, 1, 4, 5));
        v128.store(dT + ldn4, v128.shuffle<f32>(t0, t2, 2, 3, 6, 7));
        v128.store(dT + 2 * ldn4, v128.shuffle<f32>(t1, t3, 0, 1, 4, 5));
        v128.store(dT + 3 * ldn4, v128.shuffle<f32>(t1, t3, 2, 3, 6, 7));
      }
    }
    for (let i = 0; i < n; i++) {
      const src = tW + ((<usize>i * <usize>m) << 2);
      const dst = W + <usize>i * ldm4;
      const dstT = WT + (<usize>i << 2);
      for (let j = i < n4 ? m4 : 0; j < m; j++) {
        const jo = <usize>j << 2;
        const w = cs ? load<f32>(src + jo) * load<f32>(g + jo) : load<f32>(src + jo);
        store<f32>(dst + jo, w);
        store<f32>(dstT + <usize>j * ldn4, w);
      }
    }
  }
}

function pack(src: usize, dst: usize, B: i32, w: i32, ld: i32): void {
  if (w == ld) {
    memory.copy(dst, src, (<usize>B * <usize>w) << 2);
    return;
  }
  for (let b = 0; b < B; b++) {
    const s = src + ((<usize>b * <usize>w) << 2);
    const d = dst + ((<usize>b * <usize>ld) << 2);
    for (let j = 0; j < w; j++) store<f32>(d + (<usize>j << 2), load<f32>(s + (<usize>j << 2)));
  }
}

function unpack(src: usize, dst: usize, B: i32, w: i32, ld: i32): void {
  if (w == ld) {
    memory.copy(dst, src, (<usize>B * <usize>w) << 2);
    return;
  }
  for (let b = 0; b < B; b++) {
    const s = src + ((<usize>b * <usize>ld) << 2);
    const d = dst + ((<usize>b * <usize>w) << 2);
    for (let j = 0; j < w; j++) store<f32>(d + (<usize>j << 2), load<f32>(s + (<usize>j << 2)));
  }
}

/**
 * Forward pass and VJP at time t for the first B rows of the z/e staging buffers: writes f, g
 * (contiguous [B, D]) and div, kin, frob [B]; keeps every activation for `backward`.
 */
export function forward(t: f64, B: i32): void {
  prepare(t);
  const ld0 = LVi(0, LV_LD);
  pack(zc, LV(0, LV_A), B, D, ld0);
  pack(ec, LV(nL, LV_U), B, D, ld0);
  for (let l = 1; l < nL; l++) {
    const n = LYi(l, LY_N);
    const ldn = LVi(l - 1, LV_LD);
    const ldm = LVi(l, LV_LD);
    gemmTanh(B, ldm >> 2, n, LV(l - 1, LV_A), ldn, LY(l, LY_W), ldm, LV(l, LV_A), ldm, LV(l, LV_D), LY(l, LY_C));
  }
  {
    const l = nL;
    const n = LYi(l, LY_N);
    const m = LYi(l, LY_M);
    const ldn = LVi(l - 1, LV_LD);
    const ldm = LVi(l, LV_LD);
    if (thin(m)) {
      gemmDot(B, m, ldn >> 2, LV(l - 1, LV_A), ldn, LY(l, LY_WT), ldn, LV(l, LV_A), ldm, LY(l, LY_C));
    } else {
      gemmBias(B, ldm >> 2, n, LV(l - 1, LV_A), ldn, LY(l, LY_W), ldm, LV(l, LV_A), ldm, LY(l, LY_C));
    }
  }
  // VJP: v_{l-1} = u_l W_l^T, u_{l-1} = v_{l-1} * d_{l-1}
  for (let l = nL; l >= 2; l--) {
    const m = LYi(l, LY_M);
    const ldn = LVi(l - 1, LV_LD);
    const ldm = LVi(l, LV_LD);
    gemmMulD(B, ldn >> 2, m, LV(l, LV_U), ldm, LY(l, LY_WT), ldn, LV(l - 1, LV_V), ldn, LV(l - 1, LV_D), LV(l - 1, LV_U));
  }
  {
    const n = LYi(1, LY_N);
    const m = LYi(1, LY_M);
    const ldm = LVi(1, LV_LD);
    if (thin(n)) {
      gemmDot(B, n, ldm >> 2, LV(1, LV_U), ldm, LY(1, LY_W), ldm, LV(0, LV_V), ld0, 0);
    } else {
      gemmStore(B, ld0 >> 2, m, LV(1, LV_U), ldm, 1, LY(1, LY_WT), ld0, LV(0, LV_V), ld0);
    }
  }
  const F = LV(nL, LV_A);
  const G = LV(0, LV_V);
  const E = LV(nL, LV_U);
  for (let b = 0; b < B; b++) {
    const ro = (<usize>b * <usize>ld0) << 2;
    let dv: f32 = 0;
    let kn: f32 = 0;
    let fr: f32 = 0;
    for (let j = 0; j < D; j++) {
      const o = ro + (<usize>j << 2);
      const fv = load<f32>(F + o);
      const gv = load<f32>(G + o);
      dv += gv * load<f32>(E + o);
      kn += fv * fv;
      fr += gv * gv;
    }
    const bo = <usize>b << 2;
    store<f32>(divp + bo, dv);
    store<f32>(kinp + bo, kn);
    store<f32>(frobp + bo, fr);
  }
  unpack(F, fc, B, D, ld0);
  unpack(G, gc, B, D, ld0);
}

const WG_CHUNK: i32 = 64;

/** Weight gradient of layer l: dW(t) += X^T Y over the batch (X [B, n], Y [B, m]). */
function wgrad(l: i32, X: usize, Y: usize, B: i32): void {
  const n = LYi(l, LY_N);
  const m = LYi(l, LY_M);
  const ldn = LVi(l - 1, LV_LD);
  const ldm = LVi(l, LV_LD);
  const trans = LYi(l, LY_GT);
  // the batch in chunks of WG_CHUNK rows: a chunk of X and Y stays in L1 across the tiles
  for (let b0 = 0; b0 < B; b0 += WG_CHUNK) {
    const kb = min(WG_CHUNK, B - b0);
    const xb = X + ((<usize>b0 * <usize>ldn) << 2);
    const yb = Y + ((<usize>b0 * <usize>ldm) << 2);
    if (trans) {
      gemmAcc(m, ldn >> 2, kb, yb, 1, ldm, xb, ldn, LY(l, LY_GW), ldn);
    } else {
      gemmAcc(n, ldm >> 2, kb, xb, 1, ldn, yb, ldm, LY(l, LY_GW), ldm);
    }
  }
}

/** out[ld] += column sums of S [B, ld]: 4 column vectors per pass (independent add chains). */
function colsum(S: usize, ld: i32, B: i32, out: usize): void {
  const ld4 = <usize>ld << 2;
  let jv = 0;
  for (; jv + 16 <= ld; jv += 16) {
    const jo = <usize>jv << 2;
    let a0 = v128.load(out + jo);
    let a1 = v128.load(out + jo + 16);
    let a2 = v128.load(out + jo + 32);
    let a3 = v128.load(out + jo + 48);
    let p = S + jo;
    for (let b = 0; b < B; b++) {
      a0 = f32x4.add(a0, v128.load(p));
      a1 = f32x4.add(a1, v128.load(p, 16));
      a2 = f32x4.add(a2, v128.load(p, 32));
      a3 = f32x4.add(a3, v128.load(p, 48));
      p += ld4;
    }
    v128.store(out + jo, a0);
    v128.store(out + jo + 16, a1);
    v128.store(out + jo + 32, a2);
    v128.store(out + jo + 48, a3);
  }
  for (; jv < ld; jv += 4) {
    const jo = <usize>jv << 2;
    let a0 = v128.load(out + jo);
    let a1 = f32x4.splat(0);
    let p = S + jo;
    let b = 0;
    for (; b + 2 <= B; b += 2) {
      a0 = f32x4.add(a0, v128.load(p));
      a1 = f32x4.add(a1, v128.load(p + ld4));
      p += ld4 << 1;
    }
    if (b < B) a0 = f32x4.add(a0, v128.load(p));
    v128.store(out + jo, f32x4.add(a0, a1));
  }
}

/** dL/dtheta from dL/dW(t), dL/dc(t). */
function chain(t: f64): void {
  for (let l = 1; l <= nL; l++) {
    const n = LYi(l, LY_N);
    const m = LYi(l, LY_M);
    const ldn = <usize>ceil4(n);
    const ldm = <usize>ceil4(m);
    const trans = LYi(l, LY_GT);
    const gW = LY(l, LY_GW);
    const gC = LY(l, LY_GC);
    const g = LY(l, LY_G);
    const tW = theta + LY(l, LY_TW);
    const dW = dtheta + LY(l, LY_TW);
    const dB = dtheta + LY(l, LY_TB);
    const tB = theta + LY(l, LY_TB);
    const cs = kind == KIND_CONCATSQUASH;
    // gbar_j = sum_i W_ij dW(t)_ij + b_j dc_j (f32 accumulators)
    const gb = tmpf;
    if (cs) {
      for (let j = 0; j < m; j++) {
        const jo = <usize>j << 2;
        store<f32>(gb + jo, load<f32>(tB + jo) * load<f32>(gC + jo));
      }
    }
    const m4 = trans ? 0 : m & ~3;
    for (let i = 0; i < n; i++) {
      const ro = (<usize>i * <usize>m) << 2;
      const go = (<usize>i * ldm) << 2;
      for (let j = 0; j < m4; j += 4) {
        const jo = <usize>j << 2;
        const gw = v128.load(gW + go + jo);
        if (cs) {
          v128.store(dW + ro + jo, f32x4.mul(gw, v128.load(g + jo)));
          v128.store(gb + jo, madd(v128.load(tW + ro + jo), gw, v128.load(gb + jo)));
        } else {
          v128.store(dW + ro + jo, gw);
        }
      }
      for (let j = m4; j < m; j++) {
        const jo = <usize>j << 2;
        const gw = trans ? load<f32>(gW + ((<usize>j * ldn + <usize>i) << 2)) : load<f32>(gW + go + jo);
        if (cs) {
          store<f32>(dW + ro + jo, gw * load<f32>(g + jo));
          store<f32>(gb + jo, load<f32>(gb + jo) + load<f32>(tW + ro + jo) * gw);
        } else {
          store<f32>(dW + ro + jo, gw);
        }
      }
    }
    for (let j = 0; j < m; j++) {
      const jo = <usize>j << 2;
      const cb = <f64>load<f32>(gC + jo);
      if (cs) {
        const gj = <f64>load<f32>(g + jo);
        const gbar = <f64>load<f32>(gb + jo);
        const sp = gj * (1.0 - gj);
        store<f32>(dB + jo, <f32>(cb * gj));
        store<f32>(dtheta + LY(l, LY_T1) + jo, <f32>(t * sp * gbar));
        store<f32>(dtheta + LY(l, LY_T2) + jo, <f32>(sp * gbar));
        store<f32>(dtheta + LY(l, LY_T3) + jo, <f32>(t * cb));
      } else {
        store<f32>(dB + jo, <f32>cb);
        if (kind == KIND_CONCAT) store<f32>(dtheta + LY(l, LY_T1) + jo, <f32>(t * cb));
      }
    }
  }
}

/**
 * Exact VJP of (f, g, div, kin, frob) at the activations of the latest `forward` (same t, B):
 * reads the cotangents from their staging buffers (the host zero-fills missing ones), writes
 * dz [B, D] and dtheta [P].
 */
export function backward(t: f64, B: i32): void {
  const ld0 = LVi(0, LV_LD);
  const F = LV(nL, LV_A);
  const G = LV(0, LV_V);
  const E = LV(nL, LV_U);
  const Fb = LV(nL, LV_SB);
  const Gb = LV(0, LV_VB);
  for (let b = 0; b < B; b++) {
    const ro = (<usize>b * <usize>ld0) << 2;
    const co = (<usize>b * <usize>D) << 2;
    const bo = <usize>b << 2;
    const k2: f32 = <f32>2 * load<f32>(ckinp + bo);
    const f2: f32 = <f32>2 * load<f32>(cfrobp + bo);
    const cd = load<f32>(cdivp + bo);
    for (let j = 0; j < D; j++) {
      const o = ro + (<usize>j << 2);
      const q = co + (<usize>j << 2);
      store<f32>(Fb + o, load<f32>(cfc + q) + k2 * load<f32>(F + o));
      store<f32>(Gb + o, load<f32>(cgc + q) + cd * load<f32>(E + o) + f2 * load<f32>(G + o));
    }
  }
  for (let l = 1; l <= nL; l++) {
    const n = LYi(l, LY_N);
    const m = LYi(l, LY_M);
    const bytes = LYi(l, LY_GT) ? <usize>m * <usize>ceil4(n) * 4 : <usize>n * <usize>ceil4(m) * 4;
    memory.fill(LY(l, LY_GW), 0, bytes);
    memory.fill(LY(l, LY_GC), 0, <usize>ceil4(m) * 4);
  }
  // reverse of the VJP pass, l = 1..L
  for (let l = 1; l < nL; l++) {
    const n = LYi(l, LY_N);
    const ldn = LVi(l - 1, LV_LD);
    const ldm = LVi(l, LV_LD);
    gemmRbar(B, ldm >> 2, n, LV(l - 1, LV_VB), ldn, LY(l, LY_W), ldm, LV(l, LV_SB), ldm,
      LV(l, LV_D), LV(l, LV_A), LV(l, LV_V), LV(l, LV_VB));
    wgrad(l, LV(l - 1, LV_VB), LV(l, LV_U), B);
  }
  wgrad(nL, LV(nL - 1, LV_VB), E, B);
  // reverse of the forward pass, l = L..1
  for (let l = nL; l >= 1; l--) {
    const m = LYi(l, LY_M);
    const ldn = LVi(l - 1, LV_LD);
    const ldm = LVi(l, LV_LD);
    const Sb = LV(l, LV_SB);
    wgrad(l, LV(l - 1, LV_A), Sb, B);
    colsum(Sb, ldm, B, LY(l, LY_GC));
    if (l >= 2) {
      gemmAbar(B, ldn >> 2, m, Sb, ldm, LY(l, LY_WT), ldn, LV(l - 1, LV_SB), ldn, LV(l - 1, LV_D));
    } else {
      const n = LYi(1, LY_N);
      if (thin(n)) {
        gemmDot(B, n, ldm >> 2, Sb, ldm, LY(1, LY_W), ldm, LV(0, LV_SB), ld0, 0);
      } else {
        gemmStore(B, ld0 >> 2, m, Sb, ldm, 1, LY(1, LY_WT), ld0, LV(0, LV_SB), ld0);
      }
    }
  }
  chain(t);
  unpack(LV(0, LV_SB), dzc, B, D, ld0);
}
