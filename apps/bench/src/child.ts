/**
 * The child process side: one workload on one backend. The parent forks the bench entry with
 * `--internal-child <job JSON>`; the child activates the backend, runs the workload and sends one
 * message back over IPC: the result, a skip (backend unavailable, with the reason) or an error.
 */
import os from 'node:os';
import * as tf from '@tensorflow/tfjs-core';
import { canReadSync, isRnodeError, useBackend, webgpuBackend, type BackendName } from '@rnode/core';
import { median, peakRssMib, spreadOf } from './stats.js';
import type { BenchJob, BenchResult } from './types.js';
import { findWorkload } from './workloads/index.js';
import { fusedKernelVariant } from '@rnode/models';
import { enableRelaxedSimd } from '@rnode/models/node';

export type ChildMessage =
  | { type: 'result'; result: BenchResult }
  | { type: 'skipped'; backend: string; reason: string }
  | { type: 'error'; backend: string; message: string; stack?: string };

export function machine(): { node: string; cpu: string; cpus: number } {
  const cpus = os.cpus();
  return { node: process.version, cpu: cpus[0]?.model?.trim() ?? 'unknown', cpus: cpus.length };
}

/** Run the job in this process; resolves to the message for the parent. */
export async function runJob(job: BenchJob, log: (line: string) => void): Promise<ChildMessage> {
  const workload = findWorkload(job.workload);
  if (!workload) return { type: 'error', backend: job.backend, message: `unknown workload "${job.workload}"` };
  try {
    await useBackend(job.backend as BackendName, { warn: (m) => log(`${job.backend}: ${m}`) });
  } catch (e) {
    if (isRnodeError(e, 'BACKEND_UNAVAILABLE')) {
      return { type: 'skipped', backend: job.backend, reason: (e as Error).message.replace(/^\[rnode\]\s*(\[[^\]]*\]\s*)?/, '') };
    }
    throw e;
  }
  const syncRead = canReadSync();
  // Relaxed SIMD (FMA) for the fused CNF kernels, as browsers and Node ≥ 22 have it; RNODE_RELAXED_SIMD=0 keeps plain SIMD.
  if (process.env['RNODE_RELAXED_SIMD'] !== '0') enableRelaxedSimd();
  const tensors0 = tf.memory().numTensors;
  const started = new Date().toISOString();
  const t0 = performance.now();
  try {
    const f = await workload.run(job, { log, syncRead });
    const leaked = tf.memory().numTensors - tensors0;
    if (leaked > 0) log(`${job.backend} ${job.workload}: warning: ${leaked} tensors left after the run`);
    const result: BenchResult = {
      workload: job.workload,
      backend: job.backend,
      spec: job.spec,
      modified: job.modified,
      median_s_per_iter: f.times_s.length ? median(f.times_s) : null,
      spread: f.times_s.length ? spreadOf(f.times_s) : null,
      nfe_forward: f.nfe_forward,
      nfe_backward: f.nfe_backward,
      peak_rss_mib: peakRssMib(),
      iterations: f.iterations,
      warmup: f.warmup,
      batch: f.batch,
      workers: job.workers,
      runner: f.runner ?? null,
      times_s: f.times_s,
      warmup_times_s: f.warmup_times_s,
      config: job.params,
      ...machine(),
      date: started,
      wall_s: (performance.now() - t0) / 1000,
      tfjs_backend: tf.getBackend(),
      sync_read: syncRead,
      // The kernels of the fused CNF path (dense tanh nets): wasm SIMD on cpu/wasm ('relaxed' = FMA), 'wgsl' on webgpu.
      fused_kernel: ['cpu', 'wasm', 'webgpu'].includes(tf.getBackend()) ? fusedKernelVariant() : null,
      // webgpu: the adapter it ran on (SwiftShader is a CPU emulation: correctness and counts, not speed)
      ...(tf.getBackend() === 'webgpu' ? { gpu_adapter: adapterName() } : {}),
      ...(f.extra ?? {}),
      ...(f.rows ? { rows: f.rows.map((r) => ({ label: r.label, median_s_per_iter: r.times_s.length ? median(r.times_s) : null, spread: r.times_s.length ? spreadOf(r.times_s) : null, nfe_forward: r.nfe_forward, nfe_backward: r.nfe_backward })) } : {}),
      ...(f.details ? { details: f.details } : {}),
    };
    return { type: 'result', result };
  } catch (e) {
    return { type: 'error', backend: job.backend, message: (e as Error)?.message ?? String(e), ...((e as Error)?.stack ? { stack: (e as Error).stack! } : {}) };
  }
}

/** Entry of the forked child: parse the job, run it, send the message, exit. */
export async function childMain(jobJson: string | undefined): Promise<void> {
  const log = (line: string) => process.stderr.write(`${line}\n`);
  // The parent went away (killed, Ctrl-C): stop too, rather than keep a core busy for nobody.
  process.on('disconnect', () => process.exit(130));
  let msg: ChildMessage;
  let job: BenchJob | undefined;
  try {
    job = JSON.parse(jobJson ?? '') as BenchJob;
    msg = await runJob(job, log);
  } catch (e) {
    msg = { type: 'error', backend: job?.backend ?? '?', message: (e as Error)?.message ?? String(e) };
  }
  const done = () => process.exit(msg.type === 'error' ? 1 : 0); // backends may keep handles open
  if (process.send) process.send(msg, done);
  else {
    process.stdout.write(`${JSON.stringify(msg)}\n`, done);
  }
}

function adapterName(): string | null {
  const f = webgpuBackend.adapterInfo();
  if (!f) return null;
  return [f.vendor, f.architecture, f.device, f.description].filter((x) => x).join(' ') || null;
}
