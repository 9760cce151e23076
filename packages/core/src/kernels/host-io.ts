import type { KernelBackend, TensorInfo } from '@tensorflow/tfjs-core';

/**
 * Float32 access to tensor data inside a kernel of a CPU-resident backend (`cpu`: JS typed
 * arrays; `wasm`: the module's heap), for rnode's JS/wasm kernels. Allocate every output with
 * `alloc` before taking any `view`: on wasm an allocation may grow (and move) the heap.
 */
export interface HostTensorIO {
  /** The float32 values of a tensor (a view, not a copy, where the backend allows). */
  read(info: TensorInfo): Float32Array;
  /** A new float32 output tensor of `shape` (contents unspecified until written through `view`). */
  alloc(shape: number[]): TensorInfo;
  /** A writable view of an output made by `alloc`. */
  view(info: TensorInfo): Float32Array;
}

/** Backends whose tensor data is host memory (where `hostTensorIO` works). */
export const HOST_BACKENDS: readonly string[] = ['cpu', 'wasm'];

const sizeOf = (shape: readonly number[]) => shape.reduce((a, b) => a * b, 1);

export function hostTensorIO(backend: KernelBackend, backendName: string): HostTensorIO {
  if (backendName === 'wasm') {
    const b = backend as unknown as {
      dataIdMap: { get(id: object): { memoryOffset: number } };
      wasm: { HEAPF32: Float32Array };
      makeOutput(shape: number[], dtype: 'float32'): TensorInfo;
    };
    const view = (info: TensorInfo) => {
      const off = b.dataIdMap.get(info.dataId).memoryOffset / 4;
      return b.wasm.HEAPF32.subarray(off, off + sizeOf(info.shape));
    };
    return { read: view, view, alloc: (shape) => b.makeOutput(shape, 'float32') };
  }
  if (backendName !== 'cpu') throw new Error(`[rnode] hostTensorIO: backend "${backendName}" does not keep tensors in host memory`);
  const b = backend as unknown as {
    data: { get(id: object): { values?: unknown } };
    makeTensorInfo(shape: number[], dtype: 'float32', values: Float32Array): TensorInfo;
  };
  return {
    read(info) {
      const v = b.data.get(info.dataId).values;
      return v instanceof Float32Array ? v : Float32Array.from(v as ArrayLike<number>);
    },
    alloc: (shape) => b.makeTensorInfo(shape, 'float32', new Float32Array(sizeOf(shape))),
    view: (info) => b.data.get(info.dataId).values as Float32Array,
  };
}
