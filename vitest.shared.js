// Shared Vitest preset. Each package's tests run once per backend (one Vitest
// project per RNODE_BACKEND, as tfjs's describeWithFlags does). The webgpu
// project runs in Node on dawn.node (SwiftShader without a GPU) and takes only
// the files named *.webgpu.test.ts plus the cross-backend tests, because WebGPU
// in Node has no synchronous reads and SwiftShader is slow.
import { fileURLToPath } from 'node:url';
import { defineConfig } from 'vitest/config';

const setup = fileURLToPath(new URL('./packages/core/src/testing/setup.ts', import.meta.url));
const conditions = ['@rnode/source', 'module', 'node', 'import', 'default'];

/**
 * @param {string} root the package directory
 * @param {{ backends?: string[], webgpuInclude?: string[], testTimeout?: number }} [o]
 */
export function rnodeVitest(root, o = {}) {
  const wanted = (process.env.RNODE_BACKENDS ?? '').split(',').filter(Boolean);
  const backends = o.backends ?? (wanted.length ? wanted : ['cpu', 'wasm', 'webgpu']);
  // `include` is set per project only: with `extends: true`, Vitest concatenates
  // a project's `include` with the root's, so a root-level include would make the
  // webgpu project run every test file.
  const projects = backends.map((b) => ({
    extends: true,
    test: {
      name: b,
      env: { RNODE_BACKEND: b },
      include:
        b === 'webgpu'
          ? (o.webgpuInclude ?? ['src/**/*.webgpu.test.ts', 'src/**/*.backends.test.ts', 'test/**/*.webgpu.test.ts'])
          : ['src/**/*.test.ts', 'test/**/*.test.ts'],
    },
  }));
  return defineConfig({
    root,
    resolve: { conditions },
    ssr: { resolve: { conditions, externalConditions: ['node', 'import', 'default'] } },
    test: {
      setupFiles: [setup],
      testTimeout: o.testTimeout ?? 120_000,
      hookTimeout: 120_000,
      pool: 'forks',
      fileParallelism: false,
      projects,
    },
  });
}
