/** toy2d-rnode and toy2d-ffjord: seconds per training iteration of the 2-D pinwheel flow. */
import { iterationFigures, measureIterations } from '../measure.js';
import { TOY_DATA, TOY_NET, createToyTraining, toySettings, type ToyPreset } from '../runner.js';
import type { ParamDef, Workload } from '../types.js';

export const TOY_ITER_PARAMS: readonly ParamDef[] = [
  { key: 'iterations', flag: 'iterations', kind: 'int>0', spec: 50, help: 'measured iterations' },
  { key: 'warmup', flag: 'warmup', kind: 'int>=0', spec: 5, help: 'warm-up iterations (not timed)' },
  { key: 'batch', flag: 'batch', kind: 'int>0', spec: 512, help: 'pinwheel samples per iteration (fresh each iteration)' },
  { key: 'seed', flag: 'seed', kind: 'int>=0', spec: 0, help: 'seed of the model, data and probes' },
];

/** What the JSON records about the toy2d setup (besides the numeric config). */
export function toySetup(preset: ToyPreset): Record<string, unknown> {
  const s = toySettings(preset);
  const weights = s.regularizers as Record<string, number>;
  return {
    preset,
    data: TOY_DATA,
    model: { ...TOY_NET, hidden: [...TOY_NET.hidden] },
    solver: s.solver,
    ...(s.stepSize !== undefined ? { step_size: s.stepSize } : {}),
    ...(s.rtol !== undefined ? { rtol: s.rtol, atol: s.atol } : {}),
    adjoint: 'backsolve (same solver and grid/tolerances)',
    estimator: 'hutchinson (Gaussian, one probe per solve)',
    lambda_k: weights['kinetic-energy'] ?? 0,
    lambda_j: weights['jacobian-frobenius'] ?? 0,
    regularizer_reduction: 'sum over dimensions',
    lr: s.lr,
  };
}

export function toyIterationWorkload(preset: ToyPreset, summary: string): Workload {
  return {
    name: `toy2d-${preset}`,
    summary,
    params: TOY_ITER_PARAMS,
    workers: true,
    async run(job, env) {
      const p = job.params as { iterations: number; warmup: number; batch: number; seed: number };
      const t = createToyTraining({ preset, batch: p.batch, seed: p.seed, workers: job.workers, syncRead: env.syncRead });
      try {
        const m = await measureIterations(t.run, { iterations: p.iterations, warmup: p.warmup, label: `${job.backend} ${job.workload}`, log: env.log });
        return iterationFigures(m, p, t.kind, {
          setup: toySetup(preset),
          nfe_forward_per_iter: m.nfeForward,
          nfe_backward_per_iter: m.nfeBackward,
          final_loss: m.losses[m.losses.length - 1] ?? null,
        });
      } finally {
        t.dispose();
      }
    },
  };
}
