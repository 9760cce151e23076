/**
 * The 2-D / tabular training run of `rnode train` (a toy sampler or a data file): its data, its
 * limits, run.json, the call to train() and the summary. The image run is image-run.ts; what both
 * share (flag overrides, checkpoint cadence, tally, divergence rule, threads) is run-shared.ts.
 */
import { existsSync, readFileSync, rmSync } from 'node:fs';
import { writeFileAtomic } from '@rnode/core/node';
import { join, resolve as resolvePath } from 'node:path';
import { Random, RnodeError, useBackend, type BackendChoice } from '@rnode/core';
import { resolveDataset, sampleToy, splitTabular, standardize, type Matrix } from '@rnode/data';
import { readTabularFile } from '@rnode/data/node';
import type { CreateFlowOptions, Flow } from '@rnode/models';
import type { Checkpoint, RunIdentity } from '@rnode/train';
import { DEFAULTS } from '@rnode/solvers';
import { readCheckpoint, type NodeTrainConfig, type trainWithFiles } from '@rnode/train/node';
import type { RunConfig } from './config.js';
import { dataLabel, type DataSpec } from './data.js';
import { UsageError } from './errors.js';
import type { RunFile } from './checkpoint-read.js';
import { evalSolve, type EvalSolve } from './eval-solve.js';
import { checkpointCadence, runCheckpoint, DEFAULT_DIVERGENCE_FACTOR, trainOnThreads, trainingOverrides, trainingTally, finishSummary, type RunSummary, type TrainHooks } from './run-shared.js';
import { TrainingAborted } from './interrupt.js';
import { configHash, openRunFolder, sourceKey, warnStderr } from './run-folder.js';
import { describeTrainConfig, evaluateNll, presets } from '@rnode/train';
import { checkFlowMemory, checkRows, checkSteps, DEFAULT_MAX_STEPS, EVAL_BATCH, shapeOfModelConfig } from './limits.js';
import { BudgetError, evalWatch } from './watch.js';

export interface ToyTrainRun extends RunConfig {
  preset: 'rnode' | 'ffjord';
  iterations: number;
  out: string;
  backend: string;
  /** Archive another run's files in `out` instead of refusing (--force). */
  force?: boolean;
}

/** The summary of a 2-D/tabular run: the shared part (run-shared.ts) and the test NLL of its final solve. */
export interface ToyRunSummary extends RunSummary {
  test_nll: number;
  test_bits_per_dim?: number;
  test_nfe: number;
  test_samples: number;
  test_seconds: number;
  /** The settings the trainer ran with (`describeTrainConfig`), as run.json records them. */
  training: Record<string, unknown>;
}

// ---------------------------------------------------------------------------
// Data: a toy sampler (fresh points every batch) or a standardised tabular split.

export interface PreparedData {
  dim: number;
  source: TrainerData;
  test: Matrix;
  standardize: RunFile['standardize'];
  /** Points in model space for figures (toy: fresh samples; tabular: the training split). */
  points(n: number): Float32Array;
}

type TrainerData = NonNullable<Parameters<typeof trainWithFiles>[0]['data']>;

/** Test points drawn from a toy dataset when --test-samples is not given. */
export const DEFAULT_TEST_SAMPLES = 2000;

export async function prepareData(src: DataSpec, seed: number, testSamples: number | undefined): Promise<PreparedData> {
  if (src.kind === 'toy') {
    const name = src.name;
    const n = testSamples ?? DEFAULT_TEST_SAMPLES;
    const dim = resolveDataset(name).dim; // 2 for the built-ins; a dataset plugin may differ
    const test = { data: sampleToy(name, n, new Random(`${seed}:test`)), rows: n, cols: dim };
    return {
      dim,
      source: (k: number, rng: Random) => sampleToy(name, k, rng),
      test,
      standardize: null,
      points: (k) => sampleToy(name, k, new Random(`${seed}:points`)),
    };
  }
  const m = await readTabularFile(src.path);
  if (m.rows < 10) throw new RnodeError('INVALID_DATA', `${src.path} has ${m.rows} rows; training needs at least 10 (80/10/10 train/validation/test split)`, { source: `file:${src.path}` });
  const split = splitTabular(m, new Random(`${seed}:split`), { test: 0.1, validation: 0.1 });
  const st = standardize(split.train);
  let test = st.apply(split.test);
  if (testSamples !== undefined && testSamples < test.rows) test = { data: test.data.slice(0, testSamples * test.cols), rows: testSamples, cols: test.cols };
  const trainM = st.apply(split.train);
  return {
    dim: m.cols,
    source: { train: trainM, validation: st.apply(split.validation), test },
    test,
    standardize: { mean: Array.from(st.mean), std: Array.from(st.std) },
    points: (k) => trainM.data.slice(0, Math.min(k, trainM.rows) * trainM.cols),
  };
}

// ---------------------------------------------------------------------------
// Test NLL: exact divergence up to 8 dimensions, the solve of eval-solve.ts (FFJORD / RNODE evaluation).

/** Mean NLL (nats) of `m` under `flow`, with the NFE of one test solve (the mean over batches). */
export async function testNll(flow: Flow, m: Matrix, solve: EvalSolve, seed: number): Promise<{ nll: number; nfe: number; nfeTotal: number }> {
  if (m.rows === 0) throw new RnodeError('INVALID_DATA', 'the test set is empty', { source: 'data:test' });
  if (m.cols !== flow.dim) {
    throw new RnodeError('INVALID_DATA', `the data has ${m.cols} columns but the model's dimension is ${flow.dim}`, { source: 'data' });
  }
  const noiseRng = new Random(`${seed}:eval-noise`);
  const estimator = flow.dim <= 8 ? 'exact' : 'hutchinson';
  evalWatch.begin(`test solve of ${m.rows} points`);
  const r = await evaluateNll(flow, m, { solve: { ...solve, estimator, noiseRng }, batchSize: EVAL_BATCH, guard: (f) => evalWatch.guard(f) });
  evalWatch.end();
  return { nll: r.nll, nfe: Math.round(r.nfe / r.solves), nfeTotal: r.nfe };
}

// ---------------------------------------------------------------------------
// Training.

export async function runToyTraining(run: ToyTrainRun, data: DataSpec, hooks: TrainHooks): Promise<ToyRunSummary> {
  const resume = run.resume !== undefined ? readCheckpoint(run.resume, { warn: warnStderr }) : undefined;
  checkTrainingLimits(run, data, resume);
  const backend = await useBackend(run.backend as BackendChoice);
  const seed = run.seed ?? 0;
  const prepared = await prepareData(data, seed, run.testSamples);
  const out = run.out;
  const metricsFile = join(out, 'metrics.jsonl');
  const runFile: RunFile = {
    format: 'rnode-run',
    version: 1,
    data: data.kind === 'file' ? { kind: 'file', path: resolvePath(data.path) } : data,
    seed,
    testSamples: run.testSamples ?? null,
    dim: prepared.dim,
    preset: run.preset,
    standardize: prepared.standardize,
    plugins: run.plugins ?? [],
    regularizers: run.regularizers ?? null,
  };
  // The run's identity, stamped into each checkpoint: what eval/sample/plot/--resume check.
  const identity: RunIdentity = {
    data: sourceKey(runFile.data),
    preset: run.preset,
    seed,
    // A resumed run continues the identity of the run it resumes (its settings come from that checkpoint).
    configHash:
      resume?.run?.configHash ??
      configHash({ ...runFile, model: resume ? resume.model.config : null, hidden: run.hidden ?? null, training: trainingOverrides(run), batchSize: run.batchSize ?? null, lr: run.lr ?? null }),
    source: runFile.data,
    testSamples: runFile.testSamples,
    dim: runFile.dim,
    standardize: runFile.standardize,
    plugins: runFile.plugins ?? [],
  };
  const lock = openRunFolder({ out, identity, ...(run.resume !== undefined ? { resume: run.resume } : {}), ...(run.force ? { force: true } : {}) });
  try {
    return await trainInFolder(run, data, hooks, { backend: backend.name, seed, resume, prepared, out, metricsFile, runFile, identity });
  } finally {
    lock.release();
  }
}

async function trainInFolder(
  run: ToyTrainRun,
  data: DataSpec,
  hooks: TrainHooks,
  o: { backend: string; seed: number; resume: Checkpoint | undefined; prepared: PreparedData; out: string; metricsFile: string; runFile: RunFile; identity: RunIdentity },
): Promise<ToyRunSummary> {
  const { seed, resume, prepared, out, metricsFile, runFile, identity } = o;
  const backend = { name: o.backend };
  if (!resume) rmSync(metricsFile, { force: true });

  const model = (resume
    ? resume.model.config
    : {
        dim: prepared.dim,
        ...(run.hidden !== undefined ? { hidden: run.hidden } : {}),
        ...(run.layer !== undefined ? { layer: run.layer } : {}),
        ...(run.activation !== undefined ? { activation: run.activation } : {}),
        ...(run.blocks !== undefined ? { blocks: run.blocks } : {}),
        ...(run.time !== undefined ? { T: run.time } : {}),
        ...(run.trainTime !== undefined ? { trainT: run.trainTime } : {}),
      }) as CreateFlowOptions;
  const evalEvery = run.evalEvery ?? 0;
  if (run.checkpointEvery === 'epoch' && data.kind === 'toy') {
    throw new UsageError('--checkpoint-every epoch needs tabular or image data (toy data is sampled afresh: it has no epochs); give a number of iterations');
  }
  const cadence = checkpointCadence(run, evalEvery);
  const nothingToTrain = resume !== undefined && resume.iteration >= run.iterations;
  const config: NodeTrainConfig = {
    preset: run.preset,
    data: prepared.source,
    model,
    iterations: run.iterations,
    seed,
    ...trainingOverrides(run),
    ...(run.batchSize !== undefined ? { batchSize: run.batchSize } : {}),
    ...(run.lr !== undefined ? { lr: run.lr } : {}),
    ...(run.warmup !== undefined ? { warmup: run.warmup } : {}),
    ...(evalEvery > 0 ? { evalEvery, evalSamples: prepared.test.rows } : {}),
    // The evaluation solve is the library's default (dopri5 at 1e-5, @rnode/solvers' DEFAULTS), within the step budget.
    evaluation: { maxSteps: evalWatch.maxSteps, onStep: evalWatch.onStep },
    ...cadence.options,
    checkpointDir: out,
    metricsFile,
    identity,
    ...(resume ? { resume } : {}),
  };
  // What the trainer will run with (its checkpoints record the same), in run.json and the summary.
  const training = describeTrainConfig(config);
  writeFileAtomic(join(out, 'run.json'), `${JSON.stringify({ ...runFile, training }, null, 2)}\n`);

  // A resumed run carries the training NFE of the iterations before it (from its metrics file).
  // Stops the run after its current step: the divergence rule, or SIGINT/SIGTERM (hooks.signal).
  const abort = new AbortController();
  if (hooks.signal?.aborted) abort.abort();
  else hooks.signal?.addEventListener('abort', () => abort.abort(), { once: true });
  const { tally, onEvent } = trainingTally(hooks, { nfe: resume ? priorNfe(metricsFile, resume.iteration) : 0, checkpoint: join(out, 'last.json') }, (e) => {
    hooks.log(`eval ${e.iteration}: validation NLL ${e.nll.toFixed(4)} ${e.nllUnit} on ${e.samples} points, NFE ${e.nfePerSolve.toFixed(0)} per solve (${e.solves} solves)`);
    hooks.event({ ...e });
  }, { factor: run.divergenceFactor ?? DEFAULT_DIVERGENCE_FACTOR, abort });
  hooks.start(run.iterations, resume?.iteration ?? 0);
  const t0 = performance.now();
  const result = await evalWatch.guard(() => trainOnThreads(run.threads, config, { onEvent, signal: abort.signal }));
  if (tally.diverged) {
    result.trainer.dispose();
    hooks.event({ type: 'diverged', iteration: result.iteration, message: tally.diverged, checkpoint: tally.checkpoint });
    throw new BudgetError(tally.diverged);
  }
  const seconds = (performance.now() - t0) / 1000;
  try {
    if (result.reason === 'aborted') throw new TrainingAborted(result.iteration, run.iterations, runCheckpoint(tally, run.resume));
    const flow = result.trainer.flow as unknown as Flow;
    const t1 = performance.now();
    const test = await testNll(flow, prepared.test, evalSolve({}), seed);
    return finishSummary(
      {
        test_nll: test.nll,
        ...(prepared.dim > 2 ? { test_bits_per_dim: test.nll / (prepared.dim * Math.LN2) } : {}),
        test_nfe: test.nfe,
        test_samples: prepared.test.rows,
        test_seconds: (performance.now() - t1) / 1000,
      },
      { tally, result, target: run.iterations, nothingToTrain, seconds, backend: backend.name, resume: run.resume, cadence, metricsFile, preset: run.preset, data: dataLabel(data), dim: prepared.dim, seed },
      { training },
    );
  } finally {
    result.trainer.dispose();
  }
}

/** Sizes and step counts of a training run, before its data or model is allocated. */
function checkTrainingLimits(run: ToyTrainRun, data: DataSpec, resume: Checkpoint | undefined): void {
  const dim = data.kind === 'toy' ? resolveDataset(data.name).dim : undefined;
  const where = resume ? `checkpoint ${run.resume}` : 'options';
  const shape = resume
    ? shapeOfModelConfig(resume.model.config, dim)
    : dim !== undefined || run.hidden !== undefined
      ? shapeOfModelConfig({ dim: dim ?? 1, hidden: run.hidden, blocks: run.blocks, T: run.time }, dim)
      : null;
  if (shape) {
    checkFlowMemory(shape, run.batchSize ?? 100, where, { training: true });
    const preset = presets[run.preset];
    const solver = (run.solver ?? preset.solver) as string;
    checkSteps({ solver, stepSize: run.stepSize ?? preset.stepSize, T: shape.T, maxSteps: DEFAULT_MAX_STEPS, where: `${where} (training solve)` });
    checkSteps({ solver: DEFAULTS.method, stepSize: undefined, T: shape.T, maxSteps: DEFAULT_MAX_STEPS, where });
  }
  if (data.kind === 'toy' && dim !== undefined) checkRows(run.testSamples ?? DEFAULT_TEST_SAMPLES, dim, shape, '--test-samples', { batch: EVAL_BATCH });
}

function priorNfe(metricsFile: string, upTo: number): number {
  if (!existsSync(metricsFile)) return 0;
  const seen = new Map<number, number>();
  for (const line of readFileSync(metricsFile, 'utf8').split('\n')) {
    if (!line.startsWith('{"type":"iteration"')) continue;
    try {
      const e = JSON.parse(line) as { iteration: number; nfeForward: number; nfeBackward: number };
      if (e.iteration <= upTo) seen.set(e.iteration, e.nfeForward + e.nfeBackward);
    } catch {
      /* a torn last line */
    }
  }
  let total = 0;
  for (const v of seen.values()) total += v;
  return total;
}
