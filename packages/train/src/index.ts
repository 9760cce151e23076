export { Adam, warmupLr, decodeAdamState } from './adam.js';
export type { AdamOptions, AdamState } from './adam.js';
export { presets } from './presets.js';
export type { Preset, PresetName } from './presets.js';
export { resolveTraining, describeTraining } from './config.js';
export type {
  DataSource,
  Sampler,
  Matrix,
  TabularSource,
  WeightedRegularizer,
  NllUnit,
  EvaluationOptions,
  TrainingOptions,
  RegularizerWeights,
  ResolvedTraining,
  TrainingContext,
} from './config.js';
export { rnodeObjective, negativeLogLikelihood, imageNll } from './objective.js';
export { isImageSource, resolveImageSource } from './image.js';
export type { ImageSource, BatchLoader, LoaderBatch, ResolvedImageSource } from './image.js';
export type { ObjectiveTerms } from './objective.js';
export type { TrainableFlow, FlowForward, FlowSolveOptions, FlowStats } from './flow.js';
export { createTrainer } from './trainer.js';
export { evaluateNll } from './evaluation.js';
export type { EvaluateNllOptions, NllEvaluation } from './evaluation.js';
export { createAsyncAdjointTrainer } from './async-step.js';
export type { AsyncAdjointTrainer, AsyncAdjointTrainerOptions, AsyncStepResult } from './async-step.js';
/** The contract of `createTrainer({ parallel })` (implemented by `createWorkerGradients` of `@rnode/train/node`). */
export type { ParallelGradients, ParallelSetup, ShardJob, ShardResult } from './internal/sharding.js';
export type { Trainer, TrainerOptions } from './trainer.js';
export { train, describeTrainConfig, trainConfigSchema } from './train.js';
export type { TrainConfig, TrainRunOptions, TrainResult, CheckpointStore, ModelConfig } from './train.js';
export { validateCheckpoint, encodeWeights, decodeWeights, CHECKPOINT_FORMAT, CHECKPOINT_VERSION } from './checkpoint.js';
export type { Checkpoint, ModelFile, BestState, RunIdentity } from './checkpoint.js';
export type {
  TrainerEvent,
  TrainerEventType,
  TrainerEventOf,
  IterationEvent,
  EvaluationEvent,
  CheckpointEvent,
  DoneEvent,
} from './events.js';
