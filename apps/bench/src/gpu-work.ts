// Counting the GPU work of an iteration on the webgpu backend, from the WebGPU API itself: the
// methods tfjs-backend-webgpu calls are wrapped once per process (on the prototypes of the
// device's objects, whichever WebGPU implementation it is: dawn.node or a browser), so the counts
// are what reaches the GPU, not what tfjs intends. Counts only; no timing, no change of behaviour.
import * as tf from '@tensorflow/tfjs-core';

/** Totals since the counters were installed. */
export interface GpuWork {
  /** Compute dispatches (`dispatchWorkgroups`). */
  dispatches: number;
  /** Command-buffer submissions (`queue.submit`). */
  submits: number;
  /** Host → GPU transfers: `queue.writeBuffer` calls and buffers created mapped (tensor data, uniforms). */
  uploads: number;
  uploadBytes: number;
  /** GPU → host reads: `mapAsync` for reading, each a point where the host waits for the GPU. */
  readbacks: number;
  readbackBytes: number;
}

const KEY = Symbol.for('rnode.bench.gpuWork');
const MAP_READ_USAGE = 0x0001;
const COPY_DST_USAGE = 0x0008;
const MAP_MODE_READ = 0x0001;

type AnyFn = (this: unknown, ...args: never[]) => unknown;

/** The slice of a GPUDevice used here (no dependency on the WebGPU type declarations). */
interface Device {
  queue: object;
  createCommandEncoder(): { beginComputePass(): { end(): void }; finish(): unknown };
  createBuffer(d: { size: number; usage: number }): { destroy(): void };
}

function wrap(proto: object, name: string, count: (self: unknown, args: unknown[]) => void): void {
  const p = proto as Record<string, unknown>;
  const original = p[name];
  if (typeof original !== 'function') throw new Error(`[bench] cannot count GPU work: the WebGPU object has no ${name}()`);
  p[name] = function (this: unknown, ...args: unknown[]) {
    count(this, args);
    return (original as AnyFn).apply(this, args as never[]);
  };
}

function byteLength(data: unknown): number {
  if (ArrayBuffer.isView(data)) return data.byteLength;
  if (data instanceof ArrayBuffer) return data.byteLength;
  return 0;
}

/** The element size of writeBuffer's `data` (its offsets and size count elements of typed arrays). */
function elementSize(data: unknown): number {
  return ArrayBuffer.isView(data) && 'BYTES_PER_ELEMENT' in data ? (data as unknown as { BYTES_PER_ELEMENT: number }).BYTES_PER_ELEMENT : 1;
}

/**
 * Installs the counters on the active webgpu backend's device (once per process) and returns a
 * function that reads the totals; null when the active backend is not webgpu.
 */
export function gpuWorkCounter(): (() => GpuWork) | null {
  if (tf.getBackend() !== 'webgpu') return null;
  const g = globalThis as Record<symbol, GpuWork | undefined>;
  let counts = g[KEY];
  if (!counts) {
    const device = (tf.backend() as unknown as { device?: Device }).device;
    if (!device) return null;
    const c: GpuWork = { dispatches: 0, submits: 0, uploads: 0, uploadBytes: 0, readbacks: 0, readbackBytes: 0 };
    const encoder = device.createCommandEncoder();
    const pass = encoder.beginComputePass();
    wrap(Object.getPrototypeOf(pass), 'dispatchWorkgroups', () => c.dispatches++);
    pass.end();
    encoder.finish(); // never submitted
    const queue = Object.getPrototypeOf(device.queue) as object;
    wrap(queue, 'submit', () => c.submits++);
    wrap(queue, 'writeBuffer', (_self, a) => {
      const [, , data, dataOffset, size] = a as [unknown, number, unknown, number | undefined, number | undefined];
      const unit = elementSize(data);
      c.uploads++;
      c.uploadBytes += size !== undefined ? size * unit : byteLength(data) - (dataOffset ?? 0) * unit;
    });
    wrap(Object.getPrototypeOf(device), 'createBuffer', (_self, a) => {
      const d = a[0] as { size: number; mappedAtCreation?: boolean };
      if (d.mappedAtCreation) {
        c.uploads++;
        c.uploadBytes += d.size;
      }
    });
    const probe = device.createBuffer({ size: 16, usage: MAP_READ_USAGE | COPY_DST_USAGE });
    wrap(Object.getPrototypeOf(probe), 'mapAsync', (self, a) => {
      const [mode, offset, size] = a as [number, number | undefined, number | undefined];
      if ((mode & MAP_MODE_READ) === 0) return;
      c.readbacks++;
      c.readbackBytes += size ?? (self as { size: number }).size - (offset ?? 0);
    });
    probe.destroy();
    g[KEY] = counts = c;
  }
  const totals = counts;
  return () => ({ ...totals });
}

/** b − a, field by field. */
export function gpuWorkSince(a: GpuWork, b: GpuWork): GpuWork {
  return {
    dispatches: b.dispatches - a.dispatches,
    submits: b.submits - a.submits,
    uploads: b.uploads - a.uploads,
    uploadBytes: b.uploadBytes - a.uploadBytes,
    readbacks: b.readbacks - a.readbacks,
    readbackBytes: b.readbackBytes - a.readbackBytes,
  };
}
