import { cpSync, existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { defineConfig } from 'tsup';

// The built browser playground (apps/playground, a devDependency so turbo builds it first),
// shipped in dist/playground for `rnode playground`.
const PLAYGROUND = fileURLToPath(new URL('../playground/dist', import.meta.url));

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
  external: [/^@tensorflow\//, /^@rnode\//, 'sharp', 'vega', 'vega-lite', 'webgpu', 'sirv'],
  async onSuccess() {
    if (!existsSync(`${PLAYGROUND}/index.html`)) throw new Error(`${PLAYGROUND} is not built: build @rnode/playground first (turbo does: it is a devDependency)`);
    cpSync(PLAYGROUND, fileURLToPath(new URL('./dist/playground', import.meta.url)), { recursive: true });
  },
});
