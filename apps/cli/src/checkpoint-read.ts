/**
 * Reading a checkpoint of `rnode train` and the run.json beside it, and what eval, sample and plot
 * do with it: the plugin modules the run used, the limits checked before its model is built, the
 * test NLL (`evaluateCheckpoint`) and samples (`sampleCheckpoint`).
 */
import { existsSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { Random, useBackend, type BackendChoice } from '@rnode/core';
import { loadModel, type Flow, type ImageFlow, type ImageModelFile, type ModelFile } from '@rnode/models';
import type { Checkpoint, RunIdentity } from '@rnode/train';
import { readCheckpoint } from '@rnode/train/node';
import { dataLabel, type DataSpec } from './data.js';
import { messageOf, UsageError } from './errors.js';
import { evalSolve, type EvalSolve, type SolveFlags } from './eval-solve.js';
import { evaluateImageFlow, sampleImages, type ImageRunData } from './image-run.js';
import { checkFlowMemory, checkRows, checkSteps, EVAL_BATCH, shapeOfModelConfig, type FlowShape } from './limits.js';
import { loadPluginModules, PluginModuleError } from './plugins.js';
import { checkRunFileAgrees, warnStderr } from './run-folder.js';
import { DEFAULT_TEST_SAMPLES, prepareData, testNll } from './toy-run.js';
import { evalWatch } from './watch.js';

/** What `rnode train` writes beside the checkpoints so that eval/sample/plot can rebuild the data. */
export interface RunFile {
  format: 'rnode-run';
  version: 1;
  data: DataSpec;
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

/** A dense flow's shape and step count must fit before it is built (flags, config files, checkpoints alike). */
function checkModel(shape: FlowShape | null, rows: number, solve: SolveFlags, where: string, training: boolean): void {
  if (!shape) return;
  checkFlowMemory(shape, rows, where, { training });
  const e = evalSolve(solve);
  checkSteps({ solver: e.method as string, stepSize: e.stepSize, T: shape.T, maxSteps: solve.maxSteps ?? evalWatch.maxSteps, where });
}

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
    data: id.source as DataSpec,
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

export async function evaluateCheckpoint(r: CheckpointRequest & { data?: DataSpec; testSamples?: number }): Promise<EvalResult> {
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

/** n samples of an image checkpoint (its α from the run.json beside it), as intensities in [0, 1], [n, H·W·C]; the backend must be set. */
export async function sampleImageCheckpoint(path: string, n: number, seed: number, solve: EvalSolve): Promise<{ pixels: Float32Array; shape: [number, number, number]; alpha: number }> {
  const ck = readCheckpoint(path);
  const runData = readRunFile(path).run?.data as ImageRunData | undefined;
  const alpha = runData?.kind === 'image' ? runData.alpha : 1e-6;
  const flow = loadModel(ck.model as unknown as ImageModelFile) as unknown as ImageFlow;
  try {
    const [h, w, c] = flow.shape;
    return { pixels: await sampleImages(flow, n, alpha, seed, solve), shape: [h, w, c], alpha };
  } finally {
    flow.dispose();
  }
}
