/** Metrics of one training iteration (all numbers read from the device in one batched read). */
export interface IterationEvent {
  type: 'iteration';
  /** Iterations completed, this one included (1-based). */
  iteration: number;
  /** The objective: nll + Σ λ·regularizer. */
  loss: number;
  /** Mean NLL of the batch, in `nllUnit`. */
  nll: number;
  nllUnit: 'nats' | 'bits-per-dim';
  /** Mean over the batch of each regularizer's integral (unweighted), by name. */
  regularizers: Record<string, number>;
  /** The 'kinetic-energy' entry, when used. */
  kineticEnergy?: number;
  /** The 'jacobian-frobenius' entry, when used. */
  jacobianNorm?: number;
  /** Evaluations of f in the forward solve(s). */
  nfeForward: number;
  /** Evaluations in the adjoint backward solve(s) (0 for backprop through the solver). */
  nfeBackward: number;
  /** Learning rate used for this update (after warm-up). */
  lr: number;
  /** Global gradient norm before clipping. */
  gradNorm: number;
  /** True when the gradient was clipped. */
  clipped: boolean;
  /** Seconds this iteration took. */
  time: number;
  /** Seconds of training so far (steps and evaluations, carried over on resume). */
  elapsed: number;
}

export interface EvaluationEvent {
  type: 'evaluation';
  iteration: number;
  /** Mean NLL over the evaluation set, in `nllUnit`. */
  nll: number;
  nllUnit: 'nats' | 'bits-per-dim';
  /** Points evaluated. */
  samples: number;
  /** NFE summed over the evaluation's solves (one per evaluation batch). */
  nfe: number;
  /** Number of adaptive solves (evaluation batches). */
  solves: number;
  /** Mean NFE of one solve: the figure to compare with a single test solve. */
  nfePerSolve: number;
  time: number;
  elapsed: number;
  /** Only for validation runs (tracked for early stopping): */
  improved: boolean;
  bestNll: number | null;
  bestIteration: number | null;
  sinceBest: number;
  /** True when early stopping's patience is used up. */
  stop: boolean;
}

export interface CheckpointEvent {
  type: 'checkpoint';
  iteration: number;
  kind: 'last' | 'best';
  /**
   * Why it was written: the iteration cadence (`checkpointEvery`, epochs included), the time
   * cadence (`checkpointMinutes`), the end of the run, an abort (`signal`), or a better validation
   * NLL ('best'). Always set by `train`; optional for events built elsewhere.
   */
  trigger?: 'iterations' | 'minutes' | 'end' | 'aborted' | 'improved';
  /** Where it was written (Node store), if anywhere. */
  path?: string;
}

export interface DoneEvent {
  type: 'done';
  iteration: number;
  reason: 'iterations' | 'early-stop' | 'aborted';
  bestNll: number | null;
  bestIteration: number | null;
  elapsed: number;
}

export type TrainerEvent = IterationEvent | EvaluationEvent | CheckpointEvent | DoneEvent;
export type TrainerEventType = TrainerEvent['type'];
export type TrainerEventOf<T extends TrainerEventType> = Extract<TrainerEvent, { type: T }>;
