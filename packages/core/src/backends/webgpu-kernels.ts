import type * as tf from '@tensorflow/tfjs-core';
import { wrapKernel } from '../kernels/register.js';

const CHUNKED = Symbol.for('rnode.webgpu.addN.chunked');

/**
 * tfjs-backend-webgpu 4.22 compiles `AddN` into one shader with one storage buffer per input
 * but requests the device's default `maxStorageBuffersPerShaderStage` (8): an `AddN` of more
 * than 7 tensors fails validation, and the command buffer it was submitted with is dropped
 * *without an error* — e.g. a gradient norm over many parameters, or the solvers' norms over many
 * state leaves, silently return garbage and training does nothing. (tfjs's own Concat splits its
 * inputs the same way.) `registerWebgpuKernels` wraps the registered AddN to sum in chunks that
 * fit the device's limit (read from the backend at call time). Idempotent.
 */
export function registerWebgpuKernels(): void {
  wrapKernel('AddN', 'webgpu', CHUNKED, (orig) => (args) => {
    const backend = args.backend as unknown as {
      device?: { limits?: { maxStorageBuffersPerShaderStage?: number } };
      disposeData(dataId: object): void;
    };
    const limit = backend.device?.limits?.maxStorageBuffersPerShaderStage ?? 8;
    const maxInputs = Math.max(2, limit - 1); // one storage buffer is the output
    let inputs = args.inputs as unknown as tf.TensorInfo[];
    if (inputs.length <= maxInputs) return orig(args);
    const made: tf.TensorInfo[] = [];
    while (inputs.length > maxInputs) {
      const next: tf.TensorInfo[] = [];
      for (let i = 0; i < inputs.length; i += maxInputs) {
        const chunk = inputs.slice(i, i + maxInputs);
        if (chunk.length === 1) next.push(chunk[0]!);
        else {
          const r = orig({ ...args, inputs: chunk as unknown as tf.NamedTensorInfoMap }) as tf.TensorInfo;
          made.push(r);
          next.push(r);
        }
      }
      inputs = next;
    }
    const out = orig({ ...args, inputs: inputs as unknown as tf.NamedTensorInfoMap });
    for (const m of made) backend.disposeData(m.dataId);
    return out;
  });
}
