import { createFlow, type CreateFlowOptions, type FlowConfig } from '@rnode/models';
import { Random, RnodeError, checkNumber, checkOptions } from '@rnode/core';
import type { Checkpoint } from './checkpoint.js';
import { TRAINING_KEYS, describeTraining, resolveTraining, type DataSource, type EvaluationOptions, type TrainingOptions } from './config.js';
import { isImageSource } from './image.js';
import type { CheckpointEvent, DoneEvent, TrainerEvent } from './events.js';
import type { TrainableFlow } from './flow.js';
import { createTrainer, type Trainer } from './trainer.js';
import type { ParallelGradients } from './internal/sharding.js';

/** Where `train` puts checkpoints (the Node entry's file store; anything with `save` in a browser). */
export interface CheckpointStore {
  /** Persist `ckpt` as the latest ('last') or best ('best') checkpoint; resolve to where it went. */
  save(kind: 'last' | 'best', ckpt: Checkpoint): Promise<string | undefined>;
}

/** The high-level run description (the CLI builds this). */
export interface TrainConfig extends TrainingOptions {
  /** A sampler `(n, rng) => Float32Array` (toy data) or tabular `{ train, validation?, test? }`. */
  data: DataSource;
  /**
   * A flow, or the options of `@rnode/models`' `createFlow` (e.g. `{ dim: 2, hidden: [64, 64, 64],
   * layer: 'concatsquash', activation: 'tanh' }`), initialised from `seed`.
   */
  model: TrainableFlow | CreateFlowOptions | FlowConfig | ModelConfig;
  /** Total iterations (a resumed run continues up to this count). Give this or `epochs`. */
  iterations?: number;
  /** Passes over the training set (tabular and image data): iterations = epochs · ⌈N / batchSize⌉. */
  epochs?: number;
  /** Validate every this many iterations, or 'epoch' (once per pass over the training set); 0 or absent: never, no early stopping. */
  evalEvery?: number | 'epoch';
  /** Shorthand for `evaluation.samples`. */
  evalSamples?: number;
  /**
   * Save the 'last' checkpoint every this many iterations, or 'epoch' (once per pass over the
   * training set), and always at the end. 0: no iteration cadence. Default: evalEvery, else none.
   */
  checkpointEvery?: number | 'epoch';
  /**
   * Also save the 'last' checkpoint when this many minutes of wall-clock time have passed since
   * the last save (checked after each iteration). 0 or absent: no time cadence.
   */
  checkpointMinutes?: number;
  /** Node entry only: directory for last.json / best.json. */
  checkpointDir?: string;
  /** A checkpoint to continue from (the Node entry also takes a file path). */
  resume?: Checkpoint | string;
  /** Node entry only: append every event as one JSON line to this file. */
  metricsFile?: string;
}

export const TRAIN_CONFIG_KEYS = [
  ...TRAINING_KEYS,
  'data',
  'model',
  'iterations',
  'epochs',
  'evalEvery',
  'evalSamples',
  'checkpointEvery',
  'checkpointMinutes',
  'checkpointDir',
  'resume',
  'metricsFile',
] as const;

export interface TrainRunOptions {
  onEvent?: (e: TrainerEvent) => void;
  /** Abort between iterations: the 'last' checkpoint is saved and the run ends with reason 'aborted'. */
  signal?: AbortSignal;
  store?: CheckpointStore;
  /** Builds the flow from `config.model` when it is a config (default: `@rnode/models`' createFlow). */
  createFlow?: (config: CreateFlowOptions | FlowConfig | ModelConfig, rng: Random) => TrainableFlow;
  /** Data-parallel steps (`createWorkerGradients` of @rnode/train/node); the caller disposes it. */
  parallel?: ParallelGradients;
}

export interface TrainResult {
  /** The trainer (owns the flow when `train` built it); call `dispose()` when done. */
  trainer: Trainer;
  reason: DoneEvent['reason'];
  iteration: number;
  bestNll: number | null;
  bestIteration: number | null;
  /** The last iteration's metrics, if any ran. */
  last: TrainerEvent | null;
}

/** Any other model config, built by `TrainRunOptions.createFlow` (e.g. `@rnode/models`' image flow config). */
export type ModelConfig = Readonly<Record<string, unknown>>;

/**
 * Let the event loop run between iterations: on cpu/wasm a step's awaits settle as microtasks
 * only, so without this a signal handler, a worker's message or a timer (anything that would
 * abort the run) never gets its turn until training ends.
 */
const yieldToEventLoop = (): Promise<void> =>
  new Promise((resolve) => (typeof setImmediate === 'function' ? setImmediate(resolve) : setTimeout(resolve, 0)));

function isFlow(m: unknown): m is TrainableFlow {
  return typeof m === 'object' && m !== null && typeof (m as TrainableFlow).forward === 'function';
}

/** The trainer's options within a run description: the training keys, with `evalSamples` folded into `evaluation.samples`. */
function trainingOptionsOf(c: TrainConfig): TrainingOptions {
  const {
    data: _data, model: _model, iterations: _i, epochs: _ep, evalEvery: _e, evalSamples, checkpointEvery: _c, checkpointMinutes: _cm, checkpointDir: _d, resume: _r, metricsFile: _m,
    ...training
  } = c as TrainConfig & { identity?: unknown };
  delete (training as { identity?: unknown }).identity; // the Node entry's key
  if (evalSamples === undefined) return training;
  const evaluation: EvaluationOptions = { ...(training.evaluation ?? {}), samples: checkNumber(evalSamples, 'evalSamples', 'option:evalSamples', 'integer>0') };
  return { ...training, evaluation };
}

/**
 * The settings `train(config)` runs with, as its checkpoints record them (`describeTraining` of
 * the trainer's resolved options): what a caller writes into its own records (the CLI's
 * run.json and summaries) so that they say what the trainer used. Plugins named in `config` must
 * be registered.
 */
export function describeTrainConfig(config: TrainConfig): Record<string, unknown> {
  const c = checkOptions(config, [...TRAIN_CONFIG_KEYS, 'identity'], 'train');
  return describeTraining(resolveTraining(trainingOptionsOf(c), 'train', { image: isImageSource(c.data) }));
}

/**
 * Validate `config` once, build (or take) the flow, optionally resume, and train: steps,
 * periodic validation with early stopping (best kept), periodic and best checkpoints through
 * `store`, events through `onEvent`. A non-finite loss throws RnodeError('NON_FINITE') naming
 * the iteration, before that state can reach a checkpoint.
 */
export async function train(config: TrainConfig, run: TrainRunOptions = {}): Promise<TrainResult> {
  const c = checkOptions(config, TRAIN_CONFIG_KEYS, 'train');
  checkOptions(run, ['onEvent', 'signal', 'store', 'createFlow', 'parallel'], 'train');
  if ((c.iterations === undefined) === (c.epochs === undefined)) {
    throw new RnodeError('INVALID_OPTIONS', 'give one of "iterations" and "epochs"', { source: c.iterations === undefined ? 'option:iterations' : 'option:epochs' });
  }
  const epochs = c.epochs === undefined ? undefined : checkNumber(c.epochs, 'epochs', 'option:epochs', 'integer>0');
  let iterations = c.iterations === undefined || c.iterations === 0 ? 0 : checkNumber(c.iterations, 'iterations', 'option:iterations', 'integer>0');
  const evalEpoch = c.evalEvery === 'epoch';
  let evalEvery = c.evalEvery === undefined || c.evalEvery === 0 || evalEpoch ? 0 : checkNumber(c.evalEvery, 'evalEvery', 'option:evalEvery', 'integer>0');
  const checkpointEpoch = c.checkpointEvery === 'epoch';
  let checkpointEvery =
    c.checkpointEvery === undefined ? evalEvery : c.checkpointEvery === 0 || checkpointEpoch ? 0 : checkNumber(c.checkpointEvery, 'checkpointEvery', 'option:checkpointEvery', 'integer>0');
  const checkpointMs =
    c.checkpointMinutes === undefined || c.checkpointMinutes === 0 ? 0 : checkNumber(c.checkpointMinutes, 'checkpointMinutes', 'option:checkpointMinutes', 'positive') * 60_000;
  if (c.checkpointDir !== undefined && !run.store) {
    throw new RnodeError('INVALID_OPTIONS', 'option "checkpointDir" needs the Node entry (@rnode/train/node trainWithFiles) or a store', { source: 'option:checkpointDir' });
  }
  if (typeof c.resume === 'string') {
    throw new RnodeError('INVALID_OPTIONS', 'a resume path needs the Node entry (@rnode/train/node trainWithFiles); pass a checkpoint object here', { source: 'option:resume' });
  }
  if (c.metricsFile !== undefined) {
    throw new RnodeError('INVALID_OPTIONS', 'option "metricsFile" needs the Node entry (@rnode/train/node trainWithFiles)', { source: 'option:metricsFile' });
  }
  const { data, model, resume } = c;
  const training = trainingOptionsOf(c);

  let flow: TrainableFlow;
  let ownsFlow = false;
  if (isFlow(model)) flow = model;
  else if (typeof model === 'object' && model !== null) {
    const make = run.createFlow ?? ((m: CreateFlowOptions | FlowConfig | ModelConfig, rng: Random) => createFlow(m as CreateFlowOptions | FlowConfig, rng));
    flow = make(model, new Random(`${String(c.seed ?? 0)}:model`));
    ownsFlow = true;
  } else {
    throw new RnodeError('INVALID_OPTIONS', 'option "model" must be a flow or a model config object', { source: 'option:model' });
  }

  const trainer = createTrainer({
    ...training,
    flow,
    data,
    ownsFlow,
    ...(run.onEvent ? { onEvent: run.onEvent } : {}),
    ...(run.parallel ? { parallel: run.parallel } : {}),
  });
  let last: TrainerEvent | null = null;
  try {
    if (epochs !== undefined || evalEpoch || checkpointEpoch) {
      const size = trainer.epochSize;
      if (size === null) {
        const [what, key] = epochs !== undefined ? ['"epochs"', 'epochs'] : evalEpoch ? ['evalEvery "epoch"', 'evalEvery'] : ['checkpointEvery "epoch"', 'checkpointEvery'];
        throw new RnodeError('INVALID_OPTIONS', `${what} needs tabular or image data (a sampler has no epochs)`, { source: `option:${key}` });
      }
      if (epochs !== undefined) iterations = epochs * size;
      if (evalEpoch) {
        evalEvery = size;
        if (c.checkpointEvery === undefined) checkpointEvery = size;
      }
      if (checkpointEpoch) checkpointEvery = size;
    }
    if (resume !== undefined) trainer.restore(resume, 'option:resume');
    const clock = (): number => (typeof performance !== 'undefined' ? performance.now() : Date.now());
    let savedAt = clock();
    const save = async (kind: 'last' | 'best', trigger: NonNullable<CheckpointEvent['trigger']>): Promise<void> => {
      if (!run.store) return;
      const path = await run.store.save(kind, await trainer.checkpoint());
      if (kind === 'last') savedAt = clock();
      trainer.emit({ type: 'checkpoint', iteration: trainer.iteration, kind, trigger, ...(path !== undefined ? { path } : {}) });
    };
    let reason: DoneEvent['reason'] = 'iterations';
    let lastSaved = trainer.iteration;
    let lastEval = -1;
    while (trainer.iteration < iterations) {
      await yieldToEventLoop();
      if (run.signal?.aborted) {
        reason = 'aborted';
        break;
      }
      last = await trainer.step();
      const itr = trainer.iteration;
      if (evalEvery > 0 && itr % evalEvery === 0) {
        const ev = await trainer.evaluate();
        lastEval = itr;
        if (ev.improved) await save('best', 'improved');
        if (ev.stop) {
          reason = 'early-stop';
          break;
        }
      }
      const due = checkpointEvery > 0 && itr % checkpointEvery === 0 ? 'iterations' : checkpointMs > 0 && clock() - savedAt >= checkpointMs ? 'minutes' : null;
      if (due) {
        await save('last', due);
        lastSaved = itr;
      }
    }
    if (reason === 'iterations' && evalEvery > 0 && lastEval !== trainer.iteration && trainer.iteration > 0) {
      const ev = await trainer.evaluate();
      if (ev.improved) await save('best', 'improved');
    }
    if (lastSaved !== trainer.iteration || trainer.iteration === 0) await save('last', reason === 'aborted' ? 'aborted' : 'end');
    const b = trainer.best;
    trainer.emit({ type: 'done', iteration: trainer.iteration, reason, bestNll: b.nll, bestIteration: b.iteration, elapsed: trainer.elapsed });
    return { trainer, reason, iteration: trainer.iteration, bestNll: b.nll, bestIteration: b.iteration, last };
  } catch (e) {
    trainer.dispose(); // frees the optimizer (and the flow when train built it); checkpoints on disk stay
    throw e;
  }
}
