// The trainer's batch sources: a sampler (fresh points per batch), a registered toy set's name,
// tabular splits (shuffled epochs) or images (a resumable loader); the validation set of each;
// the epoch position a checkpoint saves.
import * as tf from '@tensorflow/tfjs-core';
import { Random, RnodeError, parseOptions, type RandomState } from '@rnode/core';
import { resolveDataset } from '@rnode/data';
import type { Checkpoint } from './checkpoint.js';
import { tabularSourceSchema, type DataSource, type Matrix, type Sampler, type TabularSource } from './config.js';
import { isImageSource, resolveImageSource, type ResolvedImageSource } from './image.js';

export interface BatchSource {
  /** Image data, resolved (shape, nbits, α), or null. */
  readonly image: ResolvedImageSource | null;
  /** Rows of the tabular training split, or null. */
  readonly trainRows: number | null;
  /** Iterations per pass over the training set (tabular and image data; null for samplers). */
  epochSize(batchSize: number): number | null;
  /** The next training batch [n, dim] (caller owns it); images: dequantised, before the logit transform. */
  next(batchSize: number): Promise<tf.Tensor>;
  /** The validation set: drawn once from a sampler (`<seed>:validation`), else data.validation (or data.test). */
  validationSet(): Matrix;
  /** What a checkpoint saves of the position: the tabular epoch (the data stream's state at its start, and the cursor) and the image loader's state. */
  position(): Pick<Checkpoint, 'epoch'> & { loader?: unknown };
  /** Check a checkpoint's position (throws before anything changes), then `apply` it. */
  restore(ck: Checkpoint, source: string): { apply(): void };
}

export function isSampler(d: unknown): d is Sampler {
  return typeof d === 'function';
}

export function checkMatrix(m: unknown, name: string, dim: number): Matrix {
  const x = m as Matrix;
  if (typeof m !== 'object' || m === null || !(x.data instanceof Float32Array) || !Number.isInteger(x.rows) || !Number.isInteger(x.cols)) {
    throw new RnodeError('INVALID_OPTIONS', `"${name}" must be a matrix { data: Float32Array, rows, cols }`, { source: `option:data` });
  }
  if (x.cols !== dim || x.data.length !== x.rows * x.cols) {
    throw new RnodeError('INVALID_OPTIONS', `"${name}" is ${x.rows}×${x.cols} with ${x.data.length} values; the flow's dimension is ${dim}`, {
      source: 'option:data',
    });
  }
  return x;
}

/**
 * The batch source of `data` for a flow of dimension `dim`. `rng` is the trainer's data stream
 * (samplers draw from it; tabular epochs permute with it); `seed` names the validation draw.
 */
export function createBatchSource(data: DataSource, o: { dim: number; rng: Random; seed: string; validationSamples: number }): BatchSource {
  const { dim, rng } = o;
  const image = isImageSource(data) ? resolveImageSource(data, dim) : null;
  let source: Sampler | TabularSource = (image ? () => new Float32Array(0) : data) as Sampler | TabularSource;
  if (typeof data === 'string') {
    const name = data;
    const plugin = resolveDataset(name);
    if (plugin.dim !== dim) {
      throw new RnodeError('INVALID_OPTIONS', `toy set "${name}" is ${plugin.dim}-D, the flow's dimension is ${dim}`, { source: 'option:data' });
    }
    source = (n, r) => plugin.sample(n, r);
  }
  let tabular: TabularSource | null = null;
  if (image || isSampler(source)) {
    // ok
  } else if (typeof source === 'object' && source !== null) {
    const d = parseOptions(tabularSourceSchema, source, 'option:data');
    tabular = {
      train: checkMatrix(d.train, 'data.train', dim),
      ...(d.validation ? { validation: checkMatrix(d.validation, 'data.validation', dim) } : {}),
      ...(d.test ? { test: checkMatrix(d.test, 'data.test', dim) } : {}),
    };
  } else {
    throw new RnodeError('INVALID_OPTIONS', 'option "data" must be a sampler (n, rng) => Float32Array or { train, validation?, test? }', {
      source: 'option:data',
    });
  }
  const trainRows = tabular ? tabular.train.rows : null;
  // Tabular epochs: the data stream's state at the epoch start regenerates its permutation.
  let epoch: { rng: RandomState; cursor: number; perm: Int32Array } | null = null;
  let validation: Matrix | null = null;

  return {
    image,
    trainRows,
    epochSize: (batchSize) => (image ? image.train.batchesPerEpoch : trainRows === null ? null : Math.ceil(trainRows / batchSize)),
    async next(n) {
      if (image) {
        const b = await image.train.next();
        return tf.tensor2d(b.data, [b.size, dim]);
      }
      if (isSampler(source)) return tf.tensor2d(drawSamples(source, n, rng, dim), [n, dim]);
      const rows = trainRows!;
      if (!epoch || epoch.cursor >= rows) {
        const state = rng.getState();
        epoch = { rng: state, cursor: 0, perm: rng.permutation(rows) };
      }
      const take = Math.min(n, rows - epoch.cursor);
      const m = tabular!.train;
      const out = new Float32Array(take * dim);
      for (let i = 0; i < take; i++) {
        const r = epoch.perm[epoch.cursor + i]!;
        out.set(m.data.subarray(r * dim, (r + 1) * dim), i * dim);
      }
      epoch.cursor += take;
      return tf.tensor2d(out, [take, dim]);
    },
    validationSet() {
      if (validation) return validation;
      if (isSampler(source)) {
        const n = o.validationSamples;
        validation = { data: drawSamples(source, n, new Random(`${o.seed}:validation`), dim), rows: n, cols: dim };
      } else {
        const v = tabular!.validation ?? tabular!.test;
        if (!v) throw new RnodeError('INVALID_OPTIONS', 'evaluation needs data.validation (or data.test)', { source: 'option:data' });
        validation = v;
      }
      return validation;
    },
    position() {
      return { epoch: epoch ? { rng: epoch.rng, cursor: epoch.cursor } : null, ...(image ? { loader: image.train.state() } : {}) };
    },
    restore(ck, src) {
      if (trainRows !== null && ck.epoch && ck.epoch.cursor > trainRows) {
        throw new RnodeError('INVALID_CHECKPOINT', `epoch cursor ${ck.epoch.cursor} is past the ${trainRows} training rows`, { source: src });
      }
      if (image && ck.loader === undefined) throw new RnodeError('INVALID_CHECKPOINT', 'the checkpoint has no data loader state (it was not written by an image run)', { source: src });
      if (image) image.train.restore(ck.loader as never); // validates (throws) before the rest changes
      return {
        apply() {
          if (trainRows !== null && ck.epoch) {
            const r = new Random(0).setState(ck.epoch.rng);
            epoch = { rng: ck.epoch.rng, cursor: ck.epoch.cursor, perm: r.permutation(trainRows) };
          } else epoch = null;
        },
      };
    },
  };
}

function drawSamples(sampler: Sampler, n: number, rng: Random, dim: number): Float32Array {
  const x = sampler(n, rng);
  if (!(x instanceof Float32Array) || x.length !== n * dim) {
    throw new RnodeError(
      'INVALID_DATA',
      `the sampler returned ${x instanceof Float32Array ? `${x.length} values` : typeof x}, expected a Float32Array of ${n}×${dim}`,
      { source: 'option:data' },
    );
  }
  return x;
}
