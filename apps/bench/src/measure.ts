import type { IterationRunner } from './runner.js';
import { mean } from './stats.js';
import type { WorkloadFigures } from './types.js';
import { gpuWorkCounter, gpuWorkSince, type GpuWork } from './gpu-work.js';

export interface Measured {
  times: number[];
  warmupTimes: number[];
  nfeForward: number[];
  nfeBackward: number[];
  losses: number[];
  /** webgpu: the GPU work of each measured iteration (empty on other backends). */
  gpuWork: GpuWork[];
}

const now = (): number => performance.now();

/**
 * Run `warmup` + `iterations` iterations, timing each from outside (wall clock around the
 * runner's promise: batch, forward, backward, update and the iteration's host read).
 * NFE and losses are kept for the measured iterations only.
 */
export async function measureIterations(
  run: IterationRunner,
  o: { iterations: number; warmup: number; label: string; log: (line: string) => void },
): Promise<Measured> {
  const m: Measured = { times: [], warmupTimes: [], nfeForward: [], nfeBackward: [], losses: [], gpuWork: [] };
  const gpu = gpuWorkCounter();
  const total = o.warmup + o.iterations;
  const every = Math.max(1, Math.round(total / 10));
  let lastLog = now();
  for (let i = 0; i < total; i++) {
    const g0 = gpu?.();
    const t0 = now();
    const r = await run({ iteration: i });
    const s = (now() - t0) / 1000;
    if (gpu && g0 && i >= o.warmup) m.gpuWork.push(gpuWorkSince(g0, gpu()));
    if (i < o.warmup) m.warmupTimes.push(s);
    else {
      m.times.push(s);
      m.nfeForward.push(r.nfeForward);
      m.nfeBackward.push(r.nfeBackward);
      m.losses.push(r.loss);
    }
    if (i + 1 === total || (i + 1) % every === 0 || now() - lastLog > 30_000) {
      lastLog = now();
      o.log(
        `${o.label}: iteration ${i + 1}/${total}${i < o.warmup ? ' (warm-up)' : ''}: ${s.toFixed(3)} s, NFE ${r.nfeForward}+${r.nfeBackward}, loss ${r.loss.toFixed(4)}`,
      );
    }
  }
  return m;
}

/** The common figures of an iteration workload from its measurements (extra fields merged in). */
export function iterationFigures(
  m: Measured,
  p: { iterations: number; warmup: number; batch: number },
  runner: string,
  extra: Record<string, unknown>,
): WorkloadFigures {
  return {
    iterations: p.iterations,
    warmup: p.warmup,
    batch: p.batch,
    times_s: m.times,
    warmup_times_s: m.warmupTimes,
    nfe_forward: mean(m.nfeForward),
    nfe_backward: mean(m.nfeBackward),
    runner,
    extra: m.gpuWork.length ? { ...gpuWorkFigures(m.gpuWork), ...extra } : extra,
  };
}

/**
 * Per measured iteration (means): compute dispatches, command submissions, host → GPU uploads
 * and their bytes, GPU → host readbacks (each a synchronisation) and their bytes.
 */
export function gpuWorkFigures(work: GpuWork[]): Record<string, number> {
  const avg = (k: keyof GpuWork) => mean(work.map((w) => w[k]));
  return {
    dispatches: avg('dispatches'),
    submits: avg('submits'),
    uploads: avg('uploads'),
    upload_bytes: avg('uploadBytes'),
    readbacks: avg('readbacks'),
    readback_bytes: avg('readbackBytes'),
  };
}
