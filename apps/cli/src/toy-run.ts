/**
 * The bridge between the commands and the library packages (@rnode/train,
 * @rnode/models, @rnode/data). Commands deal in flags and output; this file
 * deals in tensors, checkpoints and the training loop.
 */
import { existsSync, readFileSync, rmSync } from 'node:fs';
import { appendFileDurable, writeFileAtomic } from '@rnode/core/node';
import { dirname, join, resolve as resolvePath } from 'node:path';
import { Random, RnodeError, useBackend, type BackendChoice } from '@rnode/core';
import { resolveDataset, sampleToy, splitTabular, standardize, type Matrix } from '@rnode/data';
import { readTabularFile } from '@rnode/data/node';
import { loadModel, type CreateFlowOptions, type Flow, type ModelFile } from '@rnode/models';
import type { Checkpoint, RunIdentity } from '@rnode/train';
import { DEFAULTS, type SolverRef } from '@rnode/solvers';
import { readCheckpoint, type NodeTrainConfig, type trainWithFiles } from '@rnode/train/node';
import type { TrainConfig } from './config.js';
import { dataLabel, type DataSource } from './data.js';
import { messageOf, UsageError } from './errors.js';
import { loadPluginModules, PluginModuleError } from './plugins.js';
import type { ProgressValues } from './progress.js';
import { evaluateImageFlow, type ImageRunData } from './images.js';
import { checkpointCadence, runCheckpoint, DEFAULT_DIVERGENCE_FACTOR, trainOnThreads, trainingOverrides, trainingTally } from './training.js';
import { TrainingAborted } from './interrupt.js';
import { checkRunFileAgrees, configHash, openRunFolder, sourceKey, warnStderr } from './run-folder.js';
import type { ImageFlow } from '@rnode/models';
import { describeTrainConfig, evaluateNll, presets } from '@rnode/train';
import { checkFlowMemory, checkRows, checkSteps, DEFAULT_MAX_STEPS, EVAL_BATCH, shapeOfModelConfig, type FlowShape } from './limits.js';
import { BudgetError, evalWatch } from './watch.js';

export interface TrainRun extends TrainConfig {
  preset: 'rnode' | 'ffjord';
  iterations: number;
  out: string;
  backend: string;
  /** Archive another run's files in `out` instead of refusing (--force). */
  force?: boolean;
}

export interface TrainHooks {
  start(total: number, from: number): void;
  iteration(iteration: number, v: ProgressValues): void;
  log(line: string): void;
  /** Evaluations and checkpoints, as JSON-able objects (printed as lines with --json). */
  event(e: Record<string, unknown>): void;
  /** Aborted by SIGINT/SIGTERM: training stops after the current step and saves last.json. */
  signal?: AbortSignal;
}

export interface TrainSummary {
  test_nll: number;
  test_bits_per_dim?: number;
  test_nfe: number;
  train_nfe_total: number;
  iterations: number;
  seconds: number;
  backend: string;
  checkpoint: string;
  metrics: string;
  preset: string;
  data: string;
  [k: string]: unknown;
}

export interface SolveFlags {
  solver?: string;
  stepSize?: number;
  rtol?: number;
  atol?: number;
  maxSteps?: number;
}

// ---------------------------------------------------------------------------
// Data: a toy sampler (fresh points every batch) or a standardised tabular split.

/** What `rnode train` writes beside the checkpoints so that eval/sample/plot can rebuild the data. */
export interface RunFile {
  format: 'rnode-run';
  version: 1;
  data: DataSource;
  seed: number;
  testSamples: number | null;
  dim: number;
  preset: string;
  /** The settings the trainer ran with (`describeTrainConfig` of @rnode/train: what its checkpoints record). Absent in older runs. */
  training?: Record<string, unknown>;
  /** Tabular data: the training split's column means and standard deviations. */
  standardize: { mean: number[]; std: number[] } | null;
  /** The run's plugin modules (--plugin): absolute paths or package names; eval/sample/plot load them. Absent in older runs. */
  plugins?: string[];
  /** The regularizer weights given (--regularizer, --lambda-k/-j, config), over the preset's. */
  regularizers?: Record<string, number> | null;
}

export interface PreparedData {
  dim: number;
  source: TrainerData;
  test: Matrix;
  standardize: RunFile['standardize'];
  /** Points in model space for figures (toy: fresh samples; tabular: the training split). */
  points(n: number): Float32Array;
}

type TrainerData = NonNullable<Parameters<typeof trainWithFiles>[0]['data']>;

const DEFAULT_TEST_SAMPLES = 2000;

export async function prepareData(src: DataSource, seed: number, testSamples: number | undefined): Promise<PreparedData> {
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
// Test-time solve: exact divergence up to 8 dimensions, dopri5 at 1e-5 (FFJORD / RNODE evaluation).

export interface EvalSolve {
  method: SolverRef;
  rtol: number;
  atol: number;
  stepSize?: number;
  /** The evaluation budget (--max-steps, default 10,000 step attempts per solve). */
  maxSteps: number;
  /** Progress and the time budget (watch.ts). */
  onStep: NonNullable<import('@rnode/solvers').OdeintOptions['onStep']>;
}

export function evalSolve(f: SolveFlags): EvalSolve {
  return {
    method: (f.solver ?? DEFAULTS.method) as SolverRef, // checked against the registry (plugins.ts)
    rtol: f.rtol ?? DEFAULTS.rtol,
    atol: f.atol ?? DEFAULTS.atol,
    ...(f.stepSize !== undefined ? { stepSize: f.stepSize } : {}),
    maxSteps: f.maxSteps ?? evalWatch.maxSteps,
    onStep: evalWatch.onStep,
  };
}

/** A dense flow's shape and step count must fit before it is built (flags, config files, checkpoints alike). */
function checkModel(shape: FlowShape | null, rows: number, solve: SolveFlags, where: string, training: boolean): void {
  if (!shape) return;
  checkFlowMemory(shape, rows, where, { training });
  const e = evalSolve(solve);
  checkSteps({ solver: e.method as string, stepSize: e.stepSize, T: shape.T, maxSteps: solve.maxSteps ?? evalWatch.maxSteps, where });
}

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

export async function runTraining(run: TrainRun, data: DataSource, hooks: TrainHooks): Promise<TrainSummary> {
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
  run: TrainRun,
  data: DataSource,
  hooks: TrainHooks,
  o: { backend: string; seed: number; resume: Checkpoint | undefined; prepared: PreparedData; out: string; metricsFile: string; runFile: RunFile; identity: RunIdentity },
): Promise<TrainSummary> {
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
    const summary: TrainSummary = {
      test_nll: test.nll,
      ...(prepared.dim > 2 ? { test_bits_per_dim: test.nll / (prepared.dim * Math.LN2) } : {}),
      test_nfe: test.nfe,
      test_samples: prepared.test.rows,
      test_seconds: (performance.now() - t1) / 1000,
      train_nfe_total: tally.nfeTotal,
      iterations: result.iteration,
      iterations_run: tally.iterations,
      target_iterations: run.iterations,
      ...(nothingToTrain ? { nothing_to_train: true } : {}),
      seconds,
      backend: backend.name,
      checkpoint: runCheckpoint(tally, run.resume),
      checkpoint_every: cadence.every,
      checkpoint_minutes: cadence.minutes,
      metrics: metricsFile,
      preset: run.preset,
      data: dataLabel(data),
      dim: prepared.dim,
      seed,
      reason: result.reason,
      training,
    };
    appendFileDurable(metricsFile, `${JSON.stringify({ type: 'test', ...summary })}\n`, { sync: true, what: 'metrics file ' });
    return summary;
  } finally {
    result.trainer.dispose();
  }
}

/** Sizes and step counts of a training run, before its data or model is allocated. */
function checkTrainingLimits(run: TrainRun, data: DataSource, resume: Checkpoint | undefined): void {
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

// ---------------------------------------------------------------------------
// Checkpoints: the flow, and the run file written beside it.

export interface LoadedCheckpoint {
  flow: Flow;
  checkpoint: Checkpoint;
  run: RunFile | null;
}

/** The run.json beside a checkpoint (null when there is none or it is not one). */
export function readRunFile(checkpoint: string): { path: string; run: RunFile | null } {
  const path = join(dirname(checkpoint), 'run.json');
  if (!existsSync(path)) return { path, run: null };
  try {
    const r = JSON.parse(readFileSync(path, 'utf8')) as RunFile;
    return { path, run: r.format === 'rnode-run' ? r : null };
  } catch {
    return { path, run: null };
  }
}

/**
 * The plugin modules of eval/sample/plot: those given with --plugin, or else the ones recorded in
 * the run.json of each checkpoint. A recorded module that cannot be loaded is a UsageError that
 * says which --plugin to pass.
 */
export async function loadCheckpointPlugins(given: readonly string[] | undefined, checkpoints: readonly string[]): Promise<void> {
  if (given?.length) {
    await loadPluginModules(given);
    return;
  }
  for (const ck of checkpoints) {
    const { path, run } = readRunFile(ck);
    for (const spec of run?.plugins ?? []) {
      try {
        await loadPluginModules([spec]);
      } catch (e) {
        const why = e instanceof PluginModuleError ? e.reason : messageOf(e);
        const all = run!.plugins!;
        throw new UsageError(
          `${ck} was trained with --plugin ${spec} (recorded in ${path}), which cannot be loaded: ${why}. Pass --plugin <its new location>${all.length > 1 ? ` for each module the run used (${all.join(', ')})` : ''}`,
        );
      }
    }
  }
}

/** A checkpoint read (verified) and checked against the limits (its model not built yet). */
export function readCheckedCheckpoint(path: string, limits?: { rows: number; solve: SolveFlags }): { checkpoint: Checkpoint; shape: FlowShape | null } {
  const checkpoint = readCheckpoint(path, { warn: warnStderr });
  // The model's size comes from the file: check it before building it (a config saying hidden [1e8,1e8,1e8]).
  const shape = shapeOfModelConfig(checkpoint.model.config);
  checkModel(shape, limits?.rows ?? EVAL_BATCH, limits?.solve ?? {}, `checkpoint ${path}`, false);
  return { checkpoint, shape };
}

/**
 * Read a checkpoint (verified, within the limits) and the run it belongs to: run.json beside it,
 * which must agree with the checkpoint's own identity (else an error: the folder mixes two runs),
 * or, without a run.json, the record the checkpoint carries.
 */
export function loadCheckpoint(path: string, limits?: { rows: number; solve: SolveFlags }, read = readCheckedCheckpoint(path, limits)): LoadedCheckpoint {
  const { checkpoint } = read;
  const beside = readRunFile(path);
  checkRunFileAgrees(path, checkpoint, beside.path, beside.run);
  const flow = loadModel(checkpoint.model as unknown as ModelFile);
  return { flow, checkpoint, run: beside.run ?? runFileFromIdentity(checkpoint.run) };
}

/** A run file rebuilt from the identity a checkpoint carries (when its run.json is missing). */
function runFileFromIdentity(id: RunIdentity | undefined): RunFile | null {
  if (!id || typeof id.source !== 'object' || id.source === null) return null;
  return {
    format: 'rnode-run',
    version: 1,
    data: id.source as DataSource,
    seed: id.seed,
    testSamples: (id.testSamples as number | null | undefined) ?? null,
    dim: (id.dim as number | undefined) ?? 0,
    preset: id.preset,
    standardize: (id.standardize as RunFile['standardize'] | undefined) ?? null,
    plugins: (id.plugins as string[] | undefined) ?? [],
  };
}

export interface CheckpointRequest {
  checkpoint: string;
  backend: string;
  seed: number;
  solve: SolveFlags;
}

export interface EvalResult {
  test_nll: number;
  test_bits_per_dim?: number;
  test_nfe: number;
  n: number;
  dim: number;
  data: string;
  backend: string;
  seconds: number;
}

export async function evaluateCheckpoint(r: CheckpointRequest & { data?: DataSource; testSamples?: number }): Promise<EvalResult> {
  const run0 = readRunFile(r.checkpoint).run;
  const testSamples = r.testSamples ?? run0?.testSamples ?? undefined;
  const limits = { rows: Math.min(testSamples ?? DEFAULT_TEST_SAMPLES, EVAL_BATCH), solve: r.solve };
  const read = readCheckedCheckpoint(r.checkpoint, limits);
  const src0 = r.data ?? run0?.data;
  if (src0?.kind === 'toy' && read.shape) {
    const from = r.testSamples !== undefined ? '--test-samples' : run0?.testSamples != null ? `"testSamples" of ${readRunFile(r.checkpoint).path}` : 'test samples';
    checkRows(testSamples ?? DEFAULT_TEST_SAMPLES, read.shape.dim, read.shape, from, { batch: EVAL_BATCH });
  }
  const backend = await useBackend(r.backend as BackendChoice);
  const ck = loadCheckpoint(r.checkpoint, limits, read);
  try {
    const imageRun = (ck.run?.data as unknown as ImageRunData | undefined)?.kind === 'image' ? (ck.run!.data as unknown as ImageRunData) : null;
    if (imageRun) {
      if (r.data) throw new UsageError('--data applies to 2-D/tabular checkpoints; an image checkpoint is evaluated on its run\'s test set');
      const t0 = performance.now();
      const ev = await evaluateImageFlow(ck.flow as unknown as ImageFlow, imageRun, ck.run?.seed ?? r.seed, evalSolve(r.solve), r.testSamples);
      return {
        test_nll: ev.bpd * ck.flow.dim * Math.LN2,
        test_bits_per_dim: ev.bpd,
        test_nfe: ev.nfe,
        n: ev.n,
        dim: ck.flow.dim,
        data: imageRun.name,
        backend: backend.name,
        seconds: (performance.now() - t0) / 1000,
      };
    }
    const src = r.data ?? ck.run?.data;
    if (!src) {
      throw new UsageError(`${r.checkpoint} has no run.json beside it to say what data it was trained on: pass --data`);
    }
    const seed = r.data ? r.seed : (ck.run?.seed ?? r.seed);
    const prepared = await prepareData(src, seed, r.testSamples ?? ck.run?.testSamples ?? undefined);
    const t0 = performance.now();
    const t = await testNll(ck.flow, prepared.test, evalSolve(r.solve), seed);
    return {
      test_nll: t.nll,
      ...(prepared.dim > 2 ? { test_bits_per_dim: t.nll / (prepared.dim * Math.LN2) } : {}),
      test_nfe: t.nfe,
      n: prepared.test.rows,
      dim: prepared.dim,
      data: dataLabel(src),
      backend: backend.name,
      seconds: (performance.now() - t0) / 1000,
    };
  } finally {
    ck.flow.dispose();
  }
}

export interface SampleResult {
  data: Float32Array;
  rows: number;
  cols: number;
}

export async function sampleCheckpoint(r: CheckpointRequest & { n: number }): Promise<SampleResult & { run: RunFile | null }> {
  const read = readCheckedCheckpoint(r.checkpoint, { rows: 1, solve: r.solve }); // the rows are checkRows' (its message names -n)
  if (read.shape) checkRows(r.n, read.shape.dim, read.shape, '-n', { batch: r.n });
  await useBackend(r.backend as BackendChoice);
  const ck = loadCheckpoint(r.checkpoint, { rows: r.n, solve: r.solve }, read);
  try {
    evalWatch.begin(`sampling ${r.n} points`);
    const x = await evalWatch.guard(() => ck.flow.sampleAsync(r.n, new Random(`${r.seed}:sample`), evalSolve(r.solve)));
    evalWatch.end();
    const data = (await x.data()) as Float32Array;
    x.dispose();
    const cols = ck.flow.dim;
    const st = ck.run?.standardize;
    if (st) for (let i = 0; i < data.length; i++) data[i] = data[i]! * st.std[i % cols]! + st.mean[i % cols]!;
    return { data, rows: r.n, cols, run: ck.run };
  } finally {
    ck.flow.dispose();
  }
}

/** The solve flags that were given. */
export function pick(f: { solver?: string; stepSize?: number; rtol?: number; atol?: number; maxSteps?: number }) {
  const out: { solver?: string; stepSize?: number; rtol?: number; atol?: number; maxSteps?: number } = {};
  if (f.maxSteps !== undefined) out.maxSteps = f.maxSteps;
  if (f.solver !== undefined) out.solver = f.solver;
  if (f.stepSize !== undefined) out.stepSize = f.stepSize;
  if (f.rtol !== undefined) out.rtol = f.rtol;
  if (f.atol !== undefined) out.atol = f.atol;
  return out;
}
