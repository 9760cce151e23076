// The trainer's state as a checkpoint, and back: weights, Adam, iteration and clock, random
// streams, data position, early stopping.
import * as tf from '@tensorflow/tfjs-core';
import { RnodeError, type Random } from '@rnode/core';
import type { Adam } from './adam.js';
import type { BatchSource } from './batches.js';
import { CHECKPOINT_FORMAT, CHECKPOINT_VERSION, decodeWeights, encodeWeights, validateCheckpoint, type BestState, type Checkpoint } from './checkpoint.js';
import { describeTraining, type ResolvedTraining } from './config.js';
import type { TrainableFlow } from './flow.js';

/** What a checkpoint holds of a trainer (shared with it: restoring writes into these). */
export interface TrainerState {
  flow: TrainableFlow;
  cfg: ResolvedTraining;
  optimizer: Adam;
  rngs: Record<'data' | 'noise' | 'eval' | 'sample', Random>;
  batches: BatchSource;
  state: { iteration: number; elapsed: number };
  best: BestState;
}

/** Stable weight names: the flow's `paramNames`, else the variables' names (made unique). */
function paramNames(flow: TrainableFlow): string[] {
  const params = flow.params;
  if (flow.paramNames && flow.paramNames.length === params.length) return [...flow.paramNames];
  const seen = new Set<string>();
  return params.map((p, i) => {
    const name = seen.has(p.name) ? `${p.name}#${i}` : p.name;
    seen.add(name);
    return name;
  });
}

export async function takeCheckpoint(s: TrainerState): Promise<Checkpoint> {
  const { flow, optimizer, rngs } = s;
  const [weights, opt] = await Promise.all([encodeWeights(flow.params, paramNames(flow)), optimizer.getState()]);
  const modelConfig = (flow as { config?: unknown }).config;
  return {
    format: CHECKPOINT_FORMAT,
    version: CHECKPOINT_VERSION,
    iteration: s.state.iteration,
    elapsed: s.state.elapsed,
    config: describeTraining(s.cfg),
    model: { format: 'rnode-model', version: 1, config: modelConfig === undefined ? null : modelConfig, weights },
    optimizer: opt,
    rng: {
      data: rngs.data.getState(),
      noise: rngs.noise.getState(),
      eval: rngs.eval.getState(),
      sample: rngs.sample.getState(),
    },
    ...s.batches.position(),
    best: { ...s.best },
  };
}

/** Validate everything first (a bad checkpoint changes nothing), then put the state back. */
export function restoreCheckpoint(s: TrainerState, value: Checkpoint | unknown, source: string): void {
  const params = s.flow.params;
  const ck = validateCheckpoint(value, source);
  const weights = decodeWeights(ck.model.weights, source);
  if (weights.length !== params.length) {
    throw new RnodeError('INVALID_CHECKPOINT', `the checkpoint holds ${weights.length} weights, the model has ${params.length}`, { source });
  }
  weights.forEach((w, i) => {
    const p = params[i]!;
    if (w.shape.length !== p.shape.length || w.shape.some((d, j) => d !== p.shape[j])) {
      throw new RnodeError(
        'INVALID_CHECKPOINT',
        `weight ${i} ("${w.name}") has shape [${w.shape.join(', ')}], the model's "${p.name}" has [${p.shape.join(', ')}]`,
        { source },
      );
    }
  });
  for (const k of Object.keys(s.rngs)) {
    if (!ck.rng[k]) throw new RnodeError('INVALID_CHECKPOINT', `rng.${k} is missing`, { source });
  }
  const position = s.batches.restore(ck, source); // validates (throws) before the rest changes
  s.optimizer.setState(ck.optimizer, source); // validates before changing anything
  weights.forEach((w, i) => {
    tf.tidy(() => params[i]!.assign(tf.tensor(w.data, w.shape, 'float32')));
  });
  for (const [k, r] of Object.entries(s.rngs)) r.setState(ck.rng[k]!);
  position.apply();
  s.state.iteration = ck.iteration;
  s.state.elapsed = ck.elapsed;
  Object.assign(s.best, ck.best);
}
