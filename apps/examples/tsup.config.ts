import { defineConfig } from 'tsup';
import { rnodeTsup } from '../../tsup.shared.js';

export default defineConfig({
  ...rnodeTsup({ entry: { 'ode-demo': 'src/ode-demo.ts' }, platform: 'node' }),
  format: ['esm'],
  dts: false,
});
