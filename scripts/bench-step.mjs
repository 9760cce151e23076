// Usage: copy into apps/cli of a checkout (any commit since af3e29f), build the packages, then
//   node bench-step.mjs <backend> [json options: {"threads":2} | {"fused":false}]   (RELAXED=1: relaxed SIMD, needs @rnode/models/node enableRelaxedSimd)
// BENCHMARKS.md "toy2d-rnode, step by step" was measured this way in a git worktree per commit.
// toy2d-rnode exactly as WORKLOADS.md (pinwheel batch 512, 2-64-64-64-2 concatsquash tanh, T = 1,
// rk38 step 0.25, adjoint on the same grid, Gaussian Hutchinson, KE + JF summed, λ = 0.01, Adam 1e-3):
// median seconds per iteration over 50 after 5 warm-up. Uses only APIs that exist since af3e29f.
import { useBackend, Random } from '@rnode/core';
import { createFlow } from '@rnode/models';
import { createTrainer } from '@rnode/train';
const backend = process.argv[2] ?? 'wasm';
const extra = JSON.parse(process.argv[3] ?? '{}');
if (process.env.RELAXED === '1') (await import('@rnode/models/node')).enableRelaxedSimd();
await useBackend(backend);
const flow = createFlow({ dim: 2, hidden: [64, 64, 64], layer: 'concatsquash', activation: 'tanh', T: 1 }, new Random('0:model'));
if (extra.fused === false) { const f = flow.forward.bind(flow); flow.forward = (x, o) => f(x, { ...o, fused: false }); }
let parallel;
if (extra.threads > 1) parallel = (await import('@rnode/train/node')).createWorkerGradients({ threads: extra.threads });
const tr = createTrainer({ flow, data: 'pinwheel', preset: 'rnode', reduction: 'sum', batchSize: 512, lr: 1e-3, seed: 0, ...(parallel ? { parallel } : {}) });
const times = [];
let last;
for (let i = 0; i < 55; i++) {
  const t0 = performance.now();
  last = await tr.step();
  if (i >= 5) times.push((performance.now() - t0) / 1000);
}
times.sort((a, b) => a - b);
const tf = await import('@tensorflow/tfjs-core');
const prof = parallel ? null : await tf.profile(async () => { await tr.step(); });
const med = (times[24] + times[25]) / 2;
console.log(JSON.stringify({ backend, ...extra, relaxed: process.env.RELAXED === '1', median_s_per_iter: +med.toFixed(5), p25: +times[12].toFixed(5), p75: +times[37].toFixed(5), nfe: [last.nfeForward, last.nfeBackward], final_loss: last.loss, kernel_calls: prof ? prof.kernels.length : null, peak_rss_mib: +(process.resourceUsage().maxRSS / 1024).toFixed(1) }));
await parallel?.dispose();
process.exit(0);
