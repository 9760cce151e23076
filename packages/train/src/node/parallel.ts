import { Worker } from 'node:worker_threads';
import { existsSync } from 'node:fs';
import { fileURLToPath, pathToFileURL } from 'node:url';
import * as z from 'zod/mini';
import { RnodeError, parseOptions } from '@rnode/core';
import * as tf from '@tensorflow/tfjs-core';
import type { ParallelGradients, ParallelSetup, ShardJob, ShardResult } from '../internal/sharding.js';

export const workerGradientsOptionsSchema = z.object({
  /** Shards per step, this thread's included: `threads − 1` workers are started. Default 2. */
  threads: z.optional(z.custom<number>((v) => typeof v === 'number' && Number.isInteger(v) && v >= 1 && v <= 64, { error: 'an integer in [1, 64]' })),
  /** The tfjs backend each worker uses; default: this thread's active backend. */
  backend: z.optional(z.string()),
  /**
   * Modules each worker imports, in order, before building the flow (file paths or URLs; one or
   * a list): register custom solver, estimator or regularizer plugins there, by the names the
   * training options use (the CLI passes its --plugin modules).
   */
  setup: z.optional(z.custom<string | URL | ReadonlyArray<string | URL>>()),
  /** The worker script (default: the built `worker.js` beside this module). */
  workerUrl: z.optional(z.custom<string | URL>()),
});
export type WorkerGradientsOptions = z.input<typeof workerGradientsOptionsSchema>;

type Reply = { type: 'ready' } | { type: 'result'; result: ShardResult } | { type: 'error'; message: string; code?: string; source?: string };

const SOURCE = 'trainer:parallel';

function defaultWorkerUrl(): URL {
  const here = new URL('.', import.meta.url);
  const beside = new URL('worker.js', here);
  if (existsSync(fileURLToPath(beside))) return beside;
  // Running from source (tests): the built worker of this package.
  return new URL('../../dist/node/worker.js', here);
}

/**
 * Data-parallel training on worker threads: `threads − 1` workers, each with its own tfjs
 * backend instance and a copy of the flow, compute their shards of every batch while the
 * trainer computes the first one (pass the result as `createTrainer({ parallel })`).
 * Node only. For fixed-grid solvers the combined gradient equals the single-thread one up to
 * float32 rounding (the probes are the same numbers, see `shardRandom`).
 */
export function createWorkerGradients(options: WorkerGradientsOptions = {}): ParallelGradients {
  const o = parseOptions(workerGradientsOptionsSchema, options, SOURCE);
  const threads = o.threads ?? 2;
  const workers: Worker[] = [];
  let failed: Error | null = null;

  const request = (w: Worker, msg: unknown, transfer: ArrayBuffer[] = []): Promise<Reply> =>
    new Promise((resolve, reject) => {
      const onMessage = (m: Reply) => {
        cleanup();
        if (m.type === 'error') {
          reject(new RnodeError((m.code as never) ?? 'INVALID_ARGUMENT', `worker: ${m.message}`, { source: m.source ?? SOURCE }));
        } else resolve(m);
      };
      const onError = (e: Error) => {
        cleanup();
        failed = e;
        reject(new RnodeError('INVALID_ARGUMENT', `worker failed: ${e.message}`, { source: SOURCE, cause: e }));
      };
      const onExit = (code: number) => {
        cleanup();
        reject(new RnodeError('INVALID_ARGUMENT', `worker exited with code ${code}`, { source: SOURCE }));
      };
      const cleanup = () => {
        w.off('message', onMessage);
        w.off('error', onError);
        w.off('exit', onExit);
      };
      w.on('message', onMessage);
      w.on('error', onError);
      w.on('exit', onExit);
      w.postMessage(msg, transfer);
    });

  return {
    threads,
    async init(setup: ParallelSetup) {
      const url = o.workerUrl ? new URL(String(o.workerUrl), pathToFileURL(process.cwd() + '/')) : defaultWorkerUrl();
      if (!existsSync(fileURLToPath(url))) {
        throw new RnodeError('INVALID_OPTIONS', `the worker script ${fileURLToPath(url)} does not exist (build @rnode/train first)`, { source: 'option:workerUrl' });
      }
      const backend = o.backend ?? tf.getBackend();
      const modules: ReadonlyArray<string | URL> = o.setup === undefined ? [] : Array.isArray(o.setup) ? o.setup : [o.setup as string | URL];
      const setupUrls = modules.map((m) => (m instanceof URL ? m.href : m.startsWith('file:') ? m : pathToFileURL(m).href));
      try {
        structuredClone(setup.training);
      } catch {
        throw new RnodeError(
          'INVALID_OPTIONS',
          'parallel training sends the training options to workers: give solvers, estimators and regularizers by registered name (register custom plugins in the `setup` module)',
          { source: SOURCE },
        );
      }
      // The worker runs built code: drop resolution conditions of the parent (a test runner's
      // source condition would point the worker's imports at TypeScript sources).
      const execArgv: string[] = [];
      for (let i = 0; i < process.execArgv.length; i++) {
        const a = process.execArgv[i]!;
        if (a === '--conditions' || a === '-C') i++;
        else if (!a.startsWith('--conditions=')) execArgv.push(a);
      }
      for (let k = 1; k < threads; k++) workers.push(new Worker(url, { execArgv }));
      await Promise.all(workers.map((w) => request(w, { type: 'init', setup, backend, setupUrls })));
    },
    async run(jobs: ShardJob[]) {
      if (failed) throw new RnodeError('INVALID_ARGUMENT', `a worker failed earlier: ${failed.message}`, { source: SOURCE });
      if (jobs.length > workers.length) {
        throw new RnodeError('INVALID_ARGUMENT', `${jobs.length} shards for ${workers.length} workers (call init first)`, { source: SOURCE });
      }
      const replies = await Promise.all(jobs.map((job, k) => request(workers[k]!, { type: 'job', job })));
      return replies.map((r) => (r as { result: ShardResult }).result);
    },
    async dispose() {
      await Promise.all(workers.map((w) => w.terminate()));
      workers.length = 0;
    },
  };
}
