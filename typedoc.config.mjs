// TypeDoc for `pnpm docs:api`: Markdown in docs/api/, one module per public entry point of
// every library package (from their `exports`, see scripts/typedoc-entry-points.mjs), named
// by import specifier. Warnings (broken {@link}s, referenced but unexported types) fail it.
import { entries } from './scripts/typedoc-entry-points.mjs';

/** @type {Partial<import('typedoc').TypeDocOptions & import('typedoc-plugin-markdown').PluginOptions>} */
export default {
  name: 'rnode API',
  entryPoints: entries.map((e) => e.file),
  entryPointStrategy: 'resolve',
  tsconfig: 'typedoc.tsconfig.json',
  out: 'docs/api',
  plugin: ['typedoc-plugin-markdown', './scripts/typedoc-entry-points.mjs'],
  readme: 'none',
  excludePrivate: true,
  excludeInternal: true,
  disableSources: true,
  treatWarningsAsErrors: true,
  validation: { notExported: true, invalidLink: true, rewrittenLink: true, notDocumented: false, unusedMergeModuleWith: true },
  externalSymbolLinkMappings: {
    // @types/node's comment on fs.openSync links to fs.open (CheckpointFs mentions openSync).
    '@types/node': { '"fs".open': 'https://nodejs.org/api/fs.html#fsopenpath-flags-mode-callback' },
  },
};
