// Profile one CNF block of the paper's MNIST model (28×28 scale: c = 1, ConcatConv2d 1→64→64→64→1,
// softplus) on the wasm backend, as the `rnode` training preset evaluates it:
//   (a) one forward evaluation: f, the Gaussian Hutchinson VJP εᵀ∂f/∂z (explicit, conv2dTranspose),
//       the divergence, kinetic energy and Jacobian-Frobenius rates (what each of the 16 rk38 stages does);
//   (b) one adjoint evaluation: the same dynamics plus aᵀ∂(dynamics)/∂(state, params) by reverse mode
//       (what each backward stage of the backsolve adjoint does: @rnode/adjoint's evalVjp).
// Prints the median of N timed repeats (after warm-up) and, with --profile, tf.profile's kernel table:
// calls and time per kernel name for one (a) and one (b).
//
// Runs against the built dist: `npx --yes pnpm@12.4.2 --filter @rnode/core build && npx --yes pnpm@12.4.2
// --filter @rnode/models build`, then from packages/models:
//   node scripts/profile-conv.mjs [--batch 20] [--reps 5] [--size 28] [--channels 1] [--width 64] [--profile] [--json]
import { Random, useBackend } from '@rnode/core';
import { cnfDynamics } from '@rnode/estimators';
import { createConvOdeNet } from '@rnode/models';
import * as tf from '@tensorflow/tfjs-core';

const args = process.argv.slice(2);
const opt = (name, def) => {
  const i = args.indexOf(`--${name}`);
  return i >= 0 ? Number(args[i + 1]) : def;
};
const flag = (name) => args.includes(`--${name}`);
const batch = opt('batch', 20);
const reps = opt('reps', 5);
const size = opt('size', 28);
const channels = opt('channels', 1);
const width = opt('width', 64);
const backendName = args.includes('--backend') ? args[args.indexOf('--backend') + 1] : 'wasm';

await useBackend(backendName);
const net = createConvOdeNet({ channels, hidden: [width, width, width], zeroLast: 'none' }, new Random('profile-conv'));
const shape = [batch, size, size, channels];
const rng = new Random('profile-conv:data');
const z = rng.normal(shape);
const eps = rng.normal(shape);
const regs = ['kinetic-energy', 'jacobian-frobenius'];
const dyn = cnfDynamics({ field: net, estimator: 'hutchinson', regularizers: regs, noise: eps });
const keys = ['z', 'logp', ...regs];
const state = { z, logp: tf.zeros([batch]), 'kinetic-energy': tf.zeros([batch]), 'jacobian-frobenius': tf.zeros([batch]) };
// The adjoint state a (same shapes as the CNF state), as the backward solve carries it.
const adj = { z: rng.normal(shape), logp: tf.fill([batch], -1 / batch), 'kinetic-energy': tf.fill([batch], 0.01 / batch), 'jacobian-frobenius': tf.fill([batch], 0.01 / batch) };
const t = 0.37;

/** (a): the forward dynamics, no tape. */
function forwardEval() {
  const out = dyn(t, state);
  const s = tf.tidy(() => tf.addN(keys.map((k) => tf.sum(out[k]))));
  const v = s.dataSync()[0];
  tf.dispose([s, ...Object.values(out)]);
  return v;
}

/** (b): @rnode/adjoint's evalVjp: f and aᵀ∂f/∂(y, θ) in one forward and one backward pass. */
function adjointEval() {
  const ys = keys.map((k) => state[k]);
  const xs = [...ys, ...net.params];
  const r = tf.tidy(() => {
    const aFlat = tf.concat(keys.map((k) => tf.reshape(adj[k], [-1])), 0);
    const { value, grads } = tf.engine().gradients(
      () => {
        const out = dyn(t, Object.fromEntries(keys.map((k, i) => [k, ys[i]])));
        return tf.concat(keys.map((k) => tf.reshape(out[k], [-1])), 0);
      },
      xs,
      aFlat,
      true,
    );
    return tf.addN([tf.sum(value), ...grads.filter((g) => g).map((g) => tf.sum(g))]);
  });
  const v = r.dataSync()[0];
  r.dispose();
  return v;
}

const median = (a) => {
  const s = [...a].sort((x, y) => x - y);
  return s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
};

function time(fn) {
  fn(); // warm-up (XNNPACK operator creation, wasm heap growth)
  const ms = [];
  let value;
  for (let i = 0; i < reps; i++) {
    const t0 = performance.now();
    value = fn();
    ms.push(performance.now() - t0);
  }
  return { medianMs: median(ms), ms: ms.map((x) => Math.round(x)), value };
}

async function profile(fn) {
  const info = await tf.profile(() => {
    fn();
  });
  const by = new Map();
  for (const k of info.kernels) {
    const e = by.get(k.name) ?? { calls: 0, ms: 0 };
    e.calls += 1;
    e.ms += typeof k.kernelTimeMs === 'number' ? k.kernelTimeMs : 0;
    by.set(k.name, e);
  }
  const rows = [...by.entries()].map(([name, e]) => ({ name, calls: e.calls, ms: Math.round(e.ms * 10) / 10 })).sort((a, b) => b.ms - a.ms);
  const total = rows.reduce((a, r) => a + r.ms, 0);
  return { kernels: info.kernels.length, kernelMs: Math.round(total), rows };
}

const leak0 = tf.memory().numTensors;
const a = time(forwardEval);
const b = time(adjointEval);
const result = {
  backend: tf.getBackend(),
  batch,
  shape,
  width,
  reps,
  forwardEval: a,
  adjointEval: b,
  leakedTensors: tf.memory().numTensors - leak0,
};
if (flag('profile')) {
  result.profileForward = await profile(forwardEval);
  result.profileAdjoint = await profile(adjointEval);
}
if (flag('json')) {
  process.stdout.write(`${JSON.stringify(result)}\n`);
} else {
  console.log(`backend ${result.backend}, block ${shape.slice(1).join('×')}, width ${width}, batch ${batch}, median of ${reps}`);
  console.log(`(a) forward evaluation (f + Hutchinson VJP + KE + JF): ${a.medianMs.toFixed(0)} ms  [${a.ms.join(', ')}]`);
  console.log(`(b) adjoint evaluation (f + aᵀ∂/∂(z, θ)):             ${b.medianMs.toFixed(0)} ms  [${b.ms.join(', ')}]`);
  console.log(`leaked tensors: ${result.leakedTensors}`);
  for (const [label, p] of [
    ['(a)', result.profileForward],
    ['(b)', result.profileAdjoint],
  ]) {
    if (!p) continue;
    console.log(`\nprofile ${label}: ${p.kernels} kernel calls, ${p.kernelMs} ms in kernels`);
    console.log('  kernel                          calls       ms    share');
    for (const r of p.rows) {
      if (r.ms < 0.5 && r.calls < 2) continue;
      console.log(`  ${r.name.padEnd(30)} ${String(r.calls).padStart(6)} ${r.ms.toFixed(1).padStart(9)} ${((100 * r.ms) / p.kernelMs).toFixed(1).padStart(6)}%`);
    }
  }
}
tf.dispose([z, eps, ...Object.values(state).slice(1), ...Object.values(adj)]);
net.dispose();
