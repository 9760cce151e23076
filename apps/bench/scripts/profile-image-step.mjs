#!/usr/bin/env node
// Where one training iteration of the paper's MNIST model goes, kernel by kernel: one
// `trainer.step()` (the `rnode` preset, wasm, one thread) under `tf.profile` after one warm-up
// step, summed by kernel name and, for the convolutions, by kernel and input shapes. The kernel
// times include the profiler's per-kernel overhead. BENCHMARKS.md's before/after profile of the
// image-speed issue comes from this script (run from apps/bench after `pnpm build`).
//
//   node scripts/profile-image-step.mjs [batch]     # default batch 10
import * as tf from '@tensorflow/tfjs-core';
import { setFlagsFromString } from 'node:v8';

setFlagsFromString('--experimental-wasm-relaxed-simd'); // as the bench and the CLI do
const { Random, useBackend } = await import('@rnode/core');
await import('@rnode/core/backends/wasm');
await useBackend('wasm');
const { LOGIT_ALPHA, createImageLoader } = await import('@rnode/data');
const { loadEmbeddedMnist } = await import('@rnode/data/node');
const { createImageFlow } = await import('@rnode/models');
const { createTrainer } = await import('@rnode/train');

const B = Number(process.argv[2] ?? 10);
const set = await loadEmbeddedMnist();
const loader = createImageLoader({ ...set, batchSize: B, rng: new Random('0:loader'), dequantize: 'uniform' });
const flow = createImageFlow({ height: 28, width: 28, channels: 1 }, new Random('0:model'));
const trainer = createTrainer({ flow, data: { kind: 'image', train: loader, alpha: LOGIT_ALPHA.mnist, nbits: 8 }, preset: 'rnode', batchSize: B, lr: 1e-3, seed: 0 });
await trainer.step(); // warm-up: wasm tier-up, Adam moments
const t0 = performance.now();
const info = await tf.profile(async () => {
  await trainer.step();
});
const wall = performance.now() - t0;

const add = (map, key, ms) => {
  const e = map.get(key) ?? { n: 0, ms: 0 };
  e.n++;
  e.ms += typeof ms === 'number' ? ms : 0;
  map.set(key, e);
};
const byName = new Map();
const byShape = new Map();
for (const k of info.kernels) {
  const ms = await k.kernelTimeMs;
  add(byName, k.name, ms);
  if (/^Conv2D/.test(k.name)) add(byShape, `${k.name} ${JSON.stringify(k.inputShapes)}`, ms);
}
for (const [key, e] of [...byShape].sort((a, b) => b[1].ms - a[1].ms)) {
  console.log(key.padEnd(70), String(e.n).padStart(6), (e.ms / 1000).toFixed(2).padStart(8), 's', (e.ms / e.n).toFixed(2), 'ms/call');
}
const rows = [...byName].sort((a, b) => b[1].ms - a[1].ms);
const total = rows.reduce((a, [, e]) => a + e.ms, 0);
console.log(`batch ${B}: wall ${(wall / 1000).toFixed(2)} s, kernels ${(total / 1000).toFixed(2)} s, ${info.kernels.length} kernel calls`);
for (const [name, e] of rows) console.log(name.padEnd(28), String(e.n).padStart(6), (e.ms / 1000).toFixed(2).padStart(8), 's', ((100 * e.ms) / total).toFixed(1).padStart(5), '%');
trainer.dispose();
flow.dispose();
