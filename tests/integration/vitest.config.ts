import { defineConfig } from 'vitest/config';

const conditions = ['@rnode/source', 'module', 'node', 'import', 'default'];
// One process visits every backend in turn (the tests switch backends themselves).
export default defineConfig({
  resolve: { conditions },
  ssr: { resolve: { conditions, externalConditions: ['node', 'import', 'default'] } },
  test: { include: ['test/**/*.test.ts'], testTimeout: 300_000, hookTimeout: 300_000, pool: 'forks' },
});
