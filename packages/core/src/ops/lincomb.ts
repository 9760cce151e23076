import * as tf from '@tensorflow/tfjs-core';
import type { KernelBackend, NamedAttrMap, TensorInfo } from '@tensorflow/tfjs-core';
import { HOST_BACKENDS, hostTensorIO } from '../backends/host-io.js';

/**
 * `base + Σ cⱼ·xⱼ` in one kernel call on the host backends (cpu, wasm) — a Runge–Kutta stage
 * combination is one op per state leaf instead of two per term — and as tfjs ops elsewhere.
 * Differentiable (it is linear: ∂/∂xⱼ = cⱼ, ∂/∂base = 1), to any order.
 */
export const LINCOMB = 'RnodeLincomb';

interface LincombAttrs {
  coefs: number[];
  hasBase: boolean;
}

function lincombKernel(backendName: string) {
  return ({ inputs, backend, attrs }: { inputs: Record<string, TensorInfo>; backend: KernelBackend; attrs?: NamedAttrMap }): TensorInfo => {
    const { coefs, hasBase } = attrs as unknown as LincombAttrs;
    const io = hostTensorIO(backend, backendName);
    const first = (hasBase ? inputs['base'] : inputs['x0'])!;
    const out = io.alloc(first.shape.slice());
    const o = io.view(out);
    const n = o.length;
    if (hasBase) o.set(io.read(inputs['base']!));
    else o.fill(0);
    for (let j = 0; j < coefs.length; j++) {
      const c = coefs[j]!;
      const x = io.read(inputs[`x${j}`]!);
      for (let i = 0; i < n; i++) o[i] = o[i]! + c * x[i]!;
    }
    return out;
  };
}

const registered = new Set<string>();

function ensure(backendName: string): void {
  if (registered.has(backendName)) return;
  if (!tf.getGradient(LINCOMB)) {
    tf.registerGradient({
      kernelName: LINCOMB,
      gradFunc: (dy: tf.Tensor | tf.Tensor[], _saved: tf.Tensor[], attrs?: NamedAttrMap) => {
        const g = dy as tf.Tensor;
        const { coefs, hasBase } = attrs as unknown as LincombAttrs;
        const out: Record<string, () => tf.Tensor> = {};
        if (hasBase) out['base'] = () => tf.clone(g);
        coefs.forEach((c, j) => {
          out[`x${j}`] = () => tf.mul(g, c);
        });
        return out;
      },
    });
  }
  if (!tf.getKernel(LINCOMB, backendName)) tf.registerKernel({ kernelName: LINCOMB, backendName, kernelFunc: lincombKernel(backendName) as never });
  registered.add(backendName);
}

/**
 * `base + Σ cⱼ·xⱼ` (all float32, same shape; `base` may be null). Zero coefficients are
 * dropped. Returns a new tensor.
 */
export function linearCombination(base: tf.Tensor | null, terms: ReadonlyArray<readonly [number, tf.Tensor]>): tf.Tensor {
  const live = terms.filter(([c]) => c !== 0);
  const like = base ?? terms[0]?.[1];
  if (!like) throw new Error('[rnode] linearCombination needs a base or at least one term');
  if (live.length === 0) return base ? tf.clone(base) : tf.zerosLike(like);
  const backendName = tf.getBackend();
  const fusable =
    HOST_BACKENDS.includes(backendName) &&
    like.dtype === 'float32' &&
    live.every(([, x]) => x.dtype === 'float32' && x.size === like.size && x.rank === like.rank);
  if (!fusable) {
    let acc: tf.Tensor | undefined = base ?? undefined;
    for (const [c, x] of live) {
      const term = tf.mul(x, c);
      acc = acc === undefined ? term : tf.add(acc, term);
    }
    return acc!;
  }
  ensure(backendName);
  const inputs: Record<string, tf.Tensor> = {};
  if (base) inputs['base'] = base;
  live.forEach(([, x], j) => {
    inputs[`x${j}`] = x;
  });
  const attrs: LincombAttrs = { coefs: live.map(([c]) => c), hasBase: base !== null };
  return tf.engine().runKernel(LINCOMB, inputs as never, attrs as never) as tf.Tensor;
}
