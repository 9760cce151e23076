/**
 * solvers: NFE, steps, error and time per solve of every built-in solver on torchdiffeq's test
 * problems (BENCHMARKS.md). One "iteration" is a sweep over all problem × method solves; each
 * solve is warmed up and repeated in place, and a sweep's time is the sum of its solves' times.
 */
import type { SolverRef } from '@rnode/solvers';
import { linearProblem, measureSolve, polynomialProblem, sineProblem, type MeasureResult } from '@rnode/solvers/testing';
import { median } from '../stats.js';
import type { Workload } from '../types.js';

const FIXED: readonly SolverRef[] = ['euler', 'midpoint', 'heun', 'rk4', 'rk38'];
const ADAPTIVE: readonly SolverRef[] = ['bosh3', 'dopri5', 'tsit5'];

interface Row extends MeasureResult {
  ms_median: number;
  ms_min: number;
  ms_max: number;
  ms: number;
  times_ms: number[];
}

export const solvers: Workload = {
  name: 'solvers',
  summary: 'NFE, steps, error and ms per solve of every built-in solver on the torchdiffeq test problems (linear, sine, polynomial)',
  params: [
    { key: 'iterations', flag: 'repeats', aliases: ['iterations'], kind: 'int>0', spec: 5, help: 'timed repeats of each solve' },
    { key: 'warmup', flag: 'warmup', kind: 'int>=0', spec: 1, help: 'warm-up solves of each (not timed)' },
    { key: 'rtol', flag: 'rtol', kind: 'positive', spec: 1e-5, help: 'adaptive methods: relative tolerance' },
    { key: 'atol', flag: 'atol', kind: 'positive', spec: 1e-6, help: 'adaptive methods: absolute tolerance' },
    { key: 'stepSize', flag: 'step-size', kind: 'positive', spec: 0.05, help: 'fixed-grid methods: step' },
  ],
  async run(job, env) {
    const p = job.params as { iterations: number; warmup: number; rtol: number; atol: number; stepSize: number };
    const problems = [linearProblem(10, 0), sineProblem(), polynomialProblem()];
    const rows: Row[] = [];
    const sweep = new Array<number>(p.iterations).fill(0);
    const warm = new Array<number>(p.warmup).fill(0);
    let nfe = 0;
    for (const problem of problems) {
      for (const method of [...FIXED, ...ADAPTIVE]) {
        const opts = FIXED.includes(method) ? { stepSize: p.stepSize } : { rtol: p.rtol, atol: p.atol };
        let result: MeasureResult | undefined;
        for (let w = 0; w < p.warmup; w++) warm[w]! += (await measureSolve(problem, method, opts)).ms / 1000;
        const times: number[] = [];
        for (let r = 0; r < p.iterations; r++) {
          result = await measureSolve(problem, method, opts);
          times.push(result.ms);
          sweep[r]! += result.ms / 1000;
        }
        nfe += result!.nfe;
        rows.push({ ...result!, ms_median: median(times), ms_min: Math.min(...times), ms_max: Math.max(...times), times_ms: times });
      }
      env.log(`${job.backend} solvers: ${problem.name} done`);
    }
    const details = [
      `solvers on ${job.backend}: fixed grid step ${p.stepSize}, adaptive rtol ${p.rtol} atol ${p.atol}; median of ${p.iterations} solves after ${p.warmup} warm-up`,
      '',
      '| backend | problem | method | NFE | accepted | rejected | ms/solve (median) | min–max | rel. error |',
      '| --- | --- | --- | ---: | ---: | ---: | ---: | --- | ---: |',
      ...rows.map(
        (r) =>
          `| ${job.backend} | ${r.problem} | ${r.method} | ${r.nfe} | ${r.accepted} | ${r.rejected} | ${r.ms_median.toFixed(2)} | ${r.ms_min.toFixed(2)}–${r.ms_max.toFixed(2)} | ${r.relError.toExponential(1)} |`,
      ),
    ];
    return {
      iterations: p.iterations,
      warmup: p.warmup,
      batch: null,
      times_s: sweep,
      warmup_times_s: warm,
      nfe_forward: nfe,
      nfe_backward: 0,
      runner: 'odeintAsync sweep',
      extra: {
        iteration_is: `one sweep of ${rows.length} solves (${problems.length} problems × ${FIXED.length + ADAPTIVE.length} methods); nfe_forward = NFE of a sweep`,
        solves: rows.map(({ ms: _ms, ...r }) => r),
      },
      details,
    };
  },
};
