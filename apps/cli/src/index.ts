export { main, createProgram } from './main.js';
export type { Io } from './io.js';
export { runConfigSchema, parseRunConfig, type RunConfig } from './config.js';
