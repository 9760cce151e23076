// What a reproduction reads back from its saved runs: each run folder's metrics.jsonl (iterations,
// evaluations, the test line) and result.json. Figures and reports are built from these alone, so
// `rnode reproduce --report-only` regenerates them without training.
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { UsageError } from '../errors.js';
import { readJobResult, type JobResult } from '../sweep/results.js';
import { runDirOf } from '../sweep/local.js';
import type { ExperimentRun } from './experiments.js';

export interface IterationLine {
  iteration: number;
  loss: number;
  nll: number;
  nfeForward: number;
  nfeBackward: number;
  /** Seconds of this iteration's training step. */
  time: number;
  kineticEnergy?: number;
  jacobianNorm?: number;
}

export interface EvaluationLine {
  iteration: number;
  /** bits/dim for image runs, nats for 2-D ones. */
  nll: number;
  nfePerSolve?: number;
}

export interface RunData {
  run: ExperimentRun;
  dir: string;
  result: JobResult | null;
  /** One line per iteration (a resumed run's repeated iterations: the last written). */
  iterations: IterationLine[];
  evaluations: EvaluationLine[];
  /** The metrics file's test line (the run's summary), when the run finished. */
  test: Record<string, unknown> | null;
  /** Iterations per epoch of an image run (from its summary), else null. */
  perEpoch: number | null;
  /** Training seconds: the sum of the iterations' step times (evaluations and start-up excluded). */
  trainSeconds: number;
  /** The error a failed run stopped with (diverged, non-finite loss), else null. */
  failure: string | null;
}

/** The run's data, or null when its folder has no metrics yet. */
export function readRun(out: string, run: ExperimentRun): RunData | null {
  const dir = runDirOf(out, run.id);
  const file = join(dir, 'metrics.jsonl');
  if (!existsSync(file)) return null;
  const byIteration = new Map<number, IterationLine>();
  const evaluations = new Map<number, EvaluationLine>();
  let test: Record<string, unknown> | null = null;
  const lines = readFileSync(file, 'utf8').split('\n');
  for (const [i, line] of lines.entries()) {
    if (!line.trim()) continue;
    let v: Record<string, unknown>;
    try {
      v = JSON.parse(line) as Record<string, unknown>;
    } catch {
      // A torn last line of a killed run is skipped; anything else is a damaged file.
      if (i === lines.length - 1 || lines.slice(i + 1).every((l) => !l.trim())) continue;
      throw new UsageError(`${file}: line ${i + 1} is not JSON; the run's metrics are damaged (train the run again: remove ${dir})`);
    }
    if (v['type'] === 'iteration') byIteration.set(v['iteration'] as number, v as unknown as IterationLine);
    else if (v['type'] === 'evaluation') evaluations.set(v['iteration'] as number, v as unknown as EvaluationLine);
    else if (v['type'] === 'test') test = v;
  }
  const iterations = [...byIteration.values()].sort((a, b) => a.iteration - b.iteration);
  const result = readJobResult(dir);
  const epochs = typeof test?.['epochs'] === 'number' ? (test['epochs'] as number) : null;
  const done = typeof test?.['iterations'] === 'number' ? (test['iterations'] as number) : null;
  return {
    run,
    dir,
    result,
    iterations,
    evaluations: [...evaluations.values()].sort((a, b) => a.iteration - b.iteration),
    test,
    perEpoch: epochs && done ? Math.round(done / epochs) : null,
    trainSeconds: iterations.reduce((s, l) => s + l.time, 0),
    failure: result?.status === 'failed' ? (result.error ?? 'failed') : null,
  };
}

/** The runs' data; runs without metrics are an error naming them, their folder and the command that trains them. */
export function readRuns(out: string, runs: readonly ExperimentRun[], command: string): Map<string, RunData> {
  const m = new Map<string, RunData>();
  const missing: string[] = [];
  for (const r of runs) {
    const d = readRun(out, r);
    if (d) m.set(r.id, d);
    else missing.push(r.id);
  }
  if (missing.length) {
    throw new UsageError(
      `${missing.length === 1 ? 'a run has' : `${missing.length} runs have`} not been trained: ${missing.join(', ')} (no metrics.jsonl in ${runDirOf(out, '<id>')}); train ${missing.length === 1 ? 'it' : 'them'} with: ${command}`,
    );
  }
  return m;
}

/** The test bits/dim (images) or NLL in nats (2-D) of a finished run, else null. */
export function testScore(d: RunData): number | null {
  const t = d.test;
  if (!t) return null;
  const v = typeof t['test_bits_per_dim'] === 'number' ? t['test_bits_per_dim'] : t['test_nll'];
  return typeof v === 'number' ? v : null;
}

/** Mean of a monitored quantity over the last `fraction` of the iterations. */
export function tailMean(d: RunData, key: 'kineticEnergy' | 'jacobianNorm', fraction = 0.1): number | null {
  const xs = d.iterations.map((l) => l[key]).filter((v): v is number => typeof v === 'number' && Number.isFinite(v));
  if (xs.length === 0) return null;
  const tail = xs.slice(Math.max(0, xs.length - Math.max(1, Math.round(xs.length * fraction))));
  return tail.reduce((a, b) => a + b, 0) / tail.length;
}
