/**
 * toy2d-quality: train toy2d-rnode and toy2d-ffjord from seed 0 and evaluate every 250 iterations
 * (and at iteration 0) on 10,000 fresh pinwheel samples with the exact divergence and dopri5 at
 * rtol = atol = 1e-5. Evaluation time is kept off the training clock and reported separately.
 * Writes the per-evaluation rows (JSON, CSV), the per-iteration rows (CSV) and a chart (SVG, PNG):
 * test NLL against training seconds and against iteration, training NFE per iteration.
 */
import { resolve } from 'node:path';
import { Random } from '@rnode/core';
import { sampleToy } from '@rnode/data';
import { renderPanels, writeAtomic } from '../chart.js';
import { TOY_DATA, createToyTraining, evaluateToy, type ToyPreset } from '../runner.js';
import { mean, median } from '../stats.js';
import type { Workload } from '../types.js';
import { toySetup } from './toy2d.js';

/** Points per evaluation solve (the NFE reported is per solve), as in BENCHMARKS.md. */
export const EVAL_BATCH = 1000;
const PRESETS: readonly ToyPreset[] = ['rnode', 'ffjord'];

export interface EvaluationRow {
  preset: ToyPreset;
  iteration: number;
  test_nll: number;
  /** Mean NFE of one test solve. */
  test_nfe: number;
  test_nfe_total: number;
  test_solves: number;
  /** Training wall-clock so far (sum of the iterations' times, evaluations excluded). */
  train_seconds: number;
  /** Seconds this evaluation took. */
  eval_seconds: number;
  /** Training NFE so far, forward + backward. */
  train_nfe_total: number;
}

export interface IterationRow {
  preset: ToyPreset;
  iteration: number;
  seconds: number;
  nfe_forward: number;
  nfe_backward: number;
  loss: number;
}

const csv = (rows: ReadonlyArray<Record<string, unknown>>): string => {
  if (rows.length === 0) return '';
  const keys = Object.keys(rows[0]!);
  return [keys.join(','), ...rows.map((r) => keys.map((k) => String(r[k])).join(','))].join('\n') + '\n';
};

export const toy2dQuality: Workload = {
  name: 'toy2d-quality',
  summary: 'train toy2d-rnode and toy2d-ffjord 2,000 iterations from seed 0; test NLL, test NFE and training seconds every 250; chart + CSV/JSON in --out',
  params: [
    { key: 'iterations', flag: 'iterations', kind: 'int>0', spec: 2000, help: 'training iterations per preset' },
    { key: 'evalEvery', flag: 'eval-every', kind: 'int>0', spec: 250, help: 'iterations between evaluations (also at 0 and at the end)' },
    { key: 'testSamples', flag: 'test-samples', kind: 'int>0', spec: 10000, help: 'fresh test samples per evaluation' },
    { key: 'batch', flag: 'batch', kind: 'int>0', spec: 512, help: 'pinwheel samples per iteration' },
    { key: 'seed', flag: 'seed', kind: 'int>=0', spec: 0, help: 'seed of the models, data, probes and test sets' },
  ],
  workers: true,
  writesFiles: true,
  async run(job, env) {
    const p = job.params as { iterations: number; evalEvery: number; testSamples: number; batch: number; seed: number };
    const evals: EvaluationRow[] = [];
    const iters: IterationRow[] = [];
    const presets: Record<string, Record<string, unknown>> = {};
    const rows: NonNullable<Awaited<ReturnType<Workload['run']>>['rows']> = [];
    let runner = '';
    for (const preset of PRESETS) {
      const label = `${job.backend} toy2d-quality ${preset}`;
      const t = createToyTraining({ preset, batch: p.batch, seed: p.seed, workers: job.workers, syncRead: env.syncRead });
      runner = runner ? (runner.includes(t.kind) ? runner : `${runner}, ${t.kind}`) : t.kind;
      const testRng = new Random(`${p.seed}:test`); // the same fresh test sets for both presets
      let trainSeconds = 0;
      let evalSeconds = 0;
      let trainNfe = 0;
      const times: number[] = [];
      const nfeF: number[] = [];
      const nfeB: number[] = [];
      const evaluate = async (iteration: number): Promise<void> => {
        const t0 = performance.now();
        const data = sampleToy(TOY_DATA, p.testSamples, testRng);
        const e = await evaluateToy(t.flow, data, { batchSize: Math.min(EVAL_BATCH, p.testSamples) });
        const s = (performance.now() - t0) / 1000;
        evalSeconds += s;
        evals.push({
          preset,
          iteration,
          test_nll: e.nll,
          test_nfe: e.nfePerSolve,
          test_nfe_total: e.nfeTotal,
          test_solves: e.solves,
          train_seconds: trainSeconds,
          eval_seconds: s,
          train_nfe_total: trainNfe,
        });
        env.log(`${label}: iteration ${iteration}: test NLL ${e.nll.toFixed(4)} nats, test NFE ${e.nfePerSolve.toFixed(1)}/solve, training ${trainSeconds.toFixed(1)} s (evaluation ${s.toFixed(1)} s)`);
      };
      try {
        await evaluate(0);
        for (let i = 1; i <= p.iterations; i++) {
          const t0 = performance.now();
          const r = await t.run({ iteration: i - 1 });
          const s = (performance.now() - t0) / 1000;
          trainSeconds += s;
          trainNfe += r.nfeForward + r.nfeBackward;
          times.push(s);
          nfeF.push(r.nfeForward);
          nfeB.push(r.nfeBackward);
          iters.push({ preset, iteration: i, seconds: s, nfe_forward: r.nfeForward, nfe_backward: r.nfeBackward, loss: r.loss });
          if (i % p.evalEvery === 0 || i === p.iterations) await evaluate(i);
        }
      } finally {
        t.dispose();
      }
      const last = evals[evals.length - 1]!;
      presets[preset] = {
        setup: toySetup(preset),
        runner: t.kind,
        median_s_per_iter: median(times),
        nfe_forward: mean(nfeF),
        nfe_backward: mean(nfeB),
        train_seconds: trainSeconds,
        eval_seconds: evalSeconds,
        train_nfe_total: trainNfe,
        final_test_nll: last.test_nll,
        final_test_nfe: last.test_nfe,
        times_s: times,
      };
      rows.push({ label: `toy2d-quality/${preset}`, times_s: times, nfe_forward: mean(nfeF), nfe_backward: mean(nfeB) });
    }

    // Files: rows (JSON, CSV), per-iteration CSV, the chart (SVG, PNG).
    const base = resolve(job.out, `toy2d-quality-${job.backend}`);
    const files = {
      json: `${base}.json`,
      csv: `${base}.csv`,
      iterations_csv: `${base}-iterations.csv`,
      svg: `${base}.svg`,
      png: `${base}.png`,
    };
    const by = (preset: ToyPreset) => evals.filter((e) => e.preset === preset);
    const chart = await renderPanels(`toy2d-quality on ${job.backend}${job.spec ? '' : ' (modified configuration)'}`, [
      {
        title: 'test NLL vs training time',
        xLabel: 'training wall-clock (s, evaluations excluded)',
        yLabel: 'test NLL (nats)',
        series: PRESETS.map((pr) => ({ name: pr.toUpperCase(), x: by(pr).map((e) => e.train_seconds), y: by(pr).map((e) => e.test_nll) })),
      },
      {
        title: 'test NLL vs iteration',
        xLabel: 'iteration',
        yLabel: 'test NLL (nats)',
        series: PRESETS.map((pr) => ({ name: pr.toUpperCase(), x: by(pr).map((e) => e.iteration), y: by(pr).map((e) => e.test_nll) })),
      },
      {
        title: 'training NFE per iteration (forward + backward)',
        xLabel: 'iteration',
        yLabel: 'NFE',
        series: PRESETS.map((pr) => {
          const it = iters.filter((r) => r.preset === pr);
          return { name: pr.toUpperCase(), x: it.map((r) => r.iteration), y: it.map((r) => r.nfe_forward + r.nfe_backward) };
        }),
      },
    ]);
    await writeAtomic(files.svg, chart.svg);
    await writeAtomic(files.png, chart.png);
    await writeAtomic(files.csv, csv(evals as unknown as Array<Record<string, unknown>>));
    await writeAtomic(files.iterations_csv, csv(iters as unknown as Array<Record<string, unknown>>));
    await writeAtomic(
      files.json,
      `${JSON.stringify({ workload: 'toy2d-quality', backend: job.backend, spec: job.spec, modified: job.modified, config: job.params, eval_batch: EVAL_BATCH, evaluations: evals, presets: Object.fromEntries(Object.entries(presets).map(([k, v]) => [k, { ...v, times_s: undefined }])) }, null, 1)}\n`,
    );
    env.log(`${job.backend} toy2d-quality: wrote ${Object.values(files).join(', ')}`);

    const details = [
      `toy2d-quality on ${job.backend}: test NLL (nats) on ${p.testSamples} fresh samples per evaluation (exact divergence, dopri5 1e-5, solves of ${Math.min(EVAL_BATCH, p.testSamples)})`,
      '',
      '| preset | iteration | test NLL (nats) | test NFE (per solve) | training s so far | evaluation s | training NFE so far |',
      '| --- | ---: | ---: | ---: | ---: | ---: | ---: |',
      ...evals.map(
        (e) =>
          `| ${e.preset} | ${e.iteration} | ${e.test_nll.toFixed(4)} | ${e.test_nfe.toFixed(1)} | ${e.train_seconds.toFixed(1)} | ${e.eval_seconds.toFixed(1)} | ${e.train_nfe_total} |`,
      ),
      '',
      `files: ${Object.values(files).join(', ')}`,
    ];
    return {
      iterations: p.iterations,
      warmup: 0,
      batch: p.batch,
      times_s: [],
      warmup_times_s: [],
      nfe_forward: null,
      nfe_backward: null,
      runner,
      rows,
      details,
      extra: { eval_batch: EVAL_BATCH, evaluations: evals, presets, files },
    };
  },
};

