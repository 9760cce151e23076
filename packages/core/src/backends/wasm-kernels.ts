/** Kernels tfjs-backend-wasm lacks for training; filled in by the wasm-kernels work. */
export function registerWasmKernels(): void {}
