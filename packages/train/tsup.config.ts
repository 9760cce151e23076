import { defineConfig } from 'tsup';
import { rnodeTsup } from '../../tsup.shared.js';

export default defineConfig(
  rnodeTsup({ entry: { index: 'src/index.ts', 'node/index': 'src/node/index.ts', 'testing/index': 'src/testing/index.ts' } }),
);
