// tfjs-core's gradients and chained ops (tfjs-core's Node bundle registers neither): in Node
// rnode's build with them inlined, in bundles tfjs-core's own ESM modules (package.json `imports`).
import '#tfjs-gradients';
export * from './errors.js';
export * from './options.js';
export * from './registry.js';
export * from './random.js';
export * from './state.js';
export * from './backends/index.js';
export * from './ops/index.js';
export * from './encoding.js';
