import { defineConfig } from 'tsup';

// The rnode command: one ESM file with a shebang. tfjs, the image stack (sharp,
// vega) and the workspace packages stay external (installed dependencies).
export default defineConfig({
  entry: { rnode: 'src/rnode.ts', index: 'src/index.ts' },
  format: ['esm'],
  platform: 'node',
  target: 'node20',
  dts: false,
  sourcemap: false,
  clean: true,
  splitting: true,
  treeshake: true,
  external: [/^@tensorflow\//, /^@rnode\//, 'sharp', 'vega', 'vega-lite', 'webgpu'],
});
