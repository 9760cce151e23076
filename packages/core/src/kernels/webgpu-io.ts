import { env, type KernelBackend, type TensorInfo } from '@tensorflow/tfjs-core';

/**
 * Raw WebGPU compute dispatches inside a kernel of tfjs's `webgpu` backend, for rnode's WGSL
 * kernels: a shader of our own with any number of outputs (tfjs's `runWebGPUProgram` has one),
 * bound directly to the tensors' GPU buffers and recorded into the backend's own command encoder
 * and compute pass — so it is ordered with tfjs's dispatches, batched into its submits, and
 * nothing is read back. Written against @tensorflow/tfjs-backend-webgpu 4.x's backend object
 * (`device`, `tensorMap`, `uploadToGPU`, `bufferManager`, the command encoder and its pass);
 * `webgpuKernelIO` returns null where that shape is missing, and callers keep their op-level path.
 */
export interface WebgpuKernelIO {
  readonly device: GpuDeviceLike;
  /** The device's limits that decide whether a kernel fits. */
  readonly limits: { maxStorageBuffersPerShaderStage: number; maxComputeWorkgroupStorageSize: number; maxComputeWorkgroupsPerDimension: number };
  /** A new float32 output tensor of `shape` (contents unspecified until a dispatch writes it). */
  alloc(shape: number[]): TensorInfo;
  /** A new float32 tensor of `shape` holding zeros (an upload, no dispatch). */
  zeros(shape: number[]): TensorInfo;
  /**
   * Records one dispatch of the WGSL compute shader `code()` (entry point `main`, bind group 0):
   * `buffers[i]` at binding i, then the uniform block (`uniforms`, raw 4-byte words) at binding
   * `buffers.length`. The pipeline is compiled once per device and `key`.
   */
  dispatch(d: { key: string; code: () => string; buffers: readonly TensorInfo[]; uniforms: ArrayBuffer; workgroups: readonly [number, number, number] }): void;
}

/** The slice of a WebGPU device this module uses. */
export interface GpuDeviceLike {
  limits: Record<string, number>;
  createShaderModule(d: { code: string }): unknown;
  createComputePipeline(d: { layout: 'auto'; compute: { module: unknown; entryPoint: string } }): { getBindGroupLayout(i: number): unknown };
  createBindGroup(d: { layout: unknown; entries: Array<{ binding: number; resource: unknown }> }): unknown;
  queue: { writeBuffer(buffer: unknown, offset: number, data: ArrayBuffer): void };
}

interface PassLike {
  setPipeline(p: unknown): void;
  setBindGroup(i: number, g: unknown): void;
  dispatchWorkgroups(x: number, y?: number, z?: number): void;
}

/** What tfjs-backend-webgpu 4.x's backend object has (checked at run time). */
interface TfWebgpuBackend {
  device: GpuDeviceLike;
  tensorMap: { get(id: object): { resource: unknown } | undefined };
  uploadToGPU(dataId: object): void;
  makeTensorInfo(shape: number[], dtype: 'float32', values?: Float32Array): TensorInfo;
  bufferManager: { acquireBuffer(size: number, usage: number): unknown };
  uniformPendingDisposal: unknown[];
  commandQueueOwnedIds: { add(id: object): unknown };
  ensureCommandEncoderReady(): void;
  endComputePassEncoder(): void;
  submitQueue(): void;
  commandEncoder: { beginComputePass(d: object): PassLike } | null;
  computePassEncoder: PassLike | null;
  dispatchCountInPass: number;
}

const MEMBERS = ['uploadToGPU', 'makeTensorInfo', 'ensureCommandEncoderReady', 'endComputePassEncoder', 'submitQueue'] as const;

// GPUBufferUsage.UNIFORM | GPUBufferUsage.COPY_DST (numeric: the globals may be absent in Node).
const UNIFORM_USAGE = 0x40 | 0x08;
/** tfjs-backend-webgpu's WEBGPU_DEFERRED_SUBMIT_BATCH_SIZE (its default where the flag is unknown). */
function submitBatch(): number {
  try {
    return env().getNumber('WEBGPU_DEFERRED_SUBMIT_BATCH_SIZE');
  } catch {
    return 15;
  }
}

const pipelines = new WeakMap<object, Map<string, { getBindGroupLayout(i: number): unknown }>>();

const sizeOf = (shape: readonly number[]) => shape.reduce((a, b) => a * b, 1);

function isTfWebgpu(b: unknown): b is TfWebgpuBackend {
  const o = b as Partial<Record<string, unknown>> | null;
  if (!o || typeof o !== 'object') return false;
  const device = o['device'] as Partial<GpuDeviceLike> | undefined;
  return (
    MEMBERS.every((m) => typeof o[m] === 'function') &&
    !!device &&
    typeof device.createComputePipeline === 'function' &&
    typeof (o['bufferManager'] as { acquireBuffer?: unknown } | undefined)?.acquireBuffer === 'function' &&
    Array.isArray(o['uniformPendingDisposal']) &&
    typeof (o['commandQueueOwnedIds'] as { add?: unknown } | undefined)?.add === 'function' &&
    typeof (o['tensorMap'] as { get?: unknown } | undefined)?.get === 'function'
  );
}

/** Raw dispatch access to a tfjs `webgpu` backend, or null where it is not one this module knows. */
export function webgpuKernelIO(backend: KernelBackend | unknown): WebgpuKernelIO | null {
  if (!isTfWebgpu(backend)) return null;
  const b = backend;
  const device = b.device;
  const limits = {
    maxStorageBuffersPerShaderStage: device.limits['maxStorageBuffersPerShaderStage'] ?? 8,
    maxComputeWorkgroupStorageSize: device.limits['maxComputeWorkgroupStorageSize'] ?? 16384,
    maxComputeWorkgroupsPerDimension: device.limits['maxComputeWorkgroupsPerDimension'] ?? 65535,
  };
  let cache = pipelines.get(device);
  if (!cache) pipelines.set(device, (cache = new Map()));
  const pipelineFor = (key: string, code: () => string) => {
    let p = cache.get(key);
    if (!p) {
      p = device.createComputePipeline({ layout: 'auto', compute: { module: device.createShaderModule({ code: code() }), entryPoint: 'main' } });
      cache.set(key, p);
    }
    return p;
  };
  return {
    device,
    limits,
    alloc: (shape) => b.makeTensorInfo(shape, 'float32'),
    zeros: (shape) => b.makeTensorInfo(shape, 'float32', new Float32Array(sizeOf(shape))),
    dispatch({ key, code, buffers, uniforms, workgroups }) {
      const pipeline = pipelineFor(key, code);
      const entries: Array<{ binding: number; resource: unknown }> = buffers.map((t, i) => {
        b.uploadToGPU(t.dataId);
        b.commandQueueOwnedIds.add(t.dataId);
        return { binding: i, resource: { buffer: b.tensorMap.get(t.dataId)!.resource } };
      });
      const size = Math.max(16, Math.ceil(uniforms.byteLength / 16) * 16);
      const ubuf = b.bufferManager.acquireBuffer(size, UNIFORM_USAGE);
      const bytes = new Uint8Array(size);
      bytes.set(new Uint8Array(uniforms));
      device.queue.writeBuffer(ubuf, 0, bytes.buffer);
      b.uniformPendingDisposal.push(ubuf);
      entries.push({ binding: buffers.length, resource: { buffer: ubuf, offset: 0, size } });
      const group = device.createBindGroup({ layout: pipeline.getBindGroupLayout(0), entries });
      b.ensureCommandEncoderReady();
      if (!b.computePassEncoder) b.computePassEncoder = b.commandEncoder!.beginComputePass({});
      const pass = b.computePassEncoder;
      pass.setPipeline(pipeline);
      pass.setBindGroup(0, group);
      pass.dispatchWorkgroups(workgroups[0], workgroups[1], workgroups[2]);
      b.dispatchCountInPass++;
      if (b.dispatchCountInPass >= submitBatch()) {
        b.endComputePassEncoder();
        b.submitQueue();
      }
    },
  };
}

/**
 * A 1-D launch of `n` workgroups as a grid within the per-dimension limit: [x, y, 1] with
 * x·y ≥ n (a shader finds its index as `id.x + id.y * x` and skips indices ≥ n).
 */
export function workgroupGrid(n: number, maxPerDim = 65535): [number, number, number] {
  if (n <= maxPerDim) return [Math.max(1, n), 1, 1];
  if (n > maxPerDim * maxPerDim) throw new RangeError(`[rnode] ${n} workgroups exceed a ${maxPerDim}×${maxPerDim} grid`);
  const y = Math.ceil(n / maxPerDim);
  return [Math.ceil(n / y), y, 1];
}
