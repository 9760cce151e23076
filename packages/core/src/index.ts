import './internal/register-gradients.js';
export * from './errors.js';
export * from './registry.js';
export * from './random.js';
export * from './state.js';
export * from './backends/index.js';
export * from './ops/index.js';
export * from './encoding.js';
