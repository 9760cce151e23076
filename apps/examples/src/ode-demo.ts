// The ODE demo of torchdiffeq, in TypeScript: learn the dynamics of a 2-D spiral
// dy/dt = (y³) A from one observed trajectory, with a small neural ODE trained
// by the continuous adjoint method on the wasm backend. Embedded data, no
// downloads; prints the loss as it falls and the solver's NFE.
//
//   pnpm example                # from the repository root
//   node dist/ode-demo.js --iterations 300 --backend cpu
import * as tf from '@tensorflow/tfjs-core';
import { Random, safeTanh, useBackend, type BackendName } from '@rnode/core';
import { odeint } from '@rnode/solvers';
import { odeintAdjoint } from '@rnode/adjoint';

function flag(name: string, fallback: string): string {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 && process.argv[i + 1] ? (process.argv[i + 1] as string) : fallback;
}

const iterations = Number(flag('iterations', '400'));
const backendName = flag('backend', 'wasm');
const seed = Number(flag('seed', '0'));

async function main(): Promise<void> {
  const backend = await useBackend(backendName as BackendName);
  const rng = new Random(seed);

  // Ground truth: the spiral of torchdiffeq's ode_demo.py, solved with dopri5 at tight tolerance.
  const A = tf.tensor2d([[-0.1, 2.0], [-2.0, -0.1]]);
  const trueY0 = tf.tensor2d([[2, 0]]);
  const nT = Number(flag('points', '1000'));
  const times = Array.from({ length: nT }, (_, i) => (25 * i) / (nT - 1));
  const truth = odeint((_t, y: tf.Tensor) => tf.matMul(tf.pow(y, 3), A), trueY0, times, {
    method: 'dopri5',
    rtol: 1e-6,
    atol: 1e-7,
  });
  const trueYs = truth.ys as tf.Tensor[];

  // The model: f(y) = W2 tanh(W1 y³ + b1) + b2, tanh recomputed from its input
  // so that second-order gradients are right (tfjs#3252).
  const init = (r: number, c: number, scale: number) => tf.variable(rng.normal([r, c], 0, scale));
  const W1 = init(2, 50, 0.1);
  const b1 = tf.variable(tf.zeros([50]));
  const W2 = init(50, 2, 0.1);
  const b2 = tf.variable(tf.zeros([2]));
  const params = [W1, b1, W2, b2];
  const f = (_t: number, y: tf.Tensor) => tf.add(tf.matMul(safeTanh(tf.add(tf.matMul(tf.pow(y, 3), W1), b1)), W2), b2);

  const optimizer = tf.train.adam(Number(flag('lr', '3e-3')));
  const batchTime = Number(flag('batch-time', '10'));
  const batchSize = 20;
  const t0 = performance.now();
  let nfeF = 0;
  for (let it = 1; it <= iterations; it++) {
    // A batch of short windows of the true trajectory, as in ode_demo.py.
    const starts = Array.from({ length: batchSize }, () => rng.nextInt(nT - batchTime));
    const loss = optimizer.minimize(() => {
      const y0 = tf.concat(starts.map((s) => trueYs[s] as tf.Tensor));
      const ts = times.slice(0, batchTime).map((t) => t - (times[0] as number));
      const sol = odeintAdjoint(f, y0, ts, params, { method: 'rk4', stepSize: ts[1]! - ts[0]! });
      nfeF += sol.stats.nfe;
      const losses = (sol.ys as tf.Tensor[]).map((y, k) =>
        tf.mean(tf.abs(tf.sub(y, tf.concat(starts.map((s) => trueYs[s + k] as tf.Tensor))))),
      );
      return tf.div(tf.addN(losses), batchTime) as tf.Scalar;
    }, true, params);
    if (it % 100 === 0 || it === 1) {
      // Evaluate on the whole trajectory with dopri5.
      const evalLoss = tf.tidy(() => {
        const sol = odeint(f, trueY0, times, { method: 'dopri5', rtol: 1e-5, atol: 1e-6 });
        const l = tf.mean(tf.abs(tf.sub(tf.concat(sol.ys as tf.Tensor[]), tf.concat(trueYs))));
        return { l: l.dataSync()[0] as number, nfe: sol.stats.nfe };
      });
      console.log(
        `iter ${String(it).padStart(4)}  batch loss ${(loss!.dataSync()[0] as number).toFixed(4)}  ` +
          `trajectory loss ${evalLoss.l.toFixed(4)}  dopri5 NFE ${evalLoss.nfe}  ` +
          `(${((performance.now() - t0) / 1000).toFixed(1)} s, ${backend.name})`,
      );
    }
    loss?.dispose();
  }
  console.log(`done: ${iterations} iterations, ${nfeF} forward NFE, ${((performance.now() - t0) / 1000).toFixed(1)} s on ${backend.name}`);
}

main().catch((e) => {
  console.error(e instanceof Error ? e.message : e);
  process.exit(1);
});
