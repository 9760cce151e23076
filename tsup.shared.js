// Shared tsup preset: every package builds ESM + CJS + .d.ts, with tfjs, the
// optional backend packages and sibling @rnode packages left external (peers).
/** @param {{ entry: Record<string, string>, platform?: 'neutral' | 'node' }} o */
export function rnodeTsup(o) {
  return {
    entry: o.entry,
    format: ['esm', 'cjs'],
    dts: true,
    sourcemap: true,
    clean: true,
    target: 'es2022',
    platform: o.platform ?? 'neutral',
    splitting: false,
    treeshake: true,
    external: [/^@tensorflow\//, /^@rnode\//, 'webgpu', 'vitest'],
    outExtension: ({ format }) => ({ js: format === 'cjs' ? '.cjs' : '.js' }),
  };
}
