// What the two training runs of `rnode train` share — the 2-D/tabular run (toy-run.ts) and the
// image run (image-run.ts): the hooks they report to, the flag overrides passed to train(), the
// checkpoint cadence, the tally kept from its events, the divergence rule, the data-parallel
// threads around it, and the part of the summary they have in common.
import type { EvaluationEvent, RegularizerWeights, TrainerEvent, TrainingOptions } from '@rnode/train';
import type { SolverRef } from '@rnode/solvers';
import type { EstimatorRef } from '@rnode/estimators';
import type { AdjointRef } from '@rnode/adjoint';
import { createWorkerGradients, trainWithFiles } from '@rnode/train/node';
import { appendFileDurable } from '@rnode/core/node';
import type { ProgressValues } from './progress.js';
import { foldRegularizers, type RunConfig } from './config.js';
import { loadedPluginModules } from './plugins.js';
import { evalWatch } from './watch.js';

export interface TrainHooks {
  start(total: number, from: number): void;
  iteration(iteration: number, v: ProgressValues): void;
  log(line: string): void;
  /** Evaluations and checkpoints, as JSON-able objects (printed as lines with --json). */
  event(e: Record<string, unknown>): void;
  /** Aborted by SIGINT/SIGTERM: training stops after the current step and saves last.json. */
  signal?: AbortSignal;
}

/**
 * What both runs report when they end (the summary `--json` prints and the metrics file's `test`
 * line); each run adds its test result: `ToyRunSummary` (toy-run.ts: the test NLL of its final
 * solve) and `ImageRunSummary` (image-run.ts: the last evaluation's bits/dim, epochs, curve).
 */
export interface RunSummary {
  train_nfe_total: number;
  iterations: number;
  iterations_run: number;
  target_iterations: number;
  nothing_to_train?: true;
  seconds: number;
  backend: string;
  checkpoint: string;
  checkpoint_every: number | 'epoch';
  checkpoint_minutes: number;
  metrics: string;
  preset: string;
  data: string;
  dim: number;
  seed: number;
  reason: string;
  [k: string]: unknown;
}

/**
 * The summary of a run: its test result, the shared part, then what only that run reports (in
 * that key order; `epochs`, given by the image run, comes right after the iteration counts). The
 * summary is also appended to the metrics file as its `test` line.
 */
export function finishSummary<T extends object, R extends object, E extends number | undefined = undefined>(
  test: T,
  shared: {
    tally: { nfeTotal: number; iterations: number; saved: boolean; checkpoint: string };
    result: { iteration: number; reason: string };
    target: number;
    nothingToTrain: boolean;
    epochs?: E;
    seconds: number;
    backend: string;
    resume: string | undefined;
    cadence: { every: number | 'epoch'; minutes: number };
    metricsFile: string;
    preset: string;
    data: string;
    dim: number;
    seed: number;
  },
  rest: R,
): T & RunSummary & R & (E extends number ? { epochs: number } : unknown) {
  const s = shared;
  const summary = {
    ...test,
    train_nfe_total: s.tally.nfeTotal,
    iterations: s.result.iteration,
    iterations_run: s.tally.iterations,
    target_iterations: s.target,
    ...(s.nothingToTrain ? { nothing_to_train: true as const } : {}),
    ...(s.epochs !== undefined ? { epochs: s.epochs } : {}),
    seconds: s.seconds,
    backend: s.backend,
    checkpoint: runCheckpoint(s.tally, s.resume),
    checkpoint_every: s.cadence.every,
    checkpoint_minutes: s.cadence.minutes,
    metrics: s.metricsFile,
    preset: s.preset,
    data: s.data,
    dim: s.dim,
    seed: s.seed,
    reason: s.result.reason,
    ...rest,
  };
  appendFileDurable(s.metricsFile, `${JSON.stringify({ type: 'test', ...summary })}\n`, { sync: true, what: 'metrics file ' });
  return summary as T & RunSummary & R & (E extends number ? { epochs: number } : unknown); // epochs: present exactly when E is a number
}

/** The training options the 2-D and the image runs both take from the flags, when given. */
export function trainingOverrides(run: RunConfig): Partial<TrainingOptions> {
  const regularizers = foldRegularizers(run, 'options').regularizers ?? {};
  // Names from flags and config files: checked against the registry once plugins are loaded (plugins.ts).
  return {
    ...(run.solver !== undefined ? { solver: run.solver as SolverRef } : {}),
    ...(run.stepSize !== undefined ? { stepSize: run.stepSize } : {}),
    ...(run.rtol !== undefined ? { rtol: run.rtol } : {}),
    ...(run.atol !== undefined ? { atol: run.atol } : {}),
    ...(run.estimator !== undefined ? { estimator: run.estimator as EstimatorRef } : {}),
    ...(run.adjoint !== undefined ? { adjoint: run.adjoint as AdjointRef } : {}),
    ...(Object.keys(regularizers).length ? { regularizers: regularizers as RegularizerWeights } : {}),
    ...(run.reduction !== undefined ? { reduction: run.reduction } : {}),
    ...(run.monitor?.length ? { monitor: run.monitor as NonNullable<TrainingOptions['monitor']> } : {}),
  };
}

/** The CLI's default time cadence of last.json, in minutes (`--checkpoint-minutes`). */
export const DEFAULT_CHECKPOINT_MINUTES = 10;

/**
 * When last.json is written besides the end: every `every` iterations (or 'epoch'; 0: no
 * iteration cadence; default `fallback`) and every `minutes` of wall-clock time (0: none).
 * `options` are the keys of `train()`; `every`/`minutes` are what the summary records.
 */
export function checkpointCadence(run: RunConfig, fallback: number | 'epoch') {
  const every = run.checkpointEvery ?? fallback;
  const minutes = run.checkpointMinutes ?? DEFAULT_CHECKPOINT_MINUTES;
  return { every, minutes, options: { checkpointEvery: every, checkpointMinutes: minutes } };
}

/** The checkpoint a run leaves: the last one it wrote, else the one it resumed from (else where it would have written). */
export function runCheckpoint(tally: { saved: boolean; checkpoint: string }, resume: string | undefined): string {
  return tally.saved ? tally.checkpoint : (resume ?? tally.checkpoint);
}

/**
 * What a run counts from the trainer's events (training NFE, iterations run, the last
 * checkpoint written and whether this run wrote one), with iterations reported to `hooks`, checkpoints as events, and
 * evaluations handed to `onEvaluation`.
 */
export function trainingTally(
  hooks: TrainHooks,
  start: { nfe: number; checkpoint: string },
  onEvaluation: (e: EvaluationEvent) => void,
  divergence?: { factor: number; abort: AbortController },
) {
  const tally = { nfeTotal: start.nfe, iterations: 0, checkpoint: start.checkpoint, saved: false, diverged: null as string | null };
  const watch = divergence && divergence.factor > 0 ? divergenceRule(divergence.factor) : null;
  const onEvent = (e: TrainerEvent): void => {
    if (e.type === 'iteration') {
      const why = watch?.(e.iteration, e.loss);
      if (why && !tally.diverged) {
        tally.diverged = why;
        divergence!.abort.abort();
      }
      evalWatch.begin(`validation at iteration ${e.iteration}`);
      tally.nfeTotal += e.nfeForward + e.nfeBackward;
      tally.iterations += 1;
      hooks.iteration(e.iteration, { loss: e.loss, nfe: e.nfeForward + e.nfeBackward });
    } else if (e.type === 'evaluation') {
      onEvaluation(e);
    } else if (e.type === 'checkpoint') {
      if (e.kind === 'last' && e.path) {
        tally.checkpoint = e.path;
        tally.saved = true;
      }
      hooks.event({ ...e });
    }
  };
  return { tally, onEvent };
}

/** Iterations whose median loss is the early level. */
export const DIVERGENCE_WARMUP = 10;
/** Consecutive iterations above the threshold before training stops. */
export const DIVERGENCE_PATIENCE = 5;
export const DEFAULT_DIVERGENCE_FACTOR = 1000;

/**
 * The loss-explosion rule: m = the lowest loss of the first 10 iterations of this run; training
 * stops after 5 iterations in a row with loss > m + factor·max(1, |m|). Returns the message when
 * it fires. (A non-finite loss already stops training with NON_FINITE.)
 */
export function divergenceRule(factor: number): (iteration: number, loss: number) => string | null {
  const early: number[] = [];
  let m: number | null = null;
  let above = 0;
  return (iteration, loss) => {
    if (m === null) {
      early.push(loss);
      if (early.length < DIVERGENCE_WARMUP) return null;
      // The lowest, not the median: with a huge learning rate the loss explodes from the second iteration.
      m = Math.min(...early);
      return null;
    }
    const threshold = m + factor * Math.max(1, Math.abs(m));
    above = loss > threshold ? above + 1 : 0;
    if (above < DIVERGENCE_PATIENCE) return null;
    return `training diverged: the loss was ${loss.toPrecision(3)} at iteration ${iteration}, above ${threshold.toPrecision(3)} (its early level ${m.toPrecision(3)} + ${factor}·max(1, |${m.toPrecision(3)}|)) for ${DIVERGENCE_PATIENCE} iterations in a row; lower --lr, or change the rule with --divergence-factor (0 turns it off). The last checkpoint was kept`;
  };
}

/**
 * `train` on `threads` threads (worker threads for the shards when > 1), the workers stopped
 * afterwards. Each worker first imports the plugin modules this thread loaded (--plugin).
 */
export async function trainOnThreads(threads: number | undefined, ...[config, runOptions]: Parameters<typeof trainWithFiles>): ReturnType<typeof trainWithFiles> {
  const setup = loadedPluginModules().map((m) => m.url);
  const parallel = (threads ?? 1) > 1 ? createWorkerGradients({ threads: threads!, ...(setup.length ? { setup } : {}) }) : undefined;
  try {
    return await trainWithFiles(config, { ...runOptions, ...(parallel ? { parallel } : {}) });
  } finally {
    await parallel?.dispose();
  }
}
