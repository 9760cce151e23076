// Full paper MNIST model (ODENVP, 3 scales × 2 blocks, hidden 64,64,64; 800,636 parameters), batch 200, wasm.
// Stage 1: one dynamics evaluation per block (f and the Hutchinson VJP, as each of the 16 RK4 stages does).
// Stage 2: one training iteration (rk38 step 0.25, Hutchinson, λK = λJ = 0.01, backsolve adjoint), the
// forward solve's end time printed from inside tf.variableGrads.
import { Random, useBackend } from '@rnode/core';
import { createImageLoader, logitTransform } from '@rnode/data';
import { loadEmbeddedMnist } from '@rnode/data/node';
import { createImageFlow } from '@rnode/models';
import { createTrainer } from '@rnode/train';
import * as tf from '@tensorflow/tfjs-core';
const log = (o) => process.stdout.write(`${JSON.stringify({ t: new Date().toISOString(), rssMB: Math.round(process.memoryUsage().rss / 2 ** 20), ...o })}\n`);
const backend = await useBackend('wasm');
const flow = createImageFlow({ height: 28, width: 28, channels: 1 }, new Random('0:model'));
log({ stage: 'setup', backend: backend.name, params: flow.paramCount, blocks: flow.blocks.length });
let evalTotal = 0;
for (const b of flow.blocks) {
  const z = tf.randomNormal([200, ...b.shape]);
  const v = tf.randomNormal([200, ...b.shape]);
  const t0 = performance.now();
  const r = b.field.vjp(0.5, z, v);
  await r.vjp.data();
  const s = (performance.now() - t0) / 1000;
  evalTotal += s;
  tf.dispose([z, v, r.f, r.vjp]);
  log({ stage: 'block-eval', block: b.index, shape: b.shape, seconds: s });
}
log({ stage: 'block-evals', seconds: evalTotal, note: 'one f+VJP evaluation of each of the 10 blocks at batch 200' });
const set = await loadEmbeddedMnist();
const loader = createImageLoader({ ...set, batchSize: 200, rng: new Random('0:loader') });
const orig = flow.forward.bind(flow);
let t1 = 0;
flow.forward = (x, o) => { const out = orig(x, o); log({ stage: 'forward-done', seconds: (performance.now() - t1) / 1000, nfe: out.stats.nfe }); return out; };
const tr = createTrainer({ flow, data: { kind: 'image', train: loader, alpha: 1e-5 }, batchSize: 200, lr: 1e-3, warmup: 1000 });
t1 = performance.now();
const e = await tr.step();
log({ stage: 'iteration-done', seconds: (performance.now() - t1) / 1000, bpd: e.nll, loss: e.loss, nfeForward: e.nfeForward, nfeBackward: e.nfeBackward, kineticEnergy: e.kineticEnergy, jacobianNorm: e.jacobianNorm });
tr.dispose(); flow.dispose();
