// Shared tsup preset. Every library builds one ESM module graph (no CJS copy):
// a CommonJS app `require()`s it through Node's require(esm) (Node >= 20.19),
// so ESM, CJS and the `/testing` entries of a package are one module instance
// in a process, with one set of built-in plugins. Entries share chunks
// (`splitting`), so `/testing` uses the same built-in solvers as the main entry
// instead of carrying its own copy. No source maps: the output is unminified
// ES2022 with the original names, and maps with sourcesContent shipped every
// source twice. tfjs, the optional backend packages and sibling @rnode
// packages stay external (peers).
/** @param {{ entry: Record<string, string>, platform?: 'neutral' | 'node' }} o */
export function rnodeTsup(o) {
  return {
    entry: o.entry,
    format: ['esm'],
    dts: true,
    sourcemap: false,
    clean: true,
    target: 'es2022',
    platform: o.platform ?? 'neutral',
    splitting: true,
    treeshake: true,
    external: [/^@tensorflow\//, /^@rnode\//, 'webgpu', 'vitest'],
  };
}
