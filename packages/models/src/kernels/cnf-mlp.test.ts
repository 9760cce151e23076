// Relaxed SIMD is behind a flag in Node 20: enable it before any module is compiled.
import { setFlagsFromString } from 'node:v8';
setFlagsFromString('--experimental-wasm-relaxed-simd');

import { execFileSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it, vi } from 'vitest';
import { Random, isRnodeError } from '@rnode/core';
import {
  cnfMlpKernelAvailable,
  cnfMlpTanh,
  cnfMlpVariantAvailable,
  createCnfMlpKernel,
  precompileCnfMlpKernel,
  type CnfMlpCotangents,
  type CnfMlpKernel,
  type CnfMlpKind,
  type CnfMlpOutputs,
  type CnfMlpVariant,
} from './cnf-mlp.js';
import { refBackward, refForward, refLayerParamCount, refLoss, refParamCount, type RefNet } from './reference.js';

const pkg = join(dirname(fileURLToPath(import.meta.url)), '../..');
const VARIANTS: CnfMlpVariant[] = ['simd', 'relaxed'];
const KINDS: CnfMlpKind[] = ['concatsquash', 'concat', 'ignore'];

/** Random params: weights ~ U(±1.5/√n) (tanh well inside its nonlinear range), gates spread over (0.1, 0.9). */
function randomTheta(net: RefNet, rng: Random): Float32Array {
  const theta = new Float32Array(refParamCount(net));
  let off = 0;
  for (let l = 1; l < net.dims.length; l++) {
    const n = net.dims[l - 1]!;
    const m = net.dims[l]!;
    const s = 1.5 / Math.sqrt(n);
    for (let i = 0; i < n * m; i++) theta[off + i] = (2 * rng.nextFloat() - 1) * s;
    off += n * m;
    const extra = refLayerParamCount(n, m, net.kind) - n * m;
    for (let i = 0; i < extra; i++) theta[off + i] = (2 * rng.nextFloat() - 1) * (i < m ? 0.5 : 1.5);
    off += extra;
  }
  return theta;
}

function randn(n: number, rng: Random, scale = 1): Float32Array {
  const a = new Float32Array(n);
  for (let i = 0; i < n; i++) a[i] = rng.nextNormal() * scale;
  return a;
}

function outputs(B: number, D: number): CnfMlpOutputs {
  return { f: new Float32Array(B * D), g: new Float32Array(B * D), div: new Float32Array(B), kin: new Float32Array(B), frob: new Float32Array(B) };
}

/** max |a − b| / max |b| (a norm-wise relative error that near-zero entries do not inflate). */
function relErr(a: ArrayLike<number>, b: ArrayLike<number>): number {
  expect(a.length).toBe(b.length);
  let num = 0;
  let den = 0;
  for (let i = 0; i < b.length; i++) {
    num = Math.max(num, Math.abs(a[i]! - b[i]!));
    den = Math.max(den, Math.abs(b[i]!));
  }
  return den === 0 ? num : num / den;
}

/** The parameter blocks of θ (W, b, then Wg/bg/Wb or wt of each layer) as [name, start, length]. */
function blocks(net: RefNet): [string, number, number][] {
  const out: [string, number, number][] = [];
  const names = net.kind === 'concatsquash' ? ['b', 'Wg', 'bg', 'Wb'] : net.kind === 'concat' ? ['b', 'wt'] : ['b'];
  let off = 0;
  for (let l = 1; l < net.dims.length; l++) {
    const n = net.dims[l - 1]!;
    const m = net.dims[l]!;
    out.push([`layer${l - 1}/W`, off, n * m]);
    off += n * m;
    for (const nm of names) {
      out.push([`layer${l - 1}/${nm}`, off, m]);
      off += m;
    }
  }
  return out;
}

function expectBlocks(net: RefNet, got: ArrayLike<number>, want: ArrayLike<number>, tol: number, what: string): void {
  for (const [name, start, len] of blocks(net)) {
    const g = Array.from({ length: len }, (_, i) => got[start + i]!);
    const w = Array.from({ length: len }, (_, i) => want[start + i]!);
    const err = relErr(g, w);
    expect(err, `${what} ${name} (dims ${net.dims.join('→')}, ${net.kind})`).toBeLessThanOrEqual(tol);
  }
}

interface Case {
  dims: number[];
  B: number;
}

// Odd widths and tails (not multiples of 4), the thin 2-wide first/last layers, wide D (the
// generic path for the outputs), a single layer, and the target net.
const CASES: Case[] = [
  { dims: [3, 5, 7, 3], B: 9 },
  { dims: [2, 64, 64, 64, 2], B: 37 },
  { dims: [2, 6, 2], B: 5 },
  { dims: [1, 3, 1], B: 3 },
  { dims: [6, 13, 9, 6], B: 11 },
  { dims: [8, 12, 8], B: 8 },
  { dims: [5, 5], B: 6 },
  { dims: [2, 2], B: 2 },
];

function makeCase(c: Case, kind: CnfMlpKind, seed: string) {
  const rng = new Random(seed);
  const net: RefNet = { dims: c.dims, kind };
  const D = c.dims[0]!;
  const theta = randomTheta(net, rng);
  const z = randn(c.B * D, rng);
  const e = randn(c.B * D, rng);
  const cot: Required<CnfMlpCotangents> = {
    f: randn(c.B * D, rng),
    g: randn(c.B * D, rng),
    div: randn(c.B, rng),
    kin: randn(c.B, rng),
    frob: randn(c.B, rng),
  };
  return { net, D, theta, z, e, cot, t: 0.3 + rng.nextFloat() };
}

describe('cnf-mlp kernel: availability', () => {
  it('has SIMD and (with the flag) relaxed SIMD; auto picks relaxed', () => {
    expect(cnfMlpKernelAvailable()).toBe(true);
    expect(cnfMlpVariantAvailable('simd')).toBe(true);
    expect(cnfMlpVariantAvailable('relaxed')).toBe(true);
    const k = createCnfMlpKernel({ dims: [2, 4, 2], kind: 'concat', activation: 'tanh', maxBatch: 4 });
    expect(k.variant).toBe('relaxed');
    expect(k.paramCount).toBe(refParamCount({ dims: [2, 4, 2], kind: 'concat' }));
    k.dispose();
  });

  it('precompileCnfMlpKernel compiles asynchronously and resolves the variant', async () => {
    await expect(precompileCnfMlpKernel()).resolves.toBe('relaxed');
    await expect(precompileCnfMlpKernel('simd')).resolves.toBe('simd');
    await expect(precompileCnfMlpKernel('sse' as never)).rejects.toThrow(/kernel:cnf-mlp/);
  });

  it('without relaxed SIMD: auto falls back to simd, relaxed throws a clear RnodeError', async () => {
    vi.resetModules();
    const real = WebAssembly.validate;
    const spy = vi.spyOn(WebAssembly, 'validate').mockImplementation((bytes) => {
      // the relaxed binary is the one containing the relaxed_madd opcode (0xfd 0x85 0x02)
      const u = new Uint8Array(bytes as ArrayBuffer);
      for (let i = 0; i + 2 < u.length; i++) if (u[i] === 0xfd && u[i + 1] === 0x85 && u[i + 2] === 0x02) return false;
      return real(bytes);
    });
    try {
      const fresh = await import('./cnf-mlp.js');
      expect(fresh.cnfMlpVariantAvailable('relaxed')).toBe(false);
      const k = fresh.createCnfMlpKernel({ dims: [2, 4, 2], kind: 'ignore', activation: 'tanh', maxBatch: 2 });
      expect(k.variant).toBe('simd');
      let err: unknown;
      try {
        fresh.createCnfMlpKernel({ dims: [2, 4, 2], kind: 'ignore', activation: 'tanh', maxBatch: 2, variant: 'relaxed' });
      } catch (e) {
        err = e;
      }
      expect(isRnodeError(err, 'BACKEND_UNAVAILABLE')).toBe(true);
      expect((err as Error).message).toMatch(/kernel:cnf-mlp.*relaxed/);
      await expect(fresh.precompileCnfMlpKernel('relaxed')).rejects.toThrow(/relaxed-SIMD variant does not validate/);
    } finally {
      spy.mockRestore();
      vi.resetModules();
    }
  });
});

describe('cnf-mlp kernel: SIMD tanh', () => {
  it.each(VARIANTS)('%s: max abs error vs Math.tanh on a dense grid over [-10, 10] is below 2e-7', (variant) => {
    const n = 2_000_001;
    const xs = new Float32Array(n);
    for (let i = 0; i < n; i++) xs[i] = -10 + (20 * i) / (n - 1);
    const ys = cnfMlpTanh(xs, variant);
    let maxAbs = 0;
    let maxRel = 0;
    for (let i = 0; i < n; i++) {
      const r = Math.tanh(xs[i]!);
      const err = Math.abs(ys[i]! - r);
      maxAbs = Math.max(maxAbs, err);
      if (Math.abs(xs[i]!) > 1e-30) maxRel = Math.max(maxRel, err / Math.abs(r));
    }
    expect(maxAbs).toBeLessThan(2e-7);
    expect(maxRel).toBeLessThan(4e-7);
    const special = cnfMlpTanh(new Float32Array([0, -0, 1e-30, -1e-30, 50, -50, Infinity, -Infinity, NaN]), variant);
    expect(Array.from(special.subarray(0, 8))).toEqual([0, -0, Math.fround(1e-30), Math.fround(-1e-30), 1, -1, 1, -1]);
    expect(Number.isNaN(special[8])).toBe(true);
  });
});

describe('cnf-mlp kernel: forward', () => {
  for (const variant of VARIANTS) {
    for (const kind of KINDS) {
      it(`${variant}, ${kind}: f, g, div, kin, frob match the float64 reference (rel ≤ 1e-5)`, () => {
        for (const c of CASES) {
          const { net, D, theta, z, e, t } = makeCase(c, kind, `fwd-${kind}-${c.dims.join('-')}`);
          const k = createCnfMlpKernel({ dims: c.dims, kind, activation: 'tanh', maxBatch: c.B + 3, variant });
          expect(k.variant).toBe(variant);
          k.setParams(theta);
          const out = outputs(c.B, D);
          k.forward(t, z, e, c.B, out);
          const ref = refForward(net, theta, t, z, e, c.B);
          const where = `(${variant}, dims ${c.dims.join('→')}, ${kind})`;
          expect(relErr(out.f, ref.f), `f ${where}`).toBeLessThanOrEqual(1e-5);
          expect(relErr(out.g, ref.g), `g ${where}`).toBeLessThanOrEqual(1e-5);
          expect(relErr(out.div, ref.div), `div ${where}`).toBeLessThanOrEqual(1e-5);
          expect(relErr(out.kin, ref.kin), `kin ${where}`).toBeLessThanOrEqual(1e-5);
          expect(relErr(out.frob, ref.frob), `frob ${where}`).toBeLessThanOrEqual(1e-5);
          k.dispose();
        }
      });
    }
  }

  it('handles every batch size up to maxBatch (row tails) and reuses caller arrays longer than needed', () => {
    const dims = [2, 64, 64, 64, 2];
    const { net, theta, z, e, t } = makeCase({ dims, B: 20 }, 'concatsquash', 'batches');
    for (const variant of VARIANTS) {
      const k = createCnfMlpKernel({ dims, kind: 'concatsquash', activation: 'tanh', maxBatch: 20, variant });
      k.setParams(theta);
      const out = outputs(20, 2);
      for (let B = 1; B <= 20; B++) {
        out.f.fill(7);
        k.forward(t, z, e, B, out);
        const ref = refForward(net, theta, t, z, e, B);
        expect(relErr(out.f.subarray(0, 2 * B), ref.f)).toBeLessThanOrEqual(1e-5);
        expect(relErr(out.frob.subarray(0, B), ref.frob)).toBeLessThanOrEqual(1e-5);
        if (B < 20) expect(out.f[2 * B]).toBe(7); // entries past the batch are left alone
      }
      k.dispose();
    }
  });
});

describe('cnf-mlp kernel: backward', () => {
  it.each(KINDS)('the reference backward matches central finite differences of ℓ in float64 (%s)', (kind) => {
    for (const c of [
      { dims: [3, 5, 7, 3], B: 3 },
      { dims: [2, 6, 2], B: 2 },
      { dims: [2, 2], B: 2 },
    ]) {
      const { net, theta, z, e, cot, t } = makeCase(c, kind, `fd-${kind}-${c.dims.join('-')}`);
      const th = Float64Array.from(theta);
      const zz = Float64Array.from(z);
      const { dz, dtheta } = refBackward(net, th, t, zz, e, c.B, cot);
      const h = 1e-6;
      const fd = (x: Float64Array, i: number, f: () => number): number => {
        const x0 = x[i]!;
        x[i] = x0 + h;
        const p = f();
        x[i] = x0 - h;
        const m = f();
        x[i] = x0;
        return (p - m) / (2 * h);
      };
      const loss = () => refLoss(net, th, t, zz, e, c.B, cot);
      const fdTheta = th.map((_, i) => fd(th, i, loss));
      const fdZ = zz.map((_, i) => fd(zz, i, loss));
      expectBlocks(net, dtheta, fdTheta, 1e-6, 'reference dθ vs finite differences');
      expect(relErr(dz, fdZ), `dz ${c.dims.join('→')} ${kind}`).toBeLessThanOrEqual(1e-6);
    }
  });

  for (const variant of VARIANTS) {
    for (const kind of KINDS) {
      it(`${variant}, ${kind}: dz and dθ match the reference's analytic backward (rel ≤ 1e-4)`, () => {
        for (const c of [...CASES, { dims: [2, 64, 64, 64, 2], B: 256 }]) {
          const { net, D, theta, z, e, cot, t } = makeCase(c, kind, `bwd-${kind}-${c.dims.join('-')}-${c.B}`);
          const k = createCnfMlpKernel({ dims: c.dims, kind, activation: 'tanh', maxBatch: c.B, variant });
          k.setParams(theta);
          const dz = new Float32Array(c.B * D);
          const dtheta = new Float32Array(k.paramCount);
          const out = outputs(c.B, D);
          k.backward(t, z, e, c.B, cot, { dz, dtheta }, -1, out);
          const ref = refBackward(net, theta, t, z, e, c.B, cot);
          const where = `(${variant}, dims ${c.dims.join('→')}, B ${c.B}, ${kind})`;
          expect(relErr(dz, ref.dz), `dz ${where}`).toBeLessThanOrEqual(1e-4);
          expectBlocks(net, dtheta, ref.dtheta, 1e-4, `dθ ${where}`);
          expect(relErr(out.f, ref.out.f), `out.f ${where}`).toBeLessThanOrEqual(1e-5);
          expect(relErr(out.frob, ref.out.frob), `out.frob ${where}`).toBeLessThanOrEqual(1e-5);
          k.dispose();
        }
      });
    }
  }

  it('each cotangent alone, and missing cotangents are zero', () => {
    const c = { dims: [3, 5, 7, 3], B: 4 };
    const { net, theta, z, e, cot, t } = makeCase(c, 'concatsquash', 'single-cot');
    for (const variant of VARIANTS) {
      const k = createCnfMlpKernel({ dims: c.dims, kind: 'concatsquash', activation: 'tanh', maxBatch: 4, variant });
      k.setParams(theta);
      for (const key of ['f', 'g', 'div', 'kin', 'frob'] as const) {
        const one = { [key]: cot[key] } as CnfMlpCotangents;
        const dz = new Float32Array(12);
        const dtheta = new Float32Array(k.paramCount);
        k.backward(t, z, e, 4, one, { dz, dtheta });
        const ref = refBackward(net, theta, t, z, e, 4, one);
        expect(relErr(dz, ref.dz), `${variant} dz, only ${key}`).toBeLessThanOrEqual(1e-4);
        expectBlocks(net, dtheta, ref.dtheta, 1e-4, `${variant} dθ, only ${key}`);
      }
      const dz = new Float32Array(12).fill(5);
      const dtheta = new Float32Array(k.paramCount).fill(5);
      k.backward(t, z, e, 4, {}, { dz, dtheta });
      expect(dz.every((x) => x === 0) && dtheta.every((x) => x === 0)).toBe(true);
      k.dispose();
    }
  });
});

describe('cnf-mlp kernel: tokens', () => {
  it.each(VARIANTS)('%s: backward with the forward token equals a forced recompute; stale tokens recompute', (variant) => {
    const c = { dims: [2, 64, 64, 64, 2], B: 33 };
    const kind = 'concatsquash';
    const a = makeCase(c, kind, 'token-a');
    const b = makeCase(c, kind, 'token-b');
    const k: CnfMlpKernel = createCnfMlpKernel({ dims: c.dims, kind, activation: 'tanh', maxBatch: 64, variant });
    k.setParams(a.theta);
    const run = (token: number | undefined, x = a) => {
      const dz = new Float32Array(c.B * 2);
      const dtheta = new Float32Array(k.paramCount);
      const out = outputs(c.B, 2);
      k.backward(x.t, x.z, x.e, c.B, x.cot, { dz, dtheta }, token, out);
      return { dz, dtheta, out };
    };
    const fwd = outputs(c.B, 2);
    const tokA = k.forward(a.t, a.z, a.e, c.B, fwd);
    const reused = run(tokA);
    const forced = run(-1);
    expect(reused.dz).toEqual(forced.dz);
    expect(reused.dtheta).toEqual(forced.dtheta);
    expect(reused.out).toEqual(forced.out);
    expect(reused.out).toEqual(fwd);
    // a later forward makes tokA stale: backward(tokA) must recompute from its own inputs
    const tokB = k.forward(b.t, b.z, b.e, c.B, outputs(c.B, 2));
    expect(tokB).not.toBe(tokA);
    expect(run(tokA)).toEqual(forced);
    // setParams invalidates the token of the latest forward
    const tokA2 = k.forward(a.t, a.z, a.e, c.B, outputs(c.B, 2));
    k.setParams(b.theta);
    k.setParams(a.theta);
    expect(run(tokA2)).toEqual(forced);
    // a token with another t recomputes
    k.forward(a.t, a.z, a.e, c.B, outputs(c.B, 2));
    const tok = k.forward(b.t, a.z, a.e, c.B, outputs(c.B, 2));
    expect(run(tok)).toEqual(forced);
    k.dispose();
  });
});

describe('cnf-mlp kernel: validation', () => {
  const ok = { dims: [2, 8, 2], kind: 'concatsquash', activation: 'tanh', maxBatch: 4 } as const;
  const expectError = (f: () => unknown, code: 'INVALID_OPTIONS' | 'INVALID_ARGUMENT', pattern?: RegExp) => {
    let err: unknown;
    try {
      f();
    } catch (e) {
      err = e;
    }
    expect(isRnodeError(err, code), `expected ${code}, got ${String(err)}`).toBe(true);
    expect((err as { source?: string }).source).toBe('kernel:cnf-mlp');
    expect((err as Error).message).toContain('[kernel:cnf-mlp]');
    if (pattern) expect((err as Error).message).toMatch(pattern);
  };

  it('rejects bad configs with INVALID_OPTIONS naming kernel:cnf-mlp', () => {
    const bad: [unknown, RegExp][] = [
      [{ ...ok, dims: [2] }, /dims/],
      [{ ...ok, dims: [2, 8, 3] }, /same width/],
      [{ ...ok, dims: [2, 0, 2] }, /dims/],
      [{ ...ok, dims: [2, 2.5, 2] }, /dims/],
      [{ ...ok, dims: 'x' }, /dims/],
      [{ ...ok, kind: 'squash' }, /kind/],
      [{ ...ok, activation: 'relu' }, /activation/],
      [{ ...ok, maxBatch: 0 }, /maxBatch/],
      [{ ...ok, maxBatch: 1.5 }, /maxBatch/],
      [{ ...ok, variant: 'avx' }, /variant/],
      [{ ...ok, batch: 4 }, /unknown option "batch"/],
      [{ ...ok, maxBatch: 2 ** 28 }, /maxBatch/],
    ];
    for (const [config, pattern] of bad) {
      expectError(() => createCnfMlpKernel(config as never), 'INVALID_OPTIONS', pattern);
    }
  });

  it('rejects bad arguments with INVALID_ARGUMENT naming kernel:cnf-mlp', () => {
    const k = createCnfMlpKernel(ok);
    const P = k.paramCount;
    const z = new Float32Array(8);
    const out = outputs(4, 2);
    const grads = { dz: new Float32Array(8), dtheta: new Float32Array(P) };
    expectError(() => k.forward(0, z, z, 4, out), 'INVALID_ARGUMENT', /setParams/);
    expectError(() => k.setParams(new Float32Array(P + 1)), 'INVALID_ARGUMENT', /theta/);
    expectError(() => k.setParams(new Float64Array(P) as never), 'INVALID_ARGUMENT', /Float32Array/);
    k.setParams(new Float32Array(P));
    expectError(() => k.forward(0, z, z, 5, out), 'INVALID_ARGUMENT', /batch/);
    expectError(() => k.forward(0, z, z, 0, out), 'INVALID_ARGUMENT', /batch/);
    expectError(() => k.forward(NaN, z, z, 4, out), 'INVALID_ARGUMENT', /t must/);
    expectError(() => k.forward(0, new Float32Array(7), z, 4, out), 'INVALID_ARGUMENT', /z has length 7/);
    expectError(() => k.forward(0, z, new Float32Array(3), 4, out), 'INVALID_ARGUMENT', /e has length/);
    expectError(() => k.forward(0, z, z, 4, { ...out, kin: new Float32Array(3) }), 'INVALID_ARGUMENT', /out.kin/);
    expectError(() => k.backward(0, z, z, 4, { div: new Float32Array(2) }, grads), 'INVALID_ARGUMENT', /cot.div/);
    expectError(() => k.backward(0, z, z, 4, {}, { ...grads, dtheta: new Float32Array(P - 1) }), 'INVALID_ARGUMENT', /dtheta/);
    expectError(() => k.backward(0, z, z, 4, { fbar: z } as never, grads), 'INVALID_OPTIONS', /unknown option "fbar"/);
    k.dispose();
    expectError(() => k.forward(0, z, z, 4, out), 'INVALID_ARGUMENT', /disposed/);
  });
});

describe('cnf-mlp kernel: generated binaries', () => {
  const asc = join(pkg, '../../node_modules/assemblyscript/package.json');
  const have = existsSync(asc);
  const title = 'src/kernels/cnf-mlp-wasm.generated.ts is what `pnpm build:kernels` builds';
  it.skipIf(!have)(have ? title : `${title} (SKIPPED: assemblyscript is not installed, cannot rebuild)`, () => {
    // the package's own build:kernels command line, with --check (compare, write nothing)
    const [, ...args] = (JSON.parse(readFileSync(join(pkg, 'package.json'), 'utf8')).scripts['build:kernels'] as string).split(/\s+/);
    expect(() => execFileSync(process.execPath, [...args, '--check'], { cwd: pkg, stdio: 'pipe' }), 'stale: run `pnpm build:kernels`').not.toThrow();
  });
});
