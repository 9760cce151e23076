// @rnode/core: the registry, errors, `Random`, state flattening, the backend contract (plugins,
// `useBackend`) and the second-order-safe activations. Custom kernels: `@rnode/core/kernels`;
// bundler entries of the backends: `@rnode/core/backends/*`.
//
// The one import side effect, on purpose: tfjs-core's gradients and chained ops (tfjs-core's
// Node bundle registers neither). Every rnode package imports this entry, so no user can forget
// it, as they could an explicit call. In Node it is rnode's build with them inlined, in bundles
// tfjs-core's own ESM modules (package.json `imports`); package.json `sideEffects` lists this
// file, so bundlers keep it.
import '#tfjs-gradients';
export * from './errors.js';
export * from './options.js';
export * from './registry.js';
export * from './random.js';
export * from './state.js';
export * from './backends/index.js';
export * from './ops/index.js';
export { float32ToBase64, base64ToFloat32 } from './encoding.js';
