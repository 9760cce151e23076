// The allowed dependency arrows between the rnode packages (docs/ARCHITECTURE.md, "Layers"),
// checked by dependency-cruiser: `pnpm lint:deps` (run by scripts/test-all.sh).
// Workspace imports resolve to src/ through the `@rnode/source` export condition, so an arrow
// `@rnode/x` → `@rnode/y` is seen as packages/x/src/… → packages/y/src/….
const LIBS = 'core|solvers|adjoint|estimators|models|data|train';
/** `pkg` may depend on these libraries only (besides itself). */
const layers = {
  core: [],
  solvers: ['core'],
  adjoint: ['core', 'solvers'],
  estimators: ['core'],
  data: ['core'],
  models: ['core', 'adjoint', 'estimators'],
  train: ['core', 'solvers', 'adjoint', 'estimators', 'models', 'data'],
};
const why = {
  core: 'core is the registry and shared types: it knows no plugin kind\'s package',
  solvers: 'solvers know no network, no adjoint, no estimator, no training loop',
  adjoint: 'the adjoint knows solvers only (the CNF contract it reads is declared by the adjoint itself)',
  estimators: 'estimators know no solver, no model, no training loop',
  data: 'data knows no model and no training loop',
  models: 'models know no data loading and no training loop, and reach the solvers only through the adjoint',
  train: 'train is the top library: apps sit above it',
};

/** Main and testing entries of a library: everything under packages/x/src except /node/ and tests. */
const MAIN = '^packages/[^/]+/src/(?!node/)';
const TESTS = '\\.test(-d)?\\.ts$';

module.exports = {
  forbidden: [
    ...Object.entries(layers).map(([pkg, allowed]) => ({
      name: `layer-${pkg}`,
      comment: `${why[pkg]}. Allowed: ${allowed.join(', ') || 'no other @rnode library'}.`,
      severity: 'error',
      from: { path: `^packages/${pkg}/` },
      to: { path: `^packages/(${LIBS.split('|').filter((p) => p !== pkg && !allowed.includes(p)).join('|')})/` },
    })),
    {
      name: 'libraries-know-no-apps',
      comment: 'packages/* never import apps/* (the CLI, the bench, the examples).',
      severity: 'error',
      from: { path: '^packages/' },
      to: { path: '^apps/' },
    },
    {
      name: 'libraries-know-no-terminal',
      comment: 'Terminal UI (argument parsing, progress bars, colours) belongs to apps/cli.',
      severity: 'error',
      from: { path: '^packages/' },
      to: { path: 'node_modules/(commander|cli-progress|chalk|picocolors|kleur|ora|yargs)/' },
    },
    {
      name: 'libraries-use-zod-mini',
      comment:
        'zod is the options schema library (one schema per options object: type + check, via parseOptions in @rnode/core); libraries import its tree-shakable functional build, zod/mini, never classic zod (about 3x the bundle bytes; the CLI may use classic).',
      severity: 'error',
      from: { path: '^packages/' },
      to: { path: 'node_modules/zod/', pathNot: 'node_modules/zod/(v4/mini|v4/core|v4/locales|mini)/' },
    },
    {
      name: 'no-node-builtins-in-main-entries',
      comment: 'Library main entries run in the browser: Node built-ins only behind a /node entry (or in tests, or the core test setup).',
      severity: 'error',
      from: { path: MAIN, pathNot: [TESTS, '^packages/core/src/testing/setup\\.ts$'] },
      to: { dependencyTypes: ['core'] },
    },
    {
      name: 'main-entries-import-no-node-entry',
      comment: 'A main entry importing a /node module would pull Node built-ins into the browser graph.',
      severity: 'error',
      from: { path: MAIN, pathNot: TESTS },
      to: { path: '^packages/[^/]+/src/node/' },
    },
    {
      name: 'no-reaching-into-another-package',
      comment: 'Another package is imported through its entries (@rnode/x, /node, /testing, @rnode/core/kernels, @rnode/core/backends/*), never its internals or files.',
      severity: 'error',
      from: { path: '^(packages|apps)/([^/]+)/' },
      to: {
        path: '^(packages|apps)/[^/]+/',
        pathNot: ['^$1/$2/', '^(packages|apps)/[^/]+/src/(index|node/index|testing/index)\\.ts$', '^packages/core/src/(entries/|kernels/index\\.ts$)'],
      },
    },
    {
      name: 'not-to-unresolvable',
      comment: 'An import that does not resolve (a sealed ./internal/* export, a typo).',
      severity: 'error',
      from: {},
      to: { couldNotResolve: true },
    },
    {
      name: 'no-circular',
      comment: 'No import cycles between library modules (apps/cli has type-only cycles between commands and actions).',
      severity: 'error',
      from: { path: '^packages/' },
      to: { circular: true },
    },
  ],
  options: {
    doNotFollow: { path: 'node_modules' },
    exclude: { path: '(^|/)(dist|coverage|assembly)/|(^|/)(tsup|vitest|vite)\\.config\\.|^apps/[^/]+/src/.*\\.d\\.ts$' },
    tsPreCompilationDeps: true,
    tsConfig: { fileName: 'tsconfig.base.json' },
    enhancedResolveOptions: {
      exportsFields: ['exports'],
      conditionNames: ['@rnode/source', 'import', 'types', 'node', 'default'],
      extensions: ['.ts', '.d.ts', '.js', '.mjs', '.cjs', '.json'],
      mainFields: ['module', 'main', 'types'],
    },
  },
};
