import { defineConfig } from 'tsup';
import { rnodeTsup } from '../../tsup.shared.js';

export default defineConfig({
  ...rnodeTsup({
    entry: {
      index: 'src/index.ts',
      'node/index': 'src/node/index.ts',
      // The data-parallel worker thread (createWorkerGradients starts it from dist/node/worker.js).
      'node/worker': 'src/node/worker.ts',
      'testing/index': 'src/testing/index.ts',
    },
  }),
  // import.meta.url in the CJS build of the Node entry (it locates worker.js).
  shims: true,
});
