import * as tf from '@tensorflow/tfjs-core';
import type { TensorInfo } from '@tensorflow/tfjs-core';
import * as z from 'zod/mini';
import { RnodeError, numberOption, parseOptions } from '@rnode/core';
import { HOST_BACKENDS, hostTensorIO, registerKernels, webgpuKernelIO, workgroupGrid, type CustomKernel, type KernelSet } from '@rnode/core/kernels';
import { base64ToFloat32, float32ToBase64 } from '@rnode/core';
import { isShape, sizeOfShape, type EncodedArray } from './internal/shapes.js';

/** A number in [0, 1) (Adam's β); the training options use it too. */
export const betaOption = () => z.custom<number>((v) => typeof v === 'number' && v >= 0 && v < 1, { error: 'a number in [0, 1)' });

export const adamOptionsSchema = z.object({
  /** Base learning rate (default 1e-3); the trainer passes the warmed-up rate to `step`. */
  lr: z.optional(numberOption('non-negative')),
  /** Default 0.9. */
  beta1: z.optional(betaOption()),
  /** Default 0.999. */
  beta2: z.optional(betaOption()),
  /** Default 1e-8. */
  eps: z.optional(numberOption('non-negative')),
  /** L2 penalty added to the gradient, wd·θ (torch.optim.Adam's weight_decay, not AdamW). Default 0. */
  weightDecay: z.optional(numberOption('non-negative')),
});
export type AdamOptions = z.input<typeof adamOptionsSchema>;

/** Serialisable optimizer state: hyper-parameters, step count and both moments per parameter (by name). */
export interface AdamState {
  format: 'rnode-adam';
  version: 1;
  step: number;
  lr: number;
  beta1: number;
  beta2: number;
  eps: number;
  weightDecay: number;
  /** Parameter names in order, with their first and second moments (base64 float32 LE). */
  params: Array<{ name: string; m: EncodedArray; v: EncodedArray }>;
}

const SOURCE = 'optimizer:adam';

/**
 * Adam with PyTorch semantics (torch.optim.Adam): g ← g + wd·θ; m ← β1·m + (1−β1)·g;
 * v ← β2·v + (1−β2)·g²; θ ← θ − (lr/(1−β1ᵗ))·m / (√v/√(1−β2ᵗ) + eps).
 * The moments are non-trainable variables owned by the optimizer (`dispose()` frees them).
 */
export class Adam {
  readonly params: readonly tf.Variable[];
  readonly lr: number;
  readonly beta1: number;
  readonly beta2: number;
  readonly eps: number;
  readonly weightDecay: number;
  private t = 0;
  private readonly m: tf.Variable[];
  private readonly v: tf.Variable[];

  constructor(params: readonly tf.Variable[], options: AdamOptions = {}) {
    const o = parseOptions(adamOptionsSchema, options, SOURCE);
    this.lr = o.lr ?? 1e-3;
    this.beta1 = o.beta1 ?? 0.9;
    this.beta2 = o.beta2 ?? 0.999;
    this.eps = o.eps ?? 1e-8;
    this.weightDecay = o.weightDecay ?? 0;
    const names = new Set<string>();
    for (const p of params) {
      if (names.has(p.name)) throw new RnodeError('INVALID_ARGUMENT', `two parameters named "${p.name}"`, { source: SOURCE });
      names.add(p.name);
    }
    this.params = [...params];
    this.m = this.params.map((p) => tf.tidy(() => tf.variable(tf.zerosLike(p), false)));
    this.v = this.params.map((p) => tf.tidy(() => tf.variable(tf.zerosLike(p), false)));
  }

  /** Number of updates applied so far (t of the bias correction). */
  get step(): number {
    return this.t;
  }

  /**
   * One update with gradients `grads` (in the order of `params`, or a map by parameter name),
   * at learning rate `lr` (default: the base rate), the gradients first multiplied by
   * `gradScale` (a scalar tensor, e.g. a clipping coefficient) when given.
   */
  update(grads: readonly tf.Tensor[] | tf.NamedTensorMap, lr: number = this.lr, gradScale?: tf.Scalar): void {
    const list = Array.isArray(grads)
      ? (grads as readonly tf.Tensor[])
      : this.params.map((p) => {
          const g = (grads as tf.NamedTensorMap)[p.name];
          if (!g) throw new RnodeError('INVALID_ARGUMENT', `no gradient for parameter "${p.name}"`, { source: SOURCE });
          return g;
        });
    if (list.length !== this.params.length) {
      throw new RnodeError('INVALID_ARGUMENT', `expected ${this.params.length} gradients, got ${list.length}`, { source: SOURCE });
    }
    this.t += 1;
    const bc1 = 1 - this.beta1 ** this.t;
    const bc2Sqrt = Math.sqrt(1 - this.beta2 ** this.t);
    const stepSize = lr / bc1;
    if (HOST_BACKENDS.includes(tf.getBackend()) || (tf.getBackend() === 'webgpu' && webgpuKernelIO(tf.backend()))) {
      // One fused kernel per parameter on the host backends and WebGPU (instead of ~13 elementwise ops).
      registerKernels(adamKernels);
      const attrs = { beta1: this.beta1, beta2: this.beta2, eps: this.eps, weightDecay: this.weightDecay, bc2Sqrt, stepSize };
      tf.tidy(() => {
        this.params.forEach((p, i) => {
          const inputs: Record<string, tf.Tensor> = { p, m: this.m[i]!, v: this.v[i]!, g: list[i]! };
          if (gradScale) inputs['scale'] = gradScale;
          const [p1, m1, v1] = tf.engine().runKernel(ADAM_KERNEL, inputs as never, attrs as never) as unknown as tf.Tensor[];
          this.m[i]!.assign(m1!);
          this.v[i]!.assign(v1!);
          p.assign(p1!);
        });
      });
      return;
    }
    tf.tidy(() => {
      this.params.forEach((p, i) => {
        let g = list[i]!;
        if (gradScale) g = tf.mul(g, gradScale);
        if (this.weightDecay !== 0) g = tf.add(g, tf.mul(p, this.weightDecay));
        const m = this.m[i]!;
        const v = this.v[i]!;
        m.assign(tf.add(tf.mul(m, this.beta1), tf.mul(g, 1 - this.beta1)));
        v.assign(tf.add(tf.mul(v, this.beta2), tf.mul(tf.square(g), 1 - this.beta2)));
        const denom = tf.add(tf.div(tf.sqrt(v), bc2Sqrt), this.eps);
        p.assign(tf.sub(p, tf.mul(tf.div(m, denom), stepSize)));
      });
    });
  }

  /** The state (reads the moments from the device once). */
  async getState(): Promise<AdamState> {
    const arrays = await Promise.all([...this.m, ...this.v].map((t) => t.data() as Promise<Float32Array>));
    const n = this.params.length;
    return {
      format: 'rnode-adam',
      version: 1,
      step: this.t,
      lr: this.lr,
      beta1: this.beta1,
      beta2: this.beta2,
      eps: this.eps,
      weightDecay: this.weightDecay,
      params: this.params.map((p, i) => ({
        name: p.name,
        m: { shape: p.shape.slice(), data: float32ToBase64(arrays[i]!) },
        v: { shape: p.shape.slice(), data: float32ToBase64(arrays[n + i]!) },
      })),
    };
  }

  /**
   * Restore moments and step count (hyper-parameters stay those of this optimizer).
   * Parameters are matched by position; shapes must agree. Throws INVALID_CHECKPOINT.
   */
  setState(state: AdamState, source = SOURCE): void {
    const decoded = decodeAdamState(state, source);
    if (decoded.length !== this.params.length) {
      throw new RnodeError('INVALID_CHECKPOINT', `optimizer state has ${decoded.length} parameters, the model has ${this.params.length}`, { source });
    }
    decoded.forEach((d, i) => {
      const p = this.params[i]!;
      if (!sameShape(d.shape, p.shape)) {
        throw new RnodeError(
          'INVALID_CHECKPOINT',
          `optimizer moment "${d.name}" has shape [${d.shape.join(', ')}], parameter "${p.name}" has [${p.shape.join(', ')}]`,
          { source },
        );
      }
    });
    decoded.forEach((d, i) => {
      const p = this.params[i]!;
      tf.tidy(() => {
        this.m[i]!.assign(tf.tensor(d.m, p.shape, 'float32'));
        this.v[i]!.assign(tf.tensor(d.v, p.shape, 'float32'));
      });
    });
    this.t = state.step;
  }

  dispose(): void {
    tf.dispose([...this.m, ...this.v]);
  }
}

function sameShape(a: readonly number[], b: readonly number[]): boolean {
  return a.length === b.length && a.every((d, i) => d === b[i]);
}

/** Validate an AdamState's structure and decode its moments; INVALID_CHECKPOINT naming `source` on any fault. */
export function decodeAdamState(state: unknown, source: string): Array<{ name: string; shape: number[]; m: Float32Array; v: Float32Array }> {
  const bad = (msg: string): never => {
    throw new RnodeError('INVALID_CHECKPOINT', `optimizer state: ${msg}`, { source });
  };
  if (typeof state !== 'object' || state === null) return bad('not an object');
  const s = state as Partial<AdamState>;
  if (s.format !== 'rnode-adam' || s.version !== 1) bad(`expected format "rnode-adam" version 1, got ${JSON.stringify(s.format)} ${JSON.stringify(s.version)}`);
  if (!Number.isInteger(s.step) || (s.step as number) < 0) bad('"step" must be a non-negative integer');
  if (!Array.isArray(s.params)) return bad('"params" must be a list');
  return s.params.map((e, i) => {
    if (typeof e !== 'object' || e === null || typeof e.name !== 'string') return bad(`entry ${i} has no name`);
    const dec = (a: EncodedArray | undefined, which: string): { shape: number[]; data: Float32Array } => {
      if (!a || !isShape(a.shape)) return bad(`"${e.name}".${which} has no valid shape`);
      const data = base64ToFloat32(a.data);
      if (!data) return bad(`"${e.name}".${which} is not base64 float32 data`);
      if (data.length !== sizeOfShape(a.shape)) bad(`"${e.name}".${which} has ${data.length} values, its shape [${a.shape.join(', ')}] needs ${sizeOfShape(a.shape)}`);
      return { shape: a.shape, data };
    };
    const m = dec(e.m, 'm');
    const v = dec(e.v, 'v');
    if (!sameShape(m.shape, v.shape)) bad(`"${e.name}": m and v shapes differ`);
    return { name: e.name, shape: m.shape, m: m.data, v: v.data };
  });
}

/** The linearly warmed-up learning rate at (0-based) iteration `itr`: lr·min(1, (itr+1)/warmup) (RNODE). */
export function warmupLr(lr: number, warmup: number, itr: number): number {
  return warmup > 0 ? lr * Math.min(1, (itr + 1) / warmup) : lr;
}

const ADAM_KERNEL = 'RnodeAdamUpdate';

interface AdamAttrs {
  beta1: number;
  beta2: number;
  eps: number;
  weightDecay: number;
  bc2Sqrt: number;
  stepSize: number;
}

/** The update in WGSL, one invocation per element (the host kernel's arithmetic, in float32). */
const adamWgsl = (scaled: boolean) => `struct U { n: u32, nx: u32, beta1: f32, beta2: f32, eps: f32, wd: f32, bc2Sqrt: f32, stepSize: f32 }
@group(0) @binding(0) var<storage, read> p: array<f32>;
@group(0) @binding(1) var<storage, read> m: array<f32>;
@group(0) @binding(2) var<storage, read> v: array<f32>;
@group(0) @binding(3) var<storage, read> g: array<f32>;
${scaled ? '@group(0) @binding(4) var<storage, read> scale: array<f32>;' : ''}
@group(0) @binding(${scaled ? 5 : 4}) var<storage, read_write> p1: array<f32>;
@group(0) @binding(${scaled ? 6 : 5}) var<storage, read_write> m1: array<f32>;
@group(0) @binding(${scaled ? 7 : 6}) var<storage, read_write> v1: array<f32>;
@group(0) @binding(${scaled ? 8 : 7}) var<uniform> u: U;
@compute @workgroup_size(64)
fn main(@builtin(global_invocation_id) gid: vec3<u32>) {
  let i = gid.x + gid.y * u.nx * 64u;
  if (i >= u.n) { return; }
  let gi = g[i] * ${scaled ? 'scale[0]' : '1.0'} + u.wd * p[i];
  let mi = u.beta1 * m[i] + (1.0 - u.beta1) * gi;
  let vi = u.beta2 * v[i] + (1.0 - u.beta2) * gi * gi;
  m1[i] = mi;
  v1[i] = vi;
  p1[i] = p[i] - (mi / (sqrt(vi) / u.bc2Sqrt + u.eps)) * u.stepSize;
}
`;

const adamWebgpu: CustomKernel = {
  kernelName: ADAM_KERNEL,
  kernelFunc: (({ inputs, backend, attrs }: { inputs: Record<string, TensorInfo>; backend: tf.KernelBackend; attrs: AdamAttrs }) => {
    const io = webgpuKernelIO(backend);
    if (!io) throw new RnodeError('BACKEND_UNAVAILABLE', 'the WGSL Adam kernel needs tfjs-backend-webgpu 4.x', { source: SOURCE });
    const shape = inputs['p']!.shape.slice();
    const n = sizeOfShape(shape);
    const outs = [io.alloc(shape), io.alloc(shape), io.alloc(shape)];
    const scaled = !!inputs['scale'];
    const grid = workgroupGrid(Math.ceil(n / 64), io.limits.maxComputeWorkgroupsPerDimension);
    const buf = new ArrayBuffer(32);
    new Uint32Array(buf, 0, 2).set([n, grid[0]]);
    new Float32Array(buf, 8, 6).set([attrs.beta1, attrs.beta2, attrs.eps, attrs.weightDecay, attrs.bc2Sqrt, attrs.stepSize]);
    const ins = ['p', 'm', 'v', 'g', ...(scaled ? ['scale'] : [])].map((k) => inputs[k]!);
    io.dispatch({ key: `adam|${scaled}`, code: () => adamWgsl(scaled), buffers: [...ins, ...outs], uniforms: buf, workgroups: grid });
    return outs;
  }) as never,
};

/** Adam's update of one parameter as one kernel on the host backends and WebGPU: outputs p′, m′, v′. */
const adamKernels: KernelSet = {
  source: 'optimizer:adam',
  backends: [...HOST_BACKENDS, 'webgpu'],
  kernels: (backendName) => backendName === 'webgpu' ? [adamWebgpu] : [
    {
      kernelName: ADAM_KERNEL,
      kernelFunc: (({ inputs, backend, attrs }: { inputs: Record<string, TensorInfo>; backend: tf.KernelBackend; attrs: Record<string, number> }) => {
        const io = hostTensorIO(backend, backendName);
        const shape = inputs['p']!.shape.slice();
        const outs = [io.alloc(shape), io.alloc(shape), io.alloc(shape)];
        const p = io.read(inputs['p']!);
        const m = io.read(inputs['m']!);
        const v = io.read(inputs['v']!);
        const g = io.read(inputs['g']!);
        const scale = inputs['scale'] ? io.read(inputs['scale'])[0]! : 1;
        const [p1, m1, v1] = outs.map((o) => io.view(o)) as [Float32Array, Float32Array, Float32Array];
        const { beta1, beta2, eps, weightDecay, bc2Sqrt, stepSize } = attrs as unknown as AdamAttrs;
        for (let i = 0; i < p.length; i++) {
          const gi = Math.fround(g[i]! * scale) + weightDecay * p[i]!;
          const mi = Math.fround(beta1 * m[i]! + (1 - beta1) * gi);
          const vi = Math.fround(beta2 * v[i]! + (1 - beta2) * gi * gi);
          m1[i] = mi;
          v1[i] = vi;
          p1[i] = p[i]! - (mi / (Math.sqrt(vi) / bc2Sqrt + eps)) * stepSize;
        }
        return outs;
      }) as never,
    },
  ],
};
