import { defineConfig } from 'tsup';
import { rnodeTsup } from '../../tsup.shared.js';

export default defineConfig({
  ...rnodeTsup({ entry: { bench: 'src/bench.ts' }, platform: 'node' }),
  format: ['esm'],
  dts: false,
});
