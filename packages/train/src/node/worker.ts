// The worker thread of createWorkerGradients: rebuilds the trainer's flow and training
// configuration once, then computes one shard of each step it is sent.
import { parentPort } from 'node:worker_threads';
import * as tf from '@tensorflow/tfjs-core';
import { isRnodeError, useBackend, type BackendName } from '@rnode/core';
import { loadModel, type AnyModelFile } from '@rnode/models';
import { resolveTraining, type ResolvedTraining } from '../config.js';
import { computeShard, type ParallelSetup, type ShardJob } from '../internal/sharding.js';
import type { TrainableFlow } from '../flow.js';

let flow: TrainableFlow | null = null;
let cfg: ResolvedTraining | null = null;
let image: { nbits: number } | null = null;

function fail(e: unknown): void {
  const err = e as Error & { code?: string; source?: string };
  parentPort!.postMessage({
    type: 'error',
    message: err?.message ?? String(e),
    ...(isRnodeError(e) ? { code: err.code, source: err.source } : {}),
  });
}

parentPort!.on('message', async (msg: { type: 'init'; setup: ParallelSetup; backend: string; setupUrls: string[] } | { type: 'job'; job: ShardJob }) => {
  try {
    if (msg.type === 'init') {
      await useBackend(msg.backend as BackendName);
      for (const url of msg.setupUrls) await import(url);
      flow = loadModel(msg.setup.model as AnyModelFile) as unknown as TrainableFlow;
      cfg = resolveTraining(msg.setup.training, 'trainer', { image: msg.setup.image !== null });
      image = msg.setup.image;
      parentPort!.postMessage({ type: 'ready' });
      return;
    }
    if (!flow || !cfg) throw new Error('job before init');
    const { job } = msg;
    flow.params.forEach((p, i) => {
      const v = job.weights[i]!;
      tf.tidy(() => (p as tf.Variable).assign(tf.tensor(v, p.shape, 'float32')));
    });
    const dim = job.x.length / job.rows;
    const result = computeShard(flow, cfg, job, dim, image);
    parentPort!.postMessage({ type: 'result', result }, [...result.grads.map((g) => g.buffer as ArrayBuffer), result.values.buffer as ArrayBuffer]);
  } catch (e) {
    fail(e);
  }
});
