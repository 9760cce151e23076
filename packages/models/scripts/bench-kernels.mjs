#!/usr/bin/env node
// Micro-benchmark of the fused CNF MLP kernel (src/kernels/cnf-mlp.ts) through its wrapper (copies
// in and out included), one wasm thread. Bundles the wrapper with tsup into
// node_modules/.cache/bench-kernels first (no build of the package needed).
//
//   node scripts/bench-kernels.mjs [--dims 2,64,64,64,2] [--kind concatsquash] [--batch 256,512]
//                                  [--variant simd,relaxed] [--seconds 1] [--runs 5]
//
// GFLOPS count 2 flops per multiply-add of the GEMMs: forward = f and g (2·Σ n·m per sample),
// backward (reusing the forward's activations) = Σ_{l<L} n·m + 3·Σ n·m per sample.
//
// Measured 2026-11-29, `node scripts/bench-kernels.mjs` (Node 20, V8 11.3; one thread of an Intel
// Xeon (Sapphire Rapids class, AVX-512, nominal 2.6 GHz) VM shared with other jobs: run-to-run
// spread about ±5 %), dims 2,64,64,64,2, concatsquash, GFLOPS by CPU time (wall time in brackets):
//   variant  batch  forward          backward (token reuse)   fwd+bwd, recompute
//   simd       256  26.9 (26.4)      33.3 (33.3)              829 µs
//   simd       512  27.3 (27.1)      33.4 (33.1)              1678 µs
//   relaxed    256  38.5 (37.4)      44.9 (43.9)              608 µs
//   relaxed    512  37.1 (36.8)      43.7 (43.7)              1254 µs
// The GEMM loops themselves run at about 36 (simd: mul + add) and 48-50 (relaxed: FMA) GFLOPS, close
// to what a 4x8 f32x4 register block can issue; the forward pays ~17-20 % for tanh (48 f32x4 tanh
// per sample), the rest is epilogues, the 2-wide first/last layers and W(t) preparation.
import { setFlagsFromString } from 'node:v8';
import { join, dirname } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

setFlagsFromString('--experimental-wasm-relaxed-simd');

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const arg = (name, dflt) => {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 ? process.argv[i + 1] : dflt;
};
const dims = arg('dims', '2,64,64,64,2').split(',').map(Number);
const kind = arg('kind', 'concatsquash');
const batches = arg('batch', '256,512').split(',').map(Number);
const variants = arg('variant', 'simd,relaxed').split(',');
const seconds = Number(arg('seconds', '1'));
const runs = Number(arg('runs', '5'));

const { build } = await import('tsup');
const outDir = join(root, 'node_modules/.cache/bench-kernels');
await build({
  entry: { 'cnf-mlp': join(root, 'src/kernels/cnf-mlp.ts') },
  format: ['esm'],
  outDir,
  external: [/^@rnode\//, /^@tensorflow\//],
  platform: 'neutral',
  target: 'es2022',
  dts: false,
  sourcemap: false,
  clean: true,
  silent: true,
  config: false,
});
const { createCnfMlpKernel } = await import(pathToFileURL(join(outDir, 'cnf-mlp.js')).href);

const D = dims[0];
let nm = 0;
let nmLast = 0;
for (let l = 1; l < dims.length; l++) nm += dims[l - 1] * dims[l];
nmLast = dims[dims.length - 2] * dims[dims.length - 1];
const fwdMacs = 2 * nm;
const bwdMacs = nm - nmLast + 3 * nm;

function lcg(seed) {
  let s = seed >>> 0;
  return () => ((s = (Math.imul(s, 1664525) + 1013904223) >>> 0) / 2 ** 32) * 2 - 1;
}

/**
 * Seconds per call: warm-up (lets V8 tier the module up), then `runs` timed runs of ~`seconds`
 * each; the best run by process CPU time (robust when other jobs share the cores) and by wall time.
 */
function timeIt(fn) {
  let reps = 1;
  for (let t0 = performance.now(); performance.now() - t0 < 300; ) fn();
  for (;;) {
    const t0 = performance.now();
    for (let i = 0; i < reps; i++) fn();
    const dt = performance.now() - t0;
    if (dt > 50) {
      reps = Math.max(1, Math.round((reps * seconds * 1000) / dt));
      break;
    }
    reps *= 2;
  }
  let cpu = Infinity;
  let wall = Infinity;
  for (let r = 0; r < runs; r++) {
    const c0 = process.cpuUsage();
    const t0 = performance.now();
    for (let i = 0; i < reps; i++) fn();
    const w = (performance.now() - t0) / 1e3 / reps;
    const c = process.cpuUsage(c0);
    cpu = Math.min(cpu, (c.user + c.system) / 1e6 / reps);
    wall = Math.min(wall, w);
  }
  return { cpu, wall };
}

console.log(`dims ${dims.join('→')}, ${kind}; GEMM multiply-adds per sample: forward ${fwdMacs}, backward ${bwdMacs}`);
console.log('GFLOPS from the best run by CPU time (by wall time in brackets); µs per call by CPU time');
console.log('variant  batch   forward µs  GFLOPS          backward µs  GFLOPS          fwd+bwd (recompute) µs');
const fmt = (x, w) => x.toFixed(w === undefined ? 2 : w);
for (const variant of variants) {
  for (const B of batches) {
    const k = createCnfMlpKernel({ dims, kind, activation: 'tanh', maxBatch: B, variant });
    const rnd = lcg(B * 7 + 1);
    const theta = Float32Array.from({ length: k.paramCount }, () => rnd() * 0.3);
    const z = Float32Array.from({ length: B * D }, rnd);
    const e = Float32Array.from({ length: B * D }, rnd);
    const out = { f: new Float32Array(B * D), g: new Float32Array(B * D), div: new Float32Array(B), kin: new Float32Array(B), frob: new Float32Array(B) };
    const cot = { f: Float32Array.from({ length: B * D }, rnd), div: Float32Array.from({ length: B }, rnd), kin: Float32Array.from({ length: B }, rnd), frob: Float32Array.from({ length: B }, rnd) };
    const grads = { dz: new Float32Array(B * D), dtheta: new Float32Array(k.paramCount) };
    k.setParams(theta);
    const t = 0.5;
    const tf = timeIt(() => k.forward(t, z, e, B, out));
    const token = k.forward(t, z, e, B, out);
    const tb = timeIt(() => k.backward(t, z, e, B, cot, grads, token));
    const tfb = timeIt(() => k.backward(t, z, e, B, cot, grads, -1));
    const gf = (s) => (2 * fwdMacs * B) / s / 1e9;
    const gb = (s) => (2 * bwdMacs * B) / s / 1e9;
    console.log(
      `${variant.padEnd(7)}  ${String(B).padStart(5)}  ${fmt(tf.cpu * 1e6, 1).padStart(10)}  ${fmt(gf(tf.cpu)).padStart(6)} (${fmt(gf(tf.wall)).padStart(6)})  ${fmt(tb.cpu * 1e6, 1).padStart(11)}  ${fmt(gb(tb.cpu)).padStart(6)} (${fmt(gb(tb.wall)).padStart(6)})  ${fmt(tfb.cpu * 1e6, 1).padStart(10)}`,
    );
    k.dispose();
  }
}
