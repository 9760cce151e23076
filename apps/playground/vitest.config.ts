import { defineConfig } from 'vitest/config';

// One browser test file, run once (not per RNODE_BACKENDS project): it drives both
// backends in headless chromium itself.
export default defineConfig({
  test: { include: ['test/**/*.test.ts'], testTimeout: 300_000, hookTimeout: 300_000, pool: 'forks', fileParallelism: false },
});
