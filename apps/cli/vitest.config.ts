import { defineConfig } from 'vitest/config';

// The CLI's tests run the built command (dist/rnode.js) as a child process; the
// CLI chooses its own backend, so there is no backend matrix and no setup file.
export default defineConfig({
  test: {
    include: ['src/**/*.test.ts'],
    testTimeout: 300_000,
    hookTimeout: 300_000,
    pool: 'forks',
    fileParallelism: false,
  },
});
