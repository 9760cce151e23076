export { main, createProgram } from './main.js';
export type { Io } from './io.js';
export { trainConfigSchema, parseTrainConfig, type TrainConfig } from './config.js';
