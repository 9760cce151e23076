import { createFlow, type CreateFlowOptions, type FlowConfig } from '@rnode/models';
import * as z from 'zod/mini';
import { Random, RnodeError, functionOption, numberOption, parseOptions } from '@rnode/core';
import type { Checkpoint } from './checkpoint.js';
import { describeTraining, resolveTraining, trainingOptionsSchema, type DataSource, type EvaluationOptions, type TrainingOptions } from './config.js';
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

/** The high-level run description (the CLI builds this): the training options plus data, model and cadence. */
export const trainConfigSchema = z.extend(trainingOptionsSchema, {
  /** A sampler `(n, rng) => Float32Array` (toy data) or tabular `{ train, validation?, test? }`. */
  data: z.custom<DataSource>(),
  /**
   * A flow, or the options of `@rnode/models`' `createFlow` (e.g. `{ dim: 2, hidden: [64, 64, 64],
   * layer: 'concatsquash', activation: 'tanh' }`), initialised from `seed`.
   */
  model: z.custom<TrainableFlow | CreateFlowOptions | FlowConfig | ModelConfig>(),
  /** Total iterations (a resumed run continues up to this count). Give this or `epochs`. */
  iterations: z.optional(numberOption('integer>=0')),
  /** Passes over the training set (tabular and image data): iterations = epochs · ⌈N / batchSize⌉. */
  epochs: z.optional(numberOption('integer>0')),
  /** Validate every this many iterations, or 'epoch' (once per pass over the training set); 0 or absent: never, no early stopping. */
  evalEvery: z.optional(epochOrCount()),
  /** Shorthand for `evaluation.samples`. */
  evalSamples: z.optional(numberOption('integer>0')),
  /**
   * Save the 'last' checkpoint every this many iterations, or 'epoch' (once per pass over the
   * training set), and always at the end. 0: no iteration cadence. Default: evalEvery, else none.
   */
  checkpointEvery: z.optional(epochOrCount()),
  /**
   * Also save the 'last' checkpoint when this many minutes of wall-clock time have passed since
   * the last save (checked after each iteration). 0 or absent: no time cadence.
   */
  checkpointMinutes: z.optional(numberOption('non-negative')),
  /** Node entry only: directory for last.json / best.json. */
  checkpointDir: z.optional(z.string()),
  /** A checkpoint to continue from (the Node entry also takes a file path). */
  resume: z.optional(z.custom<Checkpoint | string>()),
  /** Node entry only: append every event as one JSON line to this file. */
  metricsFile: z.optional(z.string()),
});
export type TrainConfig = z.input<typeof trainConfigSchema>;

/** `train`'s second argument: how the run is observed, stopped, stored and built. */
export const trainRunOptionsSchema = z.object({
  onEvent: z.optional(functionOption<(e: TrainerEvent) => void>()),
  /** Abort between iterations: the 'last' checkpoint is saved and the run ends with reason 'aborted'. */
  signal: z.optional(z.custom<AbortSignal>()),
  store: z.optional(z.custom<CheckpointStore>()),
  /** Builds the flow from `config.model` when it is a config (default: `@rnode/models`' createFlow). */
  createFlow: z.optional(functionOption<(config: CreateFlowOptions | FlowConfig | ModelConfig, rng: Random) => TrainableFlow>()),
  /** Data-parallel steps (`createWorkerGradients` of @rnode/train/node); the caller disposes it. */
  parallel: z.optional(z.custom<ParallelGradients>()),
});
export type TrainRunOptions = z.input<typeof trainRunOptionsSchema>;

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

/** A non-negative iteration count or 'epoch'. */
function epochOrCount() {
  return z.custom<number | 'epoch'>((v) => v === 'epoch' || (typeof v === 'number' && Number.isInteger(v) && v >= 0), {
    error: "a non-negative integer or 'epoch'",
  });
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
  const evaluation: EvaluationOptions = { ...(training.evaluation ?? {}), samples: evalSamples };
  return { ...training, evaluation };
}

/** `describeTrainConfig` also takes the Node entry's `identity` (not part of the settings). */
const describedConfigSchema = z.extend(trainConfigSchema, { identity: z.optional(z.unknown()) });

/**
 * The settings `train(config)` runs with, as its checkpoints record them (`describeTraining` of
 * the trainer's resolved options): what a caller writes into its own records (the CLI's
 * run.json and summaries) so that they say what the trainer used. Plugins named in `config` must
 * be registered.
 */
export function describeTrainConfig(config: TrainConfig): Record<string, unknown> {
  const c = parseOptions(describedConfigSchema, config, 'train');
  return describeTraining(resolveTraining(trainingOptionsOf(c), 'train', { image: isImageSource(c.data) }));
}

/**
 * Validate `config` once, build (or take) the flow, optionally resume, and train: steps,
 * periodic validation with early stopping (best kept), periodic and best checkpoints through
 * `store`, events through `onEvent`. A non-finite loss throws RnodeError('NON_FINITE') naming
 * the iteration, before that state can reach a checkpoint.
 */
export async function train(config: TrainConfig, run: TrainRunOptions = {}): Promise<TrainResult> {
  const c = parseOptions(trainConfigSchema, config, 'train');
  parseOptions(trainRunOptionsSchema, run, 'train');
  if ((c.iterations === undefined) === (c.epochs === undefined)) {
    throw new RnodeError('INVALID_OPTIONS', 'give one of "iterations" and "epochs"', { source: c.iterations === undefined ? 'option:iterations' : 'option:epochs' });
  }
  const epochs = c.epochs;
  let iterations = c.iterations ?? 0;
  const evalEpoch = c.evalEvery === 'epoch';
  let evalEvery = c.evalEvery === undefined || c.evalEvery === 'epoch' ? 0 : c.evalEvery;
  const checkpointEpoch = c.checkpointEvery === 'epoch';
  let checkpointEvery = c.checkpointEvery === undefined ? evalEvery : c.checkpointEvery === 'epoch' ? 0 : c.checkpointEvery;
  const checkpointMs = (c.checkpointMinutes ?? 0) * 60_000;
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
