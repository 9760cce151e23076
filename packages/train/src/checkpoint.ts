import * as tf from '@tensorflow/tfjs-core';
import { RnodeError, type RandomState } from '@rnode/core';
import { decodeAdamState, type AdamState } from './adam.js';
import { base64ToFloat32, float32ToBase64 } from '@rnode/core';
import { isShape, sizeOfShape, type EncodedArray } from './internal/shapes.js';

export const CHECKPOINT_FORMAT = 'rnode-checkpoint';
export const CHECKPOINT_VERSION = 1;

/** The portable model file of `@rnode/models` (weights: base64 float32 little-endian); `loadModel` reads it. */
export interface ModelFile {
  format: 'rnode-model';
  version: 1;
  config: unknown;
  weights: Record<string, EncodedArray & { dtype: 'float32' }>;
}

/** Early-stopping bookkeeping. */
export interface BestState {
  /** Best validation NLL so far (null before the first evaluation). */
  nll: number | null;
  /** Iteration of the best evaluation. */
  iteration: number | null;
  /** Evaluations done. */
  evaluations: number;
  /** Evaluations since the best one (early stopping fires at `patience`). */
  sinceBest: number;
}

/**
 * Which run a checkpoint belongs to (written by the Node store from `train({ identity })`):
 * what `eval`/`sample`/`plot`/`--resume` compare with the run's other files before trusting them.
 */
export interface RunIdentity {
  /** The data, as a label (toy name, file path, image dataset). */
  data: string;
  preset: string;
  seed: number;
  /** SHA-256 (hex) of the run's canonical settings, for reference. */
  configHash: string;
  /** Anything else the writer records (e.g. the CLI's data source and standardisation). */
  [k: string]: unknown;
}

/**
 * Everything a run needs to continue exactly: weights, optimizer state, iteration and the
 * state of every random stream (data, noise, evaluation, sampling). Plain JSON.
 */
export interface Checkpoint {
  format: typeof CHECKPOINT_FORMAT;
  version: typeof CHECKPOINT_VERSION;
  /** Iterations completed. */
  iteration: number;
  /** Seconds of training (steps and evaluations) so far. */
  elapsed: number;
  /** The resolved training options (plugins by name), for reference; not used to restore. */
  config: Record<string, unknown>;
  model: ModelFile;
  optimizer: AdamState;
  rng: Record<string, RandomState>;
  /** Tabular sources: the data stream's state at the start of the epoch and the position in it. */
  epoch: { rng: RandomState; cursor: number } | null;
  /** Image data: the training loader's `state()` (position and seed), restored with `loader.restore`. */
  loader?: unknown;
  best: BestState;
  /** The run this checkpoint belongs to (absent in checkpoints of older versions and of library runs without an identity). */
  run?: RunIdentity;
  /**
   * `sha256:<hex>` of the checkpoint's JSON without this key (as `JSON.stringify` writes it),
   * written and checked by `@rnode/train/node`; absent in older checkpoints.
   */
  checksum?: string;
}

/** Encode variables as model weights (one read per tensor; names as given). */
export async function encodeWeights(
  params: readonly tf.Tensor[],
  names: readonly string[],
): Promise<Record<string, EncodedArray & { dtype: 'float32' }>> {
  const arrays = await Promise.all(params.map((p) => p.data() as Promise<Float32Array>));
  const out: Record<string, EncodedArray & { dtype: 'float32' }> = {};
  params.forEach((p, i) => {
    out[names[i]!] = { shape: p.shape.slice(), dtype: 'float32', data: float32ToBase64(arrays[i]!) };
  });
  return out;
}

export function decodeWeights(weights: unknown, source: string): Array<{ name: string; shape: number[]; data: Float32Array }> {
  if (typeof weights !== 'object' || weights === null || Array.isArray(weights)) {
    throw new RnodeError('INVALID_CHECKPOINT', 'model.weights must be an object name → { shape, data }', { source });
  }
  return Object.entries(weights as Record<string, EncodedArray>).map(([name, w]) => {
    if (typeof w !== 'object' || w === null || !isShape(w.shape)) {
      throw new RnodeError('INVALID_CHECKPOINT', `weight "${name}" has no valid shape`, { source });
    }
    const data = typeof w.data === 'string' ? base64ToFloat32(w.data) : null;
    if (!data) throw new RnodeError('INVALID_CHECKPOINT', `weight "${name}" is not base64 float32 data`, { source });
    if (data.length !== sizeOfShape(w.shape)) {
      throw new RnodeError(
        'INVALID_CHECKPOINT',
        `weight "${name}" has ${data.length} values, its shape [${w.shape.join(', ')}] needs ${sizeOfShape(w.shape)}`,
        { source },
      );
    }
    const at = firstNonFinite(data);
    if (at >= 0) throw new RnodeError('NON_FINITE', `weight "${name}" holds a non-finite value (${data[at]} at index ${at})`, { source });
    return { name, shape: w.shape, data };
  });
}

/** Index of the first NaN/±Infinity in `a`, or -1. */
export function firstNonFinite(a: Float32Array): number {
  for (let i = 0; i < a.length; i++) if (!Number.isFinite(a[i]!)) return i;
  return -1;
}

function isRandomState(s: unknown): s is RandomState {
  const r = s as RandomState;
  return (
    typeof s === 'object' &&
    s !== null &&
    r.algorithm === 'xoshiro128**' &&
    Array.isArray(r.s) &&
    r.s.length === 4 &&
    r.s.every((x) => Number.isInteger(x) && x >= 0 && x < 2 ** 32) &&
    (r.spare === null || typeof r.spare === 'number')
  );
}

/**
 * Check a parsed checkpoint: format and version, every field's type, that each weight's data
 * fits its shape and that the optimizer moments match the weights. Returns it typed; throws
 * RnodeError('INVALID_CHECKPOINT') naming `source` (a file, say) and the fault, or
 * RnodeError('NON_FINITE') when a weight or an optimizer moment holds NaN or ±Infinity.
 */
export function validateCheckpoint(value: unknown, source = 'checkpoint'): Checkpoint {
  const bad = (msg: string): never => {
    throw new RnodeError('INVALID_CHECKPOINT', msg, { source });
  };
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return bad('not a checkpoint object');
  const c = value as Partial<Checkpoint>;
  if (c.format !== CHECKPOINT_FORMAT) bad(`format is ${JSON.stringify(c.format)}, expected "${CHECKPOINT_FORMAT}"`);
  if (c.version !== CHECKPOINT_VERSION) bad(`version ${JSON.stringify(c.version)} is not supported (expected ${CHECKPOINT_VERSION})`);
  if (!Number.isInteger(c.iteration) || (c.iteration as number) < 0) bad('"iteration" must be a non-negative integer');
  if (typeof c.elapsed !== 'number' || !(c.elapsed >= 0)) bad('"elapsed" must be a non-negative number');
  if (typeof c.config !== 'object' || c.config === null) bad('"config" must be an object');
  const m = c.model;
  if (typeof m !== 'object' || m === null || m.format !== 'rnode-model') return bad('"model" is not an rnode-model file');
  const weights = decodeWeights(m.weights, source);
  const moments = decodeAdamState(c.optimizer, source);
  if (moments.length !== weights.length) bad(`the optimizer holds ${moments.length} parameters, the model ${weights.length}`);
  moments.forEach((mo, i) => {
    const w = weights[i]!;
    for (const [which, a] of [['m', mo.m], ['v', mo.v]] as const) {
      const at = firstNonFinite(a);
      if (at >= 0) throw new RnodeError('NON_FINITE', `optimizer state "${mo.name}".${which} holds a non-finite value (${a[at]} at index ${at})`, { source });
    }
    if (mo.shape.length !== w.shape.length || mo.shape.some((d, j) => d !== w.shape[j])) {
      bad(`optimizer moment ${i} ("${mo.name}") has shape [${mo.shape.join(', ')}], weight "${w.name}" has [${w.shape.join(', ')}]`);
    }
  });
  if (typeof c.rng !== 'object' || c.rng === null) return bad('"rng" must be an object of random states');
  for (const [k, s] of Object.entries(c.rng)) if (!isRandomState(s)) bad(`rng.${k} is not a random state`);
  if (c.epoch !== null && c.epoch !== undefined) {
    if (!isRandomState(c.epoch.rng) || !Number.isInteger(c.epoch.cursor) || c.epoch.cursor < 0) bad('"epoch" is malformed');
  }
  const b = c.best;
  if (
    typeof b !== 'object' ||
    b === null ||
    !(b.nll === null || typeof b.nll === 'number') ||
    !(b.iteration === null || Number.isInteger(b.iteration)) ||
    !Number.isInteger(b.evaluations) ||
    !Number.isInteger(b.sinceBest)
  ) {
    bad('"best" is malformed');
  }
  if (c.run !== undefined && (typeof c.run !== 'object' || c.run === null || typeof c.run.data !== 'string' || typeof c.run.preset !== 'string')) {
    bad('"run" is malformed');
  }
  return { ...(c as Checkpoint), epoch: c.epoch ?? null };
}
