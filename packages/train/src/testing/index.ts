export { createTinyFlow } from './tiny-flow.js';
