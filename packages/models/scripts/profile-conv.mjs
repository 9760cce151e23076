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
//   node scripts/profile-conv.mjs [--batch 20] [--reps 5] [--size 28] [--channels 1] [--width 64] [--field net|concat] [--unwrap Kernel,…] [--profile [--detail]] [--json]
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
// --unwrap Conv2DBackpropInput,Identity,Cast: put tfjs-backend-wasm's own kernels back (rnode's wasm wrappers keep
// the kernel they replaced under a Symbol.for marker), to measure before/after from one build.
const MARKERS = [Symbol.for('rnode.wasm.conv2DBackpropInput.asConv2D'), Symbol.for('rnode.wasm.shareData')];
if (args.includes('--unwrap')) {
  for (const name of args[args.indexOf('--unwrap') + 1].split(',')) {
    const k = tf.getKernel(name, backendName);
    const original = k && MARKERS.map((m) => k.kernelFunc[m]).find((f) => typeof f === 'function');
    if (!original) throw new Error(`--unwrap: ${name} is not one of rnode's wrapped ${backendName} kernels`);
    tf.unregisterKernel(name, backendName);
    tf.registerKernel({ ...k, kernelFunc: original });
  }
}
const net = createConvOdeNet({ channels, hidden: [width, width, width], zeroLast: 'none' }, new Random('profile-conv'));
const shape = [batch, size, size, channels];
const rng = new Random('profile-conv:data');
const z = rng.normal(shape);
const eps = rng.normal(shape);
const regs = ['kinetic-energy', 'jacobian-frobenius'];
/**
 * --field concat: the same net (same parameters) in the reference formulation, conv2d(cat([t-plane, h]), W) + b
 * per layer with the VJP through conv2dTranspose over all cIn + 1 channels (t channel sliced off), to measure
 * what folding the t channel into a per-position bias map saves.
 */
function concatField(n) {
  const Ws = n.params.filter((_, i) => i % 2 === 0);
  const bs = n.params.filter((_, i) => i % 2 === 1);
  const act = (x) => tf.softplus(x);
  const cat = (t, h) => tf.concat([tf.fill([...h.shape.slice(0, 3), 1], t), h], 3);
  const f = (t, x) =>
    tf.tidy(() => {
      let h = x;
      for (let i = 0; i < Ws.length; i++) {
        h = tf.add(tf.conv2d(cat(t, h), Ws[i], 1, 'same'), bs[i]);
        if (i + 1 < Ws.length) h = act(h);
      }
      return h;
    });
  f.vjp = (t, x, v) =>
    tf.tidy(() => {
      const ins = [];
      const derivs = [];
      let h = x;
      for (let i = 0; i < Ws.length; i++) {
        const hc = cat(t, h);
        ins.push(hc.shape);
        const pre = tf.add(tf.conv2d(hc, Ws[i], 1, 'same'), bs[i]);
        if (i + 1 < Ws.length) {
          h = act(pre);
          derivs.push(tf.sigmoid(pre));
        } else h = pre;
      }
      let g = v;
      for (let i = Ws.length - 1; i >= 0; i--) {
        const s = ins[i];
        g = tf.slice(tf.conv2dTranspose(g, Ws[i], s, 1, 'same'), [0, 0, 0, 1], [s[0], s[1], s[2], s[3] - 1]);
        if (i > 0) g = tf.mul(g, derivs[i - 1]);
      }
      return { f: h, vjp: g };
    });
  return f;
}
const fieldKind = args.includes('--field') ? args[args.indexOf('--field') + 1] : 'net';
const field = fieldKind === 'concat' ? concatField(net) : net;
const dyn = cnfDynamics({ field, estimator: 'hutchinson', regularizers: regs, noise: eps });
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
    const key = flag('detail') ? `${k.name} ${k.inputShapes.map((x) => `[${x}]`).join(' ')}` : k.name;
    const e = by.get(key) ?? { calls: 0, ms: 0 };
    e.calls += 1;
    e.ms += typeof k.kernelTimeMs === 'number' ? k.kernelTimeMs : 0;
    by.set(key, e);
  }
  const rows = [...by.entries()].map(([name, e]) => ({ name, calls: e.calls, ms: Math.round(e.ms * 10) / 10 })).sort((a, b) => b.ms - a.ms);
  const total = rows.reduce((a, r) => a + r.ms, 0);
  return { kernels: info.kernels.length, kernelMs: Math.round(total), peakMB: Math.round(info.peakBytes / 2 ** 20), newMB: Math.round(info.newBytes / 2 ** 20), rows };
}

const leak0 = tf.memory().numTensors;
const a = time(forwardEval);
const b = time(adjointEval);
const result = {
  backend: tf.getBackend(),
  batch,
  field: fieldKind,
  unwrapped: args.includes('--unwrap') ? args[args.indexOf('--unwrap') + 1] : null,
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
  console.log(`backend ${result.backend}, block ${shape.slice(1).join('×')}, width ${width}, batch ${batch}, field ${fieldKind}${result.unwrapped ? `, tfjs kernels: ${result.unwrapped}` : ''}, median of ${reps}`);
  console.log(`(a) forward evaluation (f + Hutchinson VJP + KE + JF): ${a.medianMs.toFixed(0)} ms  [${a.ms.join(', ')}]`);
  console.log(`(b) adjoint evaluation (f + aᵀ∂/∂(z, θ)):             ${b.medianMs.toFixed(0)} ms  [${b.ms.join(', ')}]`);
  console.log(`leaked tensors: ${result.leakedTensors}`);
  for (const [label, p] of [
    ['(a)', result.profileForward],
    ['(b)', result.profileAdjoint],
  ]) {
    if (!p) continue;
    console.log(`\nprofile ${label}: ${p.kernels} kernel calls, ${p.kernelMs} ms in kernels (nested customGrad scopes counted twice), peak tensor memory ${p.peakMB} MiB`);
    console.log('  kernel                          calls       ms    share');
    for (const r of p.rows) {
      if (r.ms < 0.5 && r.calls < 2) continue;
      console.log(`  ${r.name.padEnd(flag('detail') ? 70 : 30)} ${String(r.calls).padStart(6)} ${r.ms.toFixed(1).padStart(9)} ${((100 * r.ms) / p.kernelMs).toFixed(1).padStart(6)}%`);
    }
  }
}
tf.dispose([z, eps, ...Object.values(state).slice(1), ...Object.values(adj)]);
net.dispose();
