import * as tf from '@tensorflow/tfjs-core';
import { useBackend } from '@rnode/core';
import { train } from '@rnode/train';

export async function trainToy(iterations = 1000): Promise<number[][]> {
  await useBackend('wasm');
  const { trainer, bestNll } = await train(
    {
      data: 'pinwheel', // or (n, rng) => Float32Array, or { train, validation } matrices
      model: { dim: 2, hidden: [64, 64, 64], layer: 'concatsquash', activation: 'tanh' },
      preset: 'rnode', reduction: 'sum', // the toy2d-rnode workload's objective
      iterations, batchSize: 128, lr: 1e-3, evalEvery: 100, patience: 10, seed: 0,
    },
    {
      onEvent: (e) => {
        if (e.type === 'iteration' && e.iteration % 50 === 0) console.log(e.iteration, e.loss, e.nfeForward, e.nfeBackward);
        if (e.type === 'evaluation') console.log(`test NLL ${e.nll.toFixed(3)} nats (best ${e.bestNll?.toFixed(3)})`);
      },
    },
  );
  console.log('best test NLL', bestNll);
  trainer.restoreBest();
  const samples = trainer.sample(500); // [500, 2], base → data with dopri5
  const points = samples.arraySync() as number[][];
  tf.dispose(samples);
  trainer.dispose(); // frees the flow and the optimizer
  return points;
}
