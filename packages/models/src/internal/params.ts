import * as tf from '@tensorflow/tfjs-core';
import type { Random } from '@rnode/core';

/**
 * Where initial parameter values come from: `rng` draws PyTorch's nn.Linear
 * init U(−bound, bound) on the host (identical on every backend); a loaded
 * model supplies the stored values instead.
 */
export type ParamSource = (name: string, shape: readonly number[], bound: number, zero: boolean, fill?: number) => Float32Array;

export function randomSource(rng: Random): ParamSource {
  return (_name, shape, bound, zero, fill) => {
    const size = shape.reduce((a, b) => a * b, 1);
    if (fill !== undefined) return new Float32Array(size).fill(fill);
    // Always draw, so zeroing one tensor does not shift the stream of the others.
    const values = rng.uniformArray(size, -bound, bound);
    return zero ? new Float32Array(size) : values;
  };
}

let scopeCounter = 0;
/** A process-unique prefix for tfjs variable names (tfjs rejects a name registered twice). */
export function uniqueScope(base: string): string {
  scopeCounter += 1;
  return `${base}#${scopeCounter}`;
}

/** Collects the variables of one model under stable names (the save format's keys). */
export class ParamStore {
  readonly variables: tf.Variable[] = [];
  readonly names: string[] = [];
  constructor(
    readonly scope: string,
    readonly source: ParamSource,
  ) {}

  create(name: string, shape: readonly number[], bound: number, zero = false, fill?: number): tf.Variable {
    const values = this.source(name, shape, bound, zero, fill);
    const init = tf.tensor(values, shape.slice(), 'float32');
    const v = tf.variable(init, true, `${this.scope}/${name}`);
    init.dispose(); // tf.variable keeps its own copy
    this.variables.push(v);
    this.names.push(name);
    return v;
  }
}
