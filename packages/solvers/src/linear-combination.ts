import * as tf from '@tensorflow/tfjs-core';
import type { NamedAttrMap, TensorInfo } from '@tensorflow/tfjs-core';
import { RnodeError } from '@rnode/core';
import { HOST_BACKENDS, hostTensorIO, registerKernels, webgpuKernelIO, workgroupGrid, type CustomKernel, type KernelSet } from '@rnode/core/kernels';

/**
 * `base + Σ cⱼ·xⱼ`: the Runge–Kutta stage combination, and the one linear-combination op of
 * rnode (the trainer's data-parallel gradient sums use it too). One kernel call on the host
 * backends (cpu, wasm) and one WGSL dispatch on webgpu (up to 7 tensors: a WebGPU device's
 * default storage-buffer limit is 8) — a stage is one op per state leaf instead of two per term —
 * and tfjs ops elsewhere. Differentiable (it is linear: ∂/∂xⱼ = cⱼ, ∂/∂base = 1), to any order.
 */
const KERNEL = 'RnodeLinearCombination';
/** The same on several state leaves at once (host backends): one kernel call per stage, not one per leaf. */
const LEAVES_KERNEL = 'RnodeLinearCombinationLeaves';

interface Attrs {
  coefs: number[];
  hasBase: boolean;
}

interface LeavesAttrs extends Attrs {
  leaves: number;
}

/** `out = base + Σ c_j x_j` into `out` (base null: from zero), in this order: the one host loop. */
function combineInto(out: Float32Array, base: Float32Array | null, coefs: readonly number[], xs: readonly Float32Array[]): void {
  const n = out.length;
  if (base) out.set(base);
  else out.fill(0);
  for (let j = 0; j < coefs.length; j++) {
    const c = coefs[j]!;
    const x = xs[j]!;
    for (let i = 0; i < n; i++) out[i] = out[i]! + c * x[i]!;
  }
}

/** Inputs (base and terms) of one WGSL dispatch: the output takes the eighth storage buffer. */
const WEBGPU_MAX_INPUTS = 7;

/** `out = base + Σ c_j x_j`, one invocation per element; the coefficients are uniforms. */
function combinationWgsl(terms: number, hasBase: boolean): string {
  const names = [...(hasBase ? ['base'] : []), ...Array.from({ length: terms }, (_, j) => `x${j}`)];
  const sum = [hasBase ? 'base[i]' : '0.0', ...Array.from({ length: terms }, (_, j) => `u.c[${j >> 2}][${j & 3}] * x${j}[i]`)].join(' + ');
  return `struct U { n: u32, nx: u32, pad0: u32, pad1: u32, c: array<vec4<f32>, 2> }
${names.map((n, i) => `@group(0) @binding(${i}) var<storage, read> ${n}: array<f32>;`).join('\n')}
@group(0) @binding(${names.length}) var<storage, read_write> out: array<f32>;
@group(0) @binding(${names.length + 1}) var<uniform> u: U;
@compute @workgroup_size(64)
fn main(@builtin(global_invocation_id) gid: vec3<u32>) {
  let i = gid.x + gid.y * u.nx * 64u;
  if (i >= u.n) { return; }
  out[i] = ${sum};
}
`;
}

const webgpuKernel: CustomKernel = {
  kernelName: KERNEL,
  kernelFunc: (({ inputs, backend, attrs }: { inputs: Record<string, TensorInfo>; backend: tf.KernelBackend; attrs?: NamedAttrMap }): TensorInfo => {
    const { coefs, hasBase } = attrs as unknown as Attrs;
    const io = webgpuKernelIO(backend);
    if (!io) throw new RnodeError('BACKEND_UNAVAILABLE', 'the WGSL linear combination needs tfjs-backend-webgpu 4.x', { source: 'op:linearCombination' });
    const ins = [...(hasBase ? [inputs['base']!] : []), ...coefs.map((_, j) => inputs[`x${j}`]!)];
    const out = io.alloc(ins[0]!.shape.slice());
    const n = ins[0]!.shape.reduce((a, b) => a * b, 1);
    const grid = workgroupGrid(Math.ceil(n / 64), io.limits.maxComputeWorkgroupsPerDimension);
    const buf = new ArrayBuffer(48);
    new Uint32Array(buf, 0, 2).set([n, grid[0]]);
    new Float32Array(buf, 16, 8).set(coefs);
    io.dispatch({ key: `lincomb|${coefs.length}|${hasBase}`, code: () => combinationWgsl(coefs.length, hasBase), buffers: [...ins, out], uniforms: buf, workgroups: grid });
    return out;
  }) as unknown as tf.KernelFunc,
};

const kernels: KernelSet = {
  source: 'op:linearCombination',
  backends: [...HOST_BACKENDS, 'webgpu'],
  kernels: (backendName) => backendName === 'webgpu' ? [webgpuKernel] : [
    {
      kernelName: KERNEL,
      kernelFunc: (({ inputs, backend, attrs }: { inputs: Record<string, TensorInfo>; backend: tf.KernelBackend; attrs?: NamedAttrMap }): TensorInfo => {
        const { coefs, hasBase } = attrs as unknown as Attrs;
        const io = hostTensorIO(backend, backendName);
        const first = (hasBase ? inputs['base'] : inputs['x0'])!;
        const out = io.alloc(first.shape.slice());
        combineInto(io.view(out), hasBase ? io.read(inputs['base']!) : null, coefs, coefs.map((_, j) => io.read(inputs[`x${j}`]!)));
        return out;
      }) as unknown as tf.KernelFunc,
    },
    {
      // inputs, an array: per leaf its base (hasBase) and its terms in order; one output per leaf
      kernelName: LEAVES_KERNEL,
      kernelFunc: (({ inputs, backend, attrs }: { inputs: TensorInfo[]; backend: tf.KernelBackend; attrs?: NamedAttrMap }): TensorInfo[] => {
        const { coefs, hasBase, leaves } = attrs as unknown as LeavesAttrs;
        const io = hostTensorIO(backend, backendName);
        const stride = coefs.length + (hasBase ? 1 : 0);
        const outs: TensorInfo[] = [];
        for (let i = 0; i < leaves; i++) {
          const at = i * stride;
          const xs = inputs.slice(at + (hasBase ? 1 : 0), at + stride);
          const out = io.alloc(inputs[at]!.shape.slice());
          combineInto(io.view(out), hasBase ? io.read(inputs[at]!) : null, coefs, xs.map((x) => io.read(x)));
          outs.push(out);
        }
        return outs;
      }) as unknown as tf.KernelFunc,
    },
  ],
  gradients: [
    {
      kernelName: KERNEL,
      gradFunc: (dy: tf.Tensor | tf.Tensor[], _saved: tf.Tensor[], attrs?: NamedAttrMap) => {
        const g = dy as tf.Tensor;
        const { coefs, hasBase } = attrs as unknown as Attrs;
        const out: Record<string, () => tf.Tensor> = {};
        if (hasBase) out['base'] = () => tf.clone(g);
        coefs.forEach((c, j) => {
          out[`x${j}`] = () => tf.mul(g, c);
        });
        return out;
      },
    },
    {
      kernelName: LEAVES_KERNEL,
      // all inputs saved: a leaf whose output does not reach the loss (dy null) still needs zero
      // gradients of its inputs' shapes
      saveAllInputs: true,
      gradFunc: (dy: tf.Tensor | tf.Tensor[], saved: tf.Tensor[], attrs?: NamedAttrMap) => {
        const gs = dy as Array<tf.Tensor | null>;
        const { coefs, hasBase, leaves } = attrs as unknown as LeavesAttrs;
        const stride = coefs.length + (hasBase ? 1 : 0);
        const out: Record<string, () => tf.Tensor> = {};
        for (let i = 0; i < leaves; i++) {
          const g = gs[i] ?? null;
          for (let k = 0; k < stride; k++) {
            const at = i * stride + k;
            const c = hasBase ? (k === 0 ? 1 : coefs[k - 1]!) : coefs[k]!;
            out[at] = !g ? () => tf.zerosLike(saved[at]!) : c === 1 ? () => tf.clone(g) : () => tf.mul(g, c);
          }
        }
        return out;
      },
    },
  ],
};

/** The kernels' condition: float32 terms of the base's size and rank. */
function combinable(like: tf.Tensor, terms: ReadonlyArray<readonly [number, tf.Tensor]>): boolean {
  return like.dtype === 'float32' && terms.every(([, x]) => x.dtype === 'float32' && x.size === like.size && x.rank === like.rank);
}

function combineTensor(base: tf.Tensor | null, terms: ReadonlyArray<readonly [number, tf.Tensor]>): tf.Tensor {
  const live = terms.filter(([c]) => c !== 0);
  const like = base ?? terms[0]?.[1];
  if (!like) throw new RnodeError('INVALID_ARGUMENT', 'linearCombination needs a base or at least one term', { source: 'op:linearCombination' });
  if (live.length === 0) return base ? tf.clone(base) : tf.zerosLike(like);
  const backendName = tf.getBackend();
  const fusable =
    (HOST_BACKENDS.includes(backendName) || (backendName === 'webgpu' && live.length + (base ? 1 : 0) <= WEBGPU_MAX_INPUTS && webgpuKernelIO(tf.backend()) !== null)) &&
    combinable(like, live);
  if (!fusable) {
    // in a tidy: the partial sums and scaled terms are not left to the caller
    return tf.tidy(() => {
      let acc: tf.Tensor | undefined = base ?? undefined;
      for (const [c, x] of live) {
        const term = tf.mul(x, c);
        acc = acc === undefined ? term : tf.add(acc, term);
      }
      return acc!;
    });
  }
  registerKernels(kernels, backendName);
  const inputs: Record<string, tf.Tensor> = {};
  if (base) inputs['base'] = base;
  live.forEach(([, x], j) => {
    inputs[`x${j}`] = x;
  });
  const attrs: Attrs = { coefs: live.map(([c]) => c), hasBase: base !== null };
  return tf.engine().runKernel(KERNEL, inputs as never, attrs as never) as tf.Tensor;
}

/**
 * `base + Σ cⱼ·xⱼ` (all float32, same shape; `base` may be null; zero coefficients are
 * dropped), on one tensor or leaf by leaf on lists of state leaves (what a solver's `step`
 * gets as `ctx.linearCombination`). Returns new tensors.
 */
export function linearCombination(base: tf.Tensor | null, terms: ReadonlyArray<readonly [number, tf.Tensor]>): tf.Tensor;
export function linearCombination(
  base: readonly tf.Tensor[] | null,
  terms: ReadonlyArray<readonly [number, readonly tf.Tensor[]]>,
): tf.Tensor[];
export function linearCombination(
  base: tf.Tensor | readonly tf.Tensor[] | null,
  terms: ReadonlyArray<readonly [number, tf.Tensor | readonly tf.Tensor[]]>,
): tf.Tensor | tf.Tensor[] {
  const leaves = base ? Array.isArray(base) : Array.isArray(terms[0]?.[1]);
  if (!leaves) return combineTensor(base as tf.Tensor | null, terms as ReadonlyArray<readonly [number, tf.Tensor]>);
  const b = base as readonly tf.Tensor[] | null;
  const ts = terms as ReadonlyArray<readonly [number, readonly tf.Tensor[]]>;
  const n = b ? b.length : (ts[0]?.[1].length ?? 0);
  const together = combineLeaves(b, ts, n);
  if (together) return together;
  const out: tf.Tensor[] = [];
  for (let i = 0; i < n; i++) {
    out.push(combineTensor(b ? b[i]! : null, ts.map(([c, k]) => [c, k[i]!] as const)));
  }
  return out;
}

/**
 * Several leaves in one kernel call on the host backends (the per-leaf results, bit for bit):
 * null where the per-leaf path applies (one leaf, another backend, no live term, a leaf whose
 * terms differ from it in size or dtype).
 */
function combineLeaves(b: readonly tf.Tensor[] | null, ts: ReadonlyArray<readonly [number, readonly tf.Tensor[]]>, n: number): tf.Tensor[] | null {
  const backendName = tf.getBackend();
  if (n < 2 || !HOST_BACKENDS.includes(backendName)) return null;
  const live = ts.filter(([c]) => c !== 0);
  if (live.length === 0) return null;
  for (let i = 0; i < n; i++) {
    const like = b ? b[i] : live[0]![1][i];
    const terms = live.map(([c, k]) => [c, k[i]] as const);
    if (!like || terms.some(([, x]) => !x) || !combinable(like, terms as ReadonlyArray<readonly [number, tf.Tensor]>)) return null;
  }
  registerKernels(kernels, backendName);
  const inputs: tf.Tensor[] = [];
  for (let i = 0; i < n; i++) {
    if (b) inputs.push(b[i]!);
    for (const [, k] of live) inputs.push(k[i]!);
  }
  const attrs: LeavesAttrs = { coefs: live.map(([c]) => c), hasBase: b !== null, leaves: n };
  return tf.engine().runKernel(LEAVES_KERNEL, inputs as never, attrs as never) as unknown as tf.Tensor[];
}
