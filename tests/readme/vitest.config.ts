import { defineConfig } from 'vitest/config';

// Each README block runs in its own `node` process against the built packages (dist), as a
// user's script would; Vitest only drives them. No setup file: a block must pick its backend.
export default defineConfig({
  test: { include: ['test/**/*.test.ts'], testTimeout: 120_000, pool: 'forks' },
});
