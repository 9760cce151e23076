import type { Flow, FlowForward, FlowSolveOptions, FlowStats } from '@rnode/models';

/**
 * What the trainer needs from a flow: the `Flow` of `@rnode/models` satisfies it. Any object
 * with these members can be trained (a custom model, a test double). `paramNames` (stable
 * names, used as the checkpoint's weight keys) and `config` (stored in the checkpoint's
 * model file) are optional.
 */
export type TrainableFlow = Pick<Flow, 'params' | 'dim' | 'forward' | 'forwardAsync' | 'inverse'> & {
  readonly paramNames?: readonly string[];
  readonly config?: unknown;
  dispose?(): void;
};

export type { FlowForward, FlowSolveOptions, FlowStats };
