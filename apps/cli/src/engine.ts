/**
 * The bridge between the commands and the library packages (@rnode/train,
 * @rnode/models, @rnode/data). Commands deal in flags and output; this file
 * deals in tensors, checkpoints and the training loop.
 */
import { RnodeError } from '@rnode/core';
import type { TrainConfig } from './config.js';
import type { DataSource } from './data.js';
import type { ProgressValues } from './progress.js';

export interface TrainRun extends TrainConfig {
  preset: 'rnode' | 'ffjord';
  iterations: number;
  out: string;
  backend: string;
}

export interface TrainHooks {
  start(total: number, from: number): void;
  iteration(iteration: number, v: ProgressValues): void;
  log(line: string): void;
  /** Evaluations and checkpoints, as JSON-able objects (printed as lines with --json). */
  event(e: Record<string, unknown>): void;
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
}

export async function runTraining(_run: TrainRun, _data: DataSource, _hooks: TrainHooks): Promise<TrainSummary> {
  throw new RnodeError('NOT_IMPLEMENTED', 'training needs @rnode/train');
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

export async function evaluateCheckpoint(_r: CheckpointRequest & { data?: DataSource; testSamples?: number }): Promise<EvalResult> {
  throw new RnodeError('NOT_IMPLEMENTED', 'evaluation needs @rnode/train');
}

export interface SampleResult {
  data: Float32Array;
  rows: number;
  cols: number;
  nfe: number;
}

export async function sampleCheckpoint(_r: CheckpointRequest & { n: number }): Promise<SampleResult> {
  throw new RnodeError('NOT_IMPLEMENTED', 'sampling needs @rnode/train');
}

/** The solve flags that were given. */
export function pick(f: { solver?: string; stepSize?: number; rtol?: number; atol?: number }) {
  const out: { solver?: string; stepSize?: number; rtol?: number; atol?: number } = {};
  if (f.solver !== undefined) out.solver = f.solver;
  if (f.stepSize !== undefined) out.stepSize = f.stepSize;
  if (f.rtol !== undefined) out.rtol = f.rtol;
  if (f.atol !== undefined) out.atol = f.atol;
  return out;
}
