// rnode's benchmark harness. Workload `solvers`: NFE, steps, error and time per
// solve of every built-in solver on the torchdiffeq test problems, per backend.
//
//   node dist/bench.js solvers [--backends cpu,wasm] [--repeats 5] [--json]
import { parseArgs } from 'node:util';
import os from 'node:os';
import * as tf from '@tensorflow/tfjs-core';
import { probeBackends, useBackend } from '@rnode/core';
import { measureSolve, linearProblem, polynomialProblem, sineProblem, type MeasureResult } from '@rnode/solvers/testing';

const { values, positionals } = parseArgs({
  allowPositionals: true,
  options: {
    backends: { type: 'string', default: 'cpu,wasm' },
    repeats: { type: 'string', default: '5' },
    json: { type: 'boolean', default: false },
    rtol: { type: 'string', default: '1e-5' },
    atol: { type: 'string', default: '1e-6' },
    'step-size': { type: 'string', default: '0.05' },
  },
});

const workload = positionals[0] ?? 'solvers';
if (workload !== 'solvers') {
  console.error(`rnode-bench: unknown workload "${workload}"; workloads: solvers`);
  process.exit(2);
}
const repeats = Number(values.repeats);
const rtol = Number(values.rtol);
const atol = Number(values.atol);
const stepSize = Number(values['step-size']);
const fixed = ['euler', 'midpoint', 'heun', 'rk4', 'rk38'];
const adaptive = ['bosh3', 'dopri5', 'tsit5'];
const problems = [linearProblem(10, 0), sineProblem(), polynomialProblem()];

interface Row extends MeasureResult {
  backend: string;
  msMedian: number;
  msMin: number;
  msMax: number;
}

const median = (xs: number[]) => {
  const s = xs.slice().sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? (s[m] as number) : ((s[m - 1] as number) + (s[m] as number)) / 2;
};

async function main(): Promise<void> {
  const available = new Map((await probeBackends()).map((b) => [b.name, b]));
  const rows: Row[] = [];
  for (const name of String(values.backends).split(',').filter(Boolean)) {
    const info = available.get(name);
    if (!info?.available) {
      console.error(`rnode-bench: skipping backend "${name}": ${info?.reason ?? 'not registered'}`);
      continue;
    }
    await useBackend(name);
    for (const problem of problems) {
      for (const method of [...fixed, ...adaptive]) {
        const opts = fixed.includes(method) ? { stepSize } : { rtol, atol };
        let result: MeasureResult | undefined;
        try {
          await measureSolve(problem, method, opts); // warm-up (kernel compilation, caches)
          const times: number[] = [];
          for (let r = 0; r < repeats; r++) {
            result = await measureSolve(problem, method, opts);
            times.push(result.ms);
          }
          rows.push({ ...result!, backend: name, msMedian: median(times), msMin: Math.min(...times), msMax: Math.max(...times) });
        } catch (e) {
          console.error(`rnode-bench: ${name} ${method} ${problem.name}: ${(e as Error).message}`);
        }
      }
    }
    if (tf.memory().numTensors > 0) console.error(`rnode-bench: ${tf.memory().numTensors} live tensors after ${name}`);
  }
  if (values.json) {
    for (const r of rows) console.log(JSON.stringify({ workload, ...r }));
    return;
  }
  console.log(`workload solvers: fixed grid step ${stepSize}, adaptive rtol ${rtol} atol ${atol}; median of ${repeats} solves after 1 warm-up`);
  console.log(`machine: ${os.cpus().length} × ${os.cpus()[0]?.model ?? 'cpu'}, Node ${process.version}`);
  console.log('');
  console.log('| backend | problem | method | NFE | accepted | rejected | ms/solve (median) | min–max | rel. error |');
  console.log('| --- | --- | --- | ---: | ---: | ---: | ---: | --- | ---: |');
  for (const r of rows) {
    console.log(
      `| ${r.backend} | ${r.problem} | ${r.method} | ${r.nfe} | ${r.accepted} | ${r.rejected} | ${r.msMedian.toFixed(2)} | ${r.msMin.toFixed(2)}–${r.msMax.toFixed(2)} | ${r.relError.toExponential(1)} |`,
    );
  }
}

main().catch((e) => {
  console.error(e instanceof Error ? e.message : e);
  process.exit(1);
});
