// wasm-SIMD kernels for stride-1 2-D convolutions in NHWC, for one wasm thread: the forward
// convolution (which is also the input gradient, with the flipped, transposed filter) and the
// filter gradient, as register-blocked implicit GEMMs (no im2col), plus softplus. Compiled
// twice by scripts/build-wasm-kernels.mjs: `simd` (f32x4 mul + add) and `relaxed`
// (f32x4.relaxed_madd: fused multiply-add where the CPU has it). The TypeScript wrapper, which
// pads and copies tensors in and out one image at a time, is src/backends/wasm-conv.ts.
//
// Layouts (all f32, row-major, whole f32x4 vectors everywhere):
//   x  [Hp, Wp, ci4]       one image, zero-padded spatially (the caller writes the halo) and in
//                          channels to ci4 = ceil4(cIn)
//   w  [fh, fw, ci4, co8]  the filter, zero-padded to co8 = ceil8(cOut) output channels
//   y  [Ho, Wo, co8]       Ho = Hp − fh + 1, Wo = Wp − fw + 1
//   dy [Ho, Wo, co8]       the output gradient of one image (padding lanes zero)
//   dw [fh, fw, ci4, co8]  the filter gradient, accumulated over the images of a call sequence

@inline function madd(a: v128, b: v128, c: v128): v128 {
  if (ASC_FEATURE_RELAXED_SIMD) {
    return f32x4.relaxed_madd(a, b, c);
  } else {
    return f32x4.add(f32x4.mul(a, b), c);
  }
}

/** The first free byte (64-aligned); the caller lays its buffers out from here and grows memory. */
export function heapBase(): usize {
  return (__heap_base + 63) & ~(<usize>63);
}

/** Grows memory to at least `bytes`; returns false when the engine refuses. */
export function ensureMemory(bytes: usize): bool {
  const have = <usize>memory.size() << 16;
  if (bytes <= have) return true;
  const pages = <i32>((bytes - have + 0xffff) >> 16);
  return memory.grow(pages) >= 0;
}

// ---------------------------------------------------------------- forward convolution

/**
 * y[oh, ow, :] = Σ_{i, j, c} x[oh + i, ow + j, c] · w[i, j, c, :] for one image.
 * Micro-tile: 4 output pixels × 8 output channels (8 accumulators); the k loop runs over the
 * taps and input channels. The 4 pixels are consecutive in the flattened output (a tile may
 * cross a row, so 7×7 and 14×14 planes need no one-pixel remainder passes); each has its own
 * input pointer. The filter slice of one 8-channel block stays in L1 while the image streams
 * past it.
 */
export function conv(x: usize, w: usize, y: usize, Hp: i32, Wp: i32, ci4: i32, fh: i32, fw: i32, co8: i32): void {
  const Ho = Hp - fh + 1;
  const Wo = Wp - fw + 1;
  const P = Ho * Wo;
  const xRow = <usize>(Wp * ci4) << 2; // bytes per padded input row
  const xPix = <usize>ci4 << 2;
  const wTap = <usize>(ci4 * co8) << 2; // bytes per tap of w
  const wCh = <usize>co8 << 2; // bytes per input channel row of w
  const yPix = <usize>co8 << 2;
  const P4 = P & ~3;
  for (let cb: i32 = 0; cb < co8; cb += 8) {
    const wb = w + (<usize>cb << 2);
    let p: i32 = 0;
    for (; p < P4; p += 4) {
      // input offsets of the 4 pixels' windows (tap 0, channel 0)
      const q0 = p / Wo, q1 = (p + 1) / Wo, q2 = (p + 2) / Wo, q3 = (p + 3) / Wo;
      const o0 = x + <usize>q0 * xRow + <usize>(p - q0 * Wo) * xPix;
      const o1 = x + <usize>q1 * xRow + <usize>(p + 1 - q1 * Wo) * xPix;
      const o2 = x + <usize>q2 * xRow + <usize>(p + 2 - q2 * Wo) * xPix;
      const o3 = x + <usize>q3 * xRow + <usize>(p + 3 - q3 * Wo) * xPix;
      let a00 = f32x4.splat(0), a01 = f32x4.splat(0);
      let a10 = f32x4.splat(0), a11 = f32x4.splat(0);
      let a20 = f32x4.splat(0), a21 = f32x4.splat(0);
      let a30 = f32x4.splat(0), a31 = f32x4.splat(0);
      for (let i: i32 = 0; i < fh; i++) {
        for (let j: i32 = 0; j < fw; j++) {
          const t = <usize>i * xRow + <usize>j * xPix;
          let x0 = o0 + t;
          let x1 = o1 + t;
          let x2 = o2 + t;
          let x3 = o3 + t;
          let wp = wb + <usize>(i * fw + j) * wTap;
          const xe = x0 + xPix;
          for (; x0 < xe; x0 += 4) {
            const b0 = v128.load(wp);
            const b1 = v128.load(wp, 16);
            const s0 = v128.load32_splat(x0);
            const s1 = v128.load32_splat(x1);
            const s2 = v128.load32_splat(x2);
            const s3 = v128.load32_splat(x3);
            a00 = madd(s0, b0, a00);
            a01 = madd(s0, b1, a01);
            a10 = madd(s1, b0, a10);
            a11 = madd(s1, b1, a11);
            a20 = madd(s2, b0, a20);
            a21 = madd(s2, b1, a21);
            a30 = madd(s3, b0, a30);
            a31 = madd(s3, b1, a31);
            x1 += 4;
            x2 += 4;
            x3 += 4;
            wp += wCh;
          }
        }
      }
      const yp = y + <usize>p * yPix + (<usize>cb << 2);
      v128.store(yp, a00);
      v128.store(yp, a01, 16);
      v128.store(yp + yPix, a10);
      v128.store(yp + yPix, a11, 16);
      v128.store(yp + 2 * yPix, a20);
      v128.store(yp + 2 * yPix, a21, 16);
      v128.store(yp + 3 * yPix, a30);
      v128.store(yp + 3 * yPix, a31, 16);
    }
    for (; p < P; p++) {
      const q = p / Wo;
      const o = x + <usize>q * xRow + <usize>(p - q * Wo) * xPix;
      let a0 = f32x4.splat(0), a1 = f32x4.splat(0);
      for (let i: i32 = 0; i < fh; i++) {
        for (let j: i32 = 0; j < fw; j++) {
          let xp = o + <usize>i * xRow + <usize>j * xPix;
          let wp = wb + <usize>(i * fw + j) * wTap;
          const xe = xp + xPix;
          for (; xp < xe; xp += 4) {
            const s0 = v128.load32_splat(xp);
            a0 = madd(s0, v128.load(wp), a0);
            a1 = madd(s0, v128.load(wp, 16), a1);
            wp += wCh;
          }
        }
      }
      const yp = y + <usize>p * yPix + (<usize>cb << 2);
      v128.store(yp, a0);
      v128.store(yp, a1, 16);
    }
  }
}

/** Address of the window of flattened output pixel p (tap 0, channel 0) in the padded input. */
@inline function pixelOffset(x: usize, p: i32, Wo: i32, xRow: usize, xPix: usize): usize {
  const q = p / Wo;
  return x + <usize>q * xRow + <usize>(p - q * Wo) * xPix;
}

// ---------------------------------------------------------------- Winograd F(2×2, 3×3)

/**
 * v[ξ, g·T + t, :] = (Bᵀ d B)[ξ] of the 4×4 window d of tile t of image g of x [images, 2tH + 2,
 * 2tW + 2, ci4] (Bᵀ = [1 0 −1 0; 0 1 1 0; 0 −1 1 0; 0 1 0 −1]).
 */
function winogradInput(x: usize, v: usize, tH: i32, tW: i32, ci4: i32, images: i32): void {
  const T = tH * tW;
  const Wf = 2 * tW + 2;
  const xRow = <usize>(Wf * ci4) << 2;
  const xPix = <usize>ci4 << 2;
  const xImage = <usize>(2 * tH + 2) * xRow;
  const vPlane = <usize>(images * T * ci4) << 2;
  // input transform: Bᵀ d B, Bᵀ = [1 0 −1 0; 0 1 1 0; 0 −1 1 0; 0 1 0 −1]
  for (let ab: i32 = 0; ab < images * T; ab++) {
    const g = ab / T;
    const a = (ab - g * T) / tW;
    const b = ab - g * T - a * tW;
    {
      const t = ab;
      const x0 = x + <usize>g * xImage + <usize>(2 * a) * xRow + <usize>(2 * b) * xPix;
      const vt = v + (<usize>(t * ci4) << 2);
      for (let c: i32 = 0; c < ci4; c += 4) {
        const p0 = x0 + (<usize>c << 2);
        const p1 = p0 + xRow;
        const p2 = p1 + xRow;
        const p3 = p2 + xRow;
        // rows r of d (4 pixels each), then Bᵀ over rows
        const d00 = v128.load(p0), d01 = v128.load(p0 + xPix), d02 = v128.load(p0 + 2 * xPix), d03 = v128.load(p0 + 3 * xPix);
        const d10 = v128.load(p1), d11 = v128.load(p1 + xPix), d12 = v128.load(p1 + 2 * xPix), d13 = v128.load(p1 + 3 * xPix);
        const d20 = v128.load(p2), d21 = v128.load(p2 + xPix), d22 = v128.load(p2 + 2 * xPix), d23 = v128.load(p2 + 3 * xPix);
        const d30 = v128.load(p3), d31 = v128.load(p3 + xPix), d32 = v128.load(p3 + 2 * xPix), d33 = v128.load(p3 + 3 * xPix);
        const e00 = f32x4.sub(d00, d20), e01 = f32x4.sub(d01, d21), e02 = f32x4.sub(d02, d22), e03 = f32x4.sub(d03, d23);
        const e10 = f32x4.add(d10, d20), e11 = f32x4.add(d11, d21), e12 = f32x4.add(d12, d22), e13 = f32x4.add(d13, d23);
        const e20 = f32x4.sub(d20, d10), e21 = f32x4.sub(d21, d11), e22 = f32x4.sub(d22, d12), e23 = f32x4.sub(d23, d13);
        const e30 = f32x4.sub(d10, d30), e31 = f32x4.sub(d11, d31), e32 = f32x4.sub(d12, d32), e33 = f32x4.sub(d13, d33);
        const q = vt + (<usize>c << 2);
        // then B over columns: (u0 − u2, u1 + u2, u2 − u1, u1 − u3); ξ = 4r + s
        v128.store(q, f32x4.sub(e00, e02));
        v128.store(q + vPlane, f32x4.add(e01, e02));
        v128.store(q + 2 * vPlane, f32x4.sub(e02, e01));
        v128.store(q + 3 * vPlane, f32x4.sub(e01, e03));
        v128.store(q + 4 * vPlane, f32x4.sub(e10, e12));
        v128.store(q + 5 * vPlane, f32x4.add(e11, e12));
        v128.store(q + 6 * vPlane, f32x4.sub(e12, e11));
        v128.store(q + 7 * vPlane, f32x4.sub(e11, e13));
        v128.store(q + 8 * vPlane, f32x4.sub(e20, e22));
        v128.store(q + 9 * vPlane, f32x4.add(e21, e22));
        v128.store(q + 10 * vPlane, f32x4.sub(e22, e21));
        v128.store(q + 11 * vPlane, f32x4.sub(e21, e23));
        v128.store(q + 12 * vPlane, f32x4.sub(e30, e32));
        v128.store(q + 13 * vPlane, f32x4.add(e31, e32));
        v128.store(q + 14 * vPlane, f32x4.sub(e32, e31));
        v128.store(q + 15 * vPlane, f32x4.sub(e31, e33));
      }
    }
  }
}

/**
 * The transformed filter of Winograd F(2×2, 3×3): u[ξ = 4r + s, c, :] = (G g Gᵀ)[r, s] of the 3×3
 * filter g = w[:, :, c, :] [3, 3, ci4, co8], G = [1 0 0; ½ ½ ½; ½ −½ ½; 0 0 1], 4 output channels at a time.
 */
export function winogradFilter(w: usize, u: usize, ci4: i32, co8: i32): void {
  const n = <usize>(ci4 * co8) << 2; // bytes per tap of w and per ξ of u
  const half = f32x4.splat(0.5);
  for (let k: usize = 0; k < n; k += 16) {
    const p = w + k;
    const g00 = v128.load(p), g01 = v128.load(p + n), g02 = v128.load(p + 2 * n);
    const g10 = v128.load(p + 3 * n), g11 = v128.load(p + 4 * n), g12 = v128.load(p + 5 * n);
    const g20 = v128.load(p + 6 * n), g21 = v128.load(p + 7 * n), g22 = v128.load(p + 8 * n);
    // G g: rows (g0, ½(g0 + g1 + g2), ½(g0 − g1 + g2), g2) of the 3 columns
    const s0 = f32x4.add(g00, g20), s1 = f32x4.add(g01, g21), s2 = f32x4.add(g02, g22);
    const h00 = g00, h01 = g01, h02 = g02;
    const h10 = f32x4.mul(f32x4.add(s0, g10), half), h11 = f32x4.mul(f32x4.add(s1, g11), half), h12 = f32x4.mul(f32x4.add(s2, g12), half);
    const h20 = f32x4.mul(f32x4.sub(s0, g10), half), h21 = f32x4.mul(f32x4.sub(s1, g11), half), h22 = f32x4.mul(f32x4.sub(s2, g12), half);
    const h30 = g20, h31 = g21, h32 = g22;
    // (G g) Gᵀ: each row (a, b, c) → (a, ½(a + b + c), ½(a − b + c), c)
    const q = u + k;
    let t = f32x4.add(h00, h02);
    v128.store(q, h00);
    v128.store(q + n, f32x4.mul(f32x4.add(t, h01), half));
    v128.store(q + 2 * n, f32x4.mul(f32x4.sub(t, h01), half));
    v128.store(q + 3 * n, h02);
    t = f32x4.add(h10, h12);
    v128.store(q + 4 * n, h10);
    v128.store(q + 5 * n, f32x4.mul(f32x4.add(t, h11), half));
    v128.store(q + 6 * n, f32x4.mul(f32x4.sub(t, h11), half));
    v128.store(q + 7 * n, h12);
    t = f32x4.add(h20, h22);
    v128.store(q + 8 * n, h20);
    v128.store(q + 9 * n, f32x4.mul(f32x4.add(t, h21), half));
    v128.store(q + 10 * n, f32x4.mul(f32x4.sub(t, h21), half));
    v128.store(q + 11 * n, h22);
    t = f32x4.add(h30, h32);
    v128.store(q + 12 * n, h30);
    v128.store(q + 13 * n, f32x4.mul(f32x4.add(t, h31), half));
    v128.store(q + 14 * n, f32x4.mul(f32x4.sub(t, h31), half));
    v128.store(q + 15 * n, h32);
  }
}

/**
 * The 3×3 convolution of one image by Winograd's minimal filtering F(2×2, 3×3) (Lavin & Gray
 * 2016): Y = Aᵀ[(G g Gᵀ) ⊙ (Bᵀ d B)]A per 2×2 output tile, i.e. 16 GEMMs [T tiles × ci4] ·
 * [ci4 × co8] (the `conv` micro-kernel as a 1×1 convolution) between an input and an output
 * transform: 2.25× fewer multiplications than `conv`.
 *   x [images, 2tH + 2, 2tW + 2, ci4]  the placed images (zero-padded to whole tiles)
 *   u [16, ci4, co8]                   the transformed filter G g Gᵀ (by the caller)
 *   v [16, images·T, ci4], m [16, images·T, co8]  scratch (T = tH·tW)
 *   y [images, Ho, Wo, co8]            Ho ≤ 2tH, Wo ≤ 2tW
 * Several small images per call make the GEMMs tall enough to keep the micro-kernel busy.
 */
export function convWinograd(x: usize, u: usize, v: usize, m: usize, y: usize, tH: i32, tW: i32, ci4: i32, co8: i32, Ho: i32, Wo: i32, images: i32): void {
  const T = tH * tW;
  const vPlane = <usize>(images * T * ci4) << 2; // bytes per ξ of v
  const mPlane = <usize>(images * T * co8) << 2;
  winogradInput(x, v, tH, tW, ci4, images);
  // the 16 GEMMs: m[ξ] = v[ξ] · u[ξ] (images·T "pixels" of a 1×1 convolution)
  const uPlane = <usize>(ci4 * co8) << 2;
  for (let xi: i32 = 0; xi < 16; xi++) {
    conv(v + <usize>xi * vPlane, u + <usize>xi * uPlane, m + <usize>xi * mPlane, 1, images * T, ci4, 1, 1, co8);
  }
  // output transform: Aᵀ m A, Aᵀ = [1 1 1 0; 0 1 −1 −1]
  const yRow = <usize>(Wo * co8) << 2;
  const yPix = <usize>co8 << 2;
  const yImage = <usize>Ho * yRow;
  for (let ab: i32 = 0; ab < images * T; ab++) {
    const g = ab / T;
    const a = (ab - g * T) / tW;
    const b = ab - g * T - a * tW;
    {
      const t = ab;
      const mt = m + (<usize>(t * co8) << 2);
      const y0 = y + <usize>g * yImage + <usize>(2 * a) * yRow + <usize>(2 * b) * yPix;
      const row2 = 2 * a + 1 < Ho;
      const col2 = 2 * b + 1 < Wo;
      for (let o: i32 = 0; o < co8; o += 4) {
        const q = mt + (<usize>o << 2);
        const m0 = v128.load(q), m1 = v128.load(q + mPlane), m2 = v128.load(q + 2 * mPlane), m3 = v128.load(q + 3 * mPlane);
        const m4 = v128.load(q + 4 * mPlane), m5 = v128.load(q + 5 * mPlane), m6 = v128.load(q + 6 * mPlane), m7 = v128.load(q + 7 * mPlane);
        const m8 = v128.load(q + 8 * mPlane), m9 = v128.load(q + 9 * mPlane), m10 = v128.load(q + 10 * mPlane), m11 = v128.load(q + 11 * mPlane);
        const m12 = v128.load(q + 12 * mPlane), m13 = v128.load(q + 13 * mPlane), m14 = v128.load(q + 14 * mPlane), m15 = v128.load(q + 15 * mPlane);
        // Aᵀ over rows: r0 = row0 + row1 + row2, r1 = row1 − row2 − row3 (each 4 columns)
        const r00 = f32x4.add(f32x4.add(m0, m4), m8), r01 = f32x4.add(f32x4.add(m1, m5), m9);
        const r02 = f32x4.add(f32x4.add(m2, m6), m10), r03 = f32x4.add(f32x4.add(m3, m7), m11);
        const r10 = f32x4.sub(f32x4.sub(m4, m8), m12), r11 = f32x4.sub(f32x4.sub(m5, m9), m13);
        const r12 = f32x4.sub(f32x4.sub(m6, m10), m14), r13 = f32x4.sub(f32x4.sub(m7, m11), m15);
        const p = y0 + (<usize>o << 2);
        v128.store(p, f32x4.add(f32x4.add(r00, r01), r02));
        if (col2) v128.store(p + yPix, f32x4.sub(f32x4.sub(r01, r02), r03));
        if (row2) {
          v128.store(p + yRow, f32x4.add(f32x4.add(r10, r11), r12));
          if (col2) v128.store(p + yRow + yPix, f32x4.sub(f32x4.sub(r11, r12), r13));
        }
      }
    }
  }
}

// ---------------------------------------------------------------- filter gradient

/**
 * dw[i, j, c, :] += Σ_{oh, ow} x[oh + i, ow + j, c] · dy[oh, ow, :] for one image.
 * Micro-tile: 4 input channels × 8 output channels of one tap (8 accumulators, loaded from and
 * stored back to dw once per band); the k loop runs over the pixels of a band of `band` output
 * rows, so the band of x and dy stays in L2 while every tap and channel block passes over it.
 */
export function convFilterGrad(x: usize, dy: usize, dw: usize, Hp: i32, Wp: i32, ci4: i32, fh: i32, fw: i32, co8: i32, band: i32): void {
  const Ho = Hp - fh + 1;
  const Wo = Wp - fw + 1;
  const xRow = <usize>(Wp * ci4) << 2;
  const xPix = <usize>ci4 << 2;
  const dyRow = <usize>(Wo * co8) << 2;
  const dyPix = <usize>co8 << 2;
  const wTap = <usize>(ci4 * co8) << 2;
  const wCh = <usize>co8 << 2;
  for (let h0: i32 = 0; h0 < Ho; h0 += band) {
    const h1 = min(h0 + band, Ho);
    for (let i: i32 = 0; i < fh; i++) {
      for (let j: i32 = 0; j < fw; j++) {
        const wt = dw + <usize>(i * fw + j) * wTap;
        for (let c: i32 = 0; c < ci4; c += 4) {
          const xc = x + <usize>i * xRow + <usize>j * xPix + (<usize>c << 2);
          for (let cb: i32 = 0; cb < co8; cb += 8) {
            const wp = wt + <usize>c * wCh + (<usize>cb << 2);
            let a00 = v128.load(wp), a01 = v128.load(wp, 16);
            let a10 = v128.load(wp + wCh), a11 = v128.load(wp + wCh, 16);
            let a20 = v128.load(wp + 2 * wCh), a21 = v128.load(wp + 2 * wCh, 16);
            let a30 = v128.load(wp + 3 * wCh), a31 = v128.load(wp + 3 * wCh, 16);
            for (let oh: i32 = h0; oh < h1; oh++) {
              let xp = xc + <usize>oh * xRow;
              let dp = dy + <usize>oh * dyRow + (<usize>cb << 2);
              const de = dp + dyRow;
              for (; dp < de; dp += dyPix) {
                const b0 = v128.load(dp);
                const b1 = v128.load(dp, 16);
                const x0 = v128.load32_splat(xp);
                const x1 = v128.load32_splat(xp, 4);
                const x2 = v128.load32_splat(xp, 8);
                const x3 = v128.load32_splat(xp, 12);
                a00 = madd(x0, b0, a00);
                a01 = madd(x0, b1, a01);
                a10 = madd(x1, b0, a10);
                a11 = madd(x1, b1, a11);
                a20 = madd(x2, b0, a20);
                a21 = madd(x2, b1, a21);
                a30 = madd(x3, b0, a30);
                a31 = madd(x3, b1, a31);
                xp += xPix;
              }
            }
            v128.store(wp, a00);
            v128.store(wp, a01, 16);
            v128.store(wp + wCh, a10);
            v128.store(wp + wCh, a11, 16);
            v128.store(wp + 2 * wCh, a20);
            v128.store(wp + 2 * wCh, a21, 16);
            v128.store(wp + 3 * wCh, a30);
            v128.store(wp + 3 * wCh, a31, 16);
          }
        }
      }
    }
  }
}

/**
 * The filter gradient of a 3×3 convolution for one image by Winograd F(3×3, 2×2): for each 2×2
 * tile of dy and the 4×4 window of x under it, dW += Gᵀ[(A dy Aᵀ) ⊙ (Bᵀ x B)]G, so the 16
 * transformed planes accumulate w[ξ] += Σ_t v[ξ, t, :]ᵀ m[ξ, t, :] (the `convFilterGrad` micro-kernel
 * with the tiles as pixels) and the caller applies Gᵀ · G once after the last image
 * (A = [1 0; 1 1; 1 −1; 0 −1], Gᵀ = [1 ½ ½ 0; 0 ½ −½ 0; 0 ½ ½ 1]).
 *   x [images, 2tH + 2, 2tW + 2, ci4]  the placed images; dy [images, Ho, Wo, co8] (outside: zero)
 *   v [16, images·T, ci4], m [16, images·T, co8]  scratch;  w [16, ci4, co8] accumulated
 */
export function convFilterGradWinograd(x: usize, dy: usize, v: usize, m: usize, w: usize, tH: i32, tW: i32, ci4: i32, co8: i32, Ho: i32, Wo: i32, images: i32): void {
  const T = tH * tW;
  winogradInput(x, v, tH, tW, ci4, images);
  const mPlane = <usize>(images * T * co8) << 2;
  const dyRow = <usize>(Wo * co8) << 2;
  const dyPix = <usize>co8 << 2;
  const dyImage = <usize>Ho * dyRow;
  const zero = f32x4.splat(0);
  for (let ab: i32 = 0; ab < images * T; ab++) {
    const g = ab / T;
    const a = (ab - g * T) / tW;
    const b = ab - g * T - a * tW;
    {
      const t = ab;
      const d0 = dy + <usize>g * dyImage + <usize>(2 * a) * dyRow + <usize>(2 * b) * dyPix;
      const row2 = 2 * a + 1 < Ho;
      const col2 = 2 * b + 1 < Wo;
      const q0 = m + (<usize>(t * co8) << 2);
      for (let o: i32 = 0; o < co8; o += 4) {
        const p = d0 + (<usize>o << 2);
        const g00 = v128.load(p);
        const g01 = col2 ? v128.load(p + dyPix) : zero;
        const g10 = row2 ? v128.load(p + dyRow) : zero;
        const g11 = row2 && col2 ? v128.load(p + dyRow + dyPix) : zero;
        // A over rows: (g0, g0 + g1, g0 − g1, −g1), then over columns the same
        const r10 = f32x4.add(g00, g10), r11 = f32x4.add(g01, g11);
        const r20 = f32x4.sub(g00, g10), r21 = f32x4.sub(g01, g11);
        const r30 = f32x4.neg(g10), r31 = f32x4.neg(g11);
        const q = q0 + (<usize>o << 2);
        v128.store(q, g00);
        v128.store(q + mPlane, f32x4.add(g00, g01));
        v128.store(q + 2 * mPlane, f32x4.sub(g00, g01));
        v128.store(q + 3 * mPlane, f32x4.neg(g01));
        v128.store(q + 4 * mPlane, r10);
        v128.store(q + 5 * mPlane, f32x4.add(r10, r11));
        v128.store(q + 6 * mPlane, f32x4.sub(r10, r11));
        v128.store(q + 7 * mPlane, f32x4.neg(r11));
        v128.store(q + 8 * mPlane, r20);
        v128.store(q + 9 * mPlane, f32x4.add(r20, r21));
        v128.store(q + 10 * mPlane, f32x4.sub(r20, r21));
        v128.store(q + 11 * mPlane, f32x4.neg(r21));
        v128.store(q + 12 * mPlane, r30);
        v128.store(q + 13 * mPlane, f32x4.add(r30, r31));
        v128.store(q + 14 * mPlane, f32x4.sub(r30, r31));
        v128.store(q + 15 * mPlane, f32x4.neg(r31));
      }
    }
  }
  const vPlane = <usize>(images * T * ci4) << 2;
  const wPlane = <usize>(ci4 * co8) << 2;
  for (let xi: i32 = 0; xi < 16; xi++) {
    convFilterGrad(v + <usize>xi * vPlane, m + <usize>xi * mPlane, w + <usize>xi * wPlane, 1, images * T, ci4, 1, 1, co8, 1);
  }
}

/**
 * The filter gradient from its 16 Winograd planes: dw[i, j, c, :] = Σ_{r,s} Gᵀ[i, r] Gᵀ[j, s] w[4r + s, c, :]
 * (Gᵀ = [1 ½ ½ 0; 0 ½ −½ 0; 0 ½ ½ 1]); w [16, ci4, co8] → dw [3, 3, ci4, co8], 4 channels at a time.
 */
export function winogradFilterGradOutput(w: usize, dw: usize, ci4: i32, co8: i32): void {
  const n = <usize>(ci4 * co8) << 2;
  const half = f32x4.splat(0.5);
  for (let k: usize = 0; k < n; k += 16) {
    const p = w + k;
    // rows of Gᵀ applied over r: t_i[s] for i = 0..2, s = 0..3
    const w0 = v128.load(p), w1 = v128.load(p + n), w2 = v128.load(p + 2 * n), w3 = v128.load(p + 3 * n);
    const w4 = v128.load(p + 4 * n), w5 = v128.load(p + 5 * n), w6 = v128.load(p + 6 * n), w7 = v128.load(p + 7 * n);
    const w8 = v128.load(p + 8 * n), w9 = v128.load(p + 9 * n), w10 = v128.load(p + 10 * n), w11 = v128.load(p + 11 * n);
    const w12 = v128.load(p + 12 * n), w13 = v128.load(p + 13 * n), w14 = v128.load(p + 14 * n), w15 = v128.load(p + 15 * n);
    // i = 0: w_r0 + ½(w_r1 + w_r2); i = 1: ½(w_r1 − w_r2); i = 2: ½(w_r1 + w_r2) + w_r3 (r = row index of ξ)
    const a0 = f32x4.mul(f32x4.add(w4, w8), half), a1 = f32x4.mul(f32x4.add(w5, w9), half);
    const a2 = f32x4.mul(f32x4.add(w6, w10), half), a3 = f32x4.mul(f32x4.add(w7, w11), half);
    const t00 = f32x4.add(w0, a0), t01 = f32x4.add(w1, a1), t02 = f32x4.add(w2, a2), t03 = f32x4.add(w3, a3);
    const t10 = f32x4.mul(f32x4.sub(w4, w8), half), t11 = f32x4.mul(f32x4.sub(w5, w9), half);
    const t12 = f32x4.mul(f32x4.sub(w6, w10), half), t13 = f32x4.mul(f32x4.sub(w7, w11), half);
    const t20 = f32x4.add(a0, w12), t21 = f32x4.add(a1, w13), t22 = f32x4.add(a2, w14), t23 = f32x4.add(a3, w15);
    // then over s, the same three combinations
    const q = dw + k;
    let b = f32x4.mul(f32x4.add(t01, t02), half);
    v128.store(q, f32x4.add(t00, b));
    v128.store(q + n, f32x4.mul(f32x4.sub(t01, t02), half));
    v128.store(q + 2 * n, f32x4.add(b, t03));
    b = f32x4.mul(f32x4.add(t11, t12), half);
    v128.store(q + 3 * n, f32x4.add(t10, b));
    v128.store(q + 4 * n, f32x4.mul(f32x4.sub(t11, t12), half));
    v128.store(q + 5 * n, f32x4.add(b, t13));
    b = f32x4.mul(f32x4.add(t21, t22), half);
    v128.store(q + 6 * n, f32x4.add(t20, b));
    v128.store(q + 7 * n, f32x4.mul(f32x4.sub(t21, t22), half));
    v128.store(q + 8 * n, f32x4.add(b, t23));
  }
}

// ---------------------------------------------------------------- softplus

// f32x4 constants, loaded from memory (V8 materialises a v128 immediate with several
// instructions inside every loop iteration; a load from this table is one).
const KTAB: usize = memory.data<f32>([
  -87.0, -87.0, -87.0, -87.0, // K_LO: exp(v) for v ≥ −87 keeps 2^n normal
  1.4426950408889634, 1.4426950408889634, 1.4426950408889634, 1.4426950408889634, // K_LOG2E
  12583039.0, 12583039.0, 12583039.0, 12583039.0, // K_MAGIC: 1.5·2^23 + 127
  -0.693359375, -0.693359375, -0.693359375, -0.693359375, // K_LN2HI (negated)
  2.12194440e-4, 2.12194440e-4, 2.12194440e-4, 2.12194440e-4, // K_LN2LO (negated: −(−2.12194440e−4))
  1.9875691500e-4, 1.9875691500e-4, 1.9875691500e-4, 1.9875691500e-4, // K_E5
  1.3981999507e-3, 1.3981999507e-3, 1.3981999507e-3, 1.3981999507e-3, // K_E4
  8.3334519073e-3, 8.3334519073e-3, 8.3334519073e-3, 8.3334519073e-3, // K_E3
  4.1665795894e-2, 4.1665795894e-2, 4.1665795894e-2, 4.1665795894e-2, // K_E2
  1.6666665459e-1, 1.6666665459e-1, 1.6666665459e-1, 1.6666665459e-1, // K_E1
  5.0000001201e-1, 5.0000001201e-1, 5.0000001201e-1, 5.0000001201e-1, // K_E0
  1.0, 1.0, 1.0, 1.0, // K_ONE
  2.0, 2.0, 2.0, 2.0, // K_TWO
  -0.0, -0.0, -0.0, -0.0, // K_SIGN
  0.0666666666666666667, 0.0666666666666666667, 0.0666666666666666667, 0.0666666666666666667, // K_A7 = 1/15
  0.0769230769230769231, 0.0769230769230769231, 0.0769230769230769231, 0.0769230769230769231, // K_A6 = 1/13
  0.0909090909090909091, 0.0909090909090909091, 0.0909090909090909091, 0.0909090909090909091, // K_A5 = 1/11
  0.111111111111111111, 0.111111111111111111, 0.111111111111111111, 0.111111111111111111, // K_A4 = 1/9
  0.142857142857142857, 0.142857142857142857, 0.142857142857142857, 0.142857142857142857, // K_A3 = 1/7
  0.2, 0.2, 0.2, 0.2, // K_A2 = 1/5
  0.333333333333333333, 0.333333333333333333, 0.333333333333333333, 0.333333333333333333, // K_A1 = 1/3
  0.0, 0.0, 0.0, 0.0, // K_ZERO
], 16);
const K_LO: usize = 0;
const K_LOG2E: usize = 16;
const K_MAGIC: usize = 32;
const K_LN2HI: usize = 48;
const K_LN2LO: usize = 64;
const K_E5: usize = 80;
const K_E4: usize = 96;
const K_E3: usize = 112;
const K_E2: usize = 128;
const K_E1: usize = 144;
const K_E0: usize = 160;
const K_ONE: usize = 176;
const K_TWO: usize = 192;
const K_SIGN: usize = 208;
const K_A7: usize = 224;
const K_A6: usize = 240;
const K_A5: usize = 256;
const K_A4: usize = 272;
const K_A3: usize = 288;
const K_A2: usize = 304;
const K_A1: usize = 320;
const K_ZERO: usize = 336;
@inline function kv(off: usize): v128 {
  return v128.load(KTAB + off);
}

/**
 * softplus on f32x4: max(x, 0) + log1p(e), e = exp(−|x|) ∈ (0, 1].
 * exp: v = max(−|x|, −87) = n ln2 + r (Cody–Waite, n from the magic-number rounding, |r| ≤ ln2/2),
 * exp(r) = 1 + r + r² E(r) (Cephes expf's degree-5 E), 2^n built in the exponent bits.
 * log1p(e) = 2 atanh(s) = 2s (1 + s²/3 + … + s¹⁴/15), s = e / (2 + e) ≤ 1/3 (series truncation
 * < 2e−8 relative), exact in relative terms also for tiny e. NaN propagates (through max); +inf
 * gives +inf; −inf gives exp(−87) ≈ 1.6e−38.
 */
@inline function softplus4(x: v128): v128 {
  const v = f32x4.max(v128.or(x, kv(K_SIGN)), kv(K_LO)); // −|x|, clamped
  const magic = kv(K_MAGIC);
  const t = madd(v, kv(K_LOG2E), magic);
  const n = f32x4.sub(t, magic);
  let r = madd(n, kv(K_LN2HI), v);
  r = madd(n, kv(K_LN2LO), r);
  let p = madd(r, kv(K_E5), kv(K_E4));
  p = madd(p, r, kv(K_E3));
  p = madd(p, r, kv(K_E2));
  p = madd(p, r, kv(K_E1));
  p = madd(p, r, kv(K_E0));
  const er = f32x4.add(madd(f32x4.mul(r, r), p, r), kv(K_ONE));
  const e = f32x4.mul(er, i32x4.shl(t, 23)); // exp(r) · 2^n
  const s = f32x4.div(e, f32x4.add(e, kv(K_TWO)));
  const s2 = f32x4.mul(s, s);
  let q = madd(s2, kv(K_A7), kv(K_A6));
  q = madd(q, s2, kv(K_A5));
  q = madd(q, s2, kv(K_A4));
  q = madd(q, s2, kv(K_A3));
  q = madd(q, s2, kv(K_A2));
  q = madd(q, s2, kv(K_A1));
  q = madd(q, s2, kv(K_ONE));
  const l = f32x4.mul(f32x4.add(s, s), q);
  return f32x4.add(f32x4.max(x, kv(K_ZERO)), l);
}

/** y[i] = softplus(x[i]) for i < n (n a multiple of 4; y may be x). */
export function softplus(x: usize, y: usize, n: i32): void {
  const e = x + (<usize>n << 2);
  for (; x < e; x += 16) {
    v128.store(y, softplus4(v128.load(x)));
    y += 16;
  }
}
