/**
 * WebGPU workaround (bench-side, until the library carries it): tfjs-backend-webgpu 4.22 compiles
 * `AddN` into one shader with one storage buffer per input, but asks the device for the default
 * `maxStorageBuffersPerShaderStage` (8). An `AddN` of more than 7 tensors then fails validation
 * and its command buffer is dropped *silently*: the trainer's gradient norm (`tf.addN` over every
 * parameter's squared norm) and the solvers' non-finite check (`tf.addN` over every state leaf)
 * return garbage, and with them the whole submitted batch of work. tfjs's own Concat kernel
 * splits its inputs the same way; this wraps the registered AddN kernel to sum in chunks.
 */
import * as tf from '@tensorflow/tfjs-core';

interface WebgpuLike {
  device?: { limits?: { maxStorageBuffersPerShaderStage?: number } };
  disposeData(dataId: object): void;
}

/** Wrap webgpu's AddN so that no program gets more inputs than the device allows; returns a note, or null if nothing was needed. */
export function applyWebgpuShims(): string | null {
  if (tf.getBackend() !== 'webgpu') return null;
  const backend = tf.backend() as unknown as WebgpuLike;
  const limit = backend.device?.limits?.maxStorageBuffersPerShaderStage;
  const kernel = tf.getKernel('AddN', 'webgpu');
  if (!limit || !kernel || (kernel as { rnodeChunked?: boolean }).rnodeChunked) return null;
  const maxInputs = Math.max(2, limit - 1); // one storage buffer is the output
  const orig = kernel.kernelFunc;
  const kernelFunc: tf.KernelFunc = (args) => {
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
  };
  (kernelFunc as { rnodeChunked?: boolean }).rnodeChunked = true;
  tf.unregisterKernel('AddN', 'webgpu');
  tf.registerKernel({ ...kernel, kernelFunc });
  return `webgpu AddN summed in chunks of ${maxInputs} (device maxStorageBuffersPerShaderStage = ${limit}; tfjs-backend-webgpu 4.22 fails silently above it)`;
}
