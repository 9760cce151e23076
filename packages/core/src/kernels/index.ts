// `@rnode/core/kernels`: what a custom tfjs kernel of rnode (or of a plugin) needs — one
// registration helper and float32 access to tensor data on the host backends. Not part of
// the main entry: only packages that ship kernels (solvers, models, train) import it.
export { registerKernels } from './register.js';
export type { CustomKernel, KernelSet } from './register.js';
export { hostTensorIO, HOST_BACKENDS } from './host-io.js';
export type { HostTensorIO } from './host-io.js';
export { decodeBase64, wasmKernelModule } from './wasm-module.js';
export type { WasmKernelBinaries, WasmKernelModule, WasmVariant } from './wasm-module.js';
export { webgpuKernelIO, workgroupGrid } from './webgpu-io.js';
export type { WebgpuKernelIO, GpuDeviceLike } from './webgpu-io.js';
