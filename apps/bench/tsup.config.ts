import { defineConfig } from 'tsup';
import { rnodeTsup } from '../../tsup.shared.js';

// Two entries: the `rnode-bench` bin (also the child process each backend runs in) and the
// library entry with `runBench` that the CLI's `rnode bench` calls. ESM only; vega, sharp and
// the workspace packages stay external (installed dependencies).
export default defineConfig({
  ...rnodeTsup({ entry: { bench: 'src/bench.ts', index: 'src/index.ts' }, platform: 'node' }),
  format: ['esm'],
  dts: { entry: { index: 'src/index.ts' } },
  target: 'node20',
  external: [/^@tensorflow\//, /^@rnode\//, 'webgpu', 'vitest', 'sharp', 'vega', 'vega-lite'],
});
