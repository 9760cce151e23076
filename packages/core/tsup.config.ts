import { createRequire } from 'node:module';
import { readFileSync } from 'node:fs';
import { dirname, join, relative, resolve as resolvePath } from 'node:path';
import type { Plugin } from 'esbuild';
import { defineConfig } from 'tsup';
import { rnodeTsup } from '../../tsup.shared.js';

/** The side-effect entries of tfjs-core that its Node bundle lacks: gradients and chained ops. */
const INLINED = /^@tensorflow\/tfjs-core\/dist\/(register_all_gradients|public\/chained_ops\/register_all_chained_ops)$/;
const require = createRequire(import.meta.url);
const tfMain = require.resolve('@tensorflow/tfjs-core');
const tfDist = dirname(tfMain);
const tf = require('@tensorflow/tfjs-core') as Record<string, Record<string, unknown> | undefined>;
const namespaces = ['', 'backend_util', 'broadcast_util', 'util'] as const;
const isPublic = (name: string) =>
  name === 'ENGINE' || namespaces.some((ns) => (ns ? tf[ns]?.[name] : (tf as Record<string, unknown>)[name]) !== undefined);

function exportedNames(file: string, names = new Set<string>()): string[] {
  const src = readFileSync(file, 'utf8');
  for (const m of src.matchAll(/export\s*\*\s*from\s*'(\.[^']+)'/g)) exportedNames(resolvePath(dirname(file), m[1]!) + '.js', names);
  for (const m of src.matchAll(/export\s+(?:const|let|var|function\*?|class|async\s+function)\s+([A-Za-z_$][\w$]*)/g)) names.add(m[1]!);
  for (const m of src.matchAll(/export\s*\{([^}]*)\}/g)) {
    for (const part of m[1]!.split(',')) {
      const n = part.trim().split(/\s+as\s+/).pop();
      if (n) names.add(n);
    }
  }
  return [...names];
}

/**
 * Inline tfjs-core's gradient configs (dist/register_all_gradients.js and
 * dist/gradients/*) and map every other tfjs-core internal module they import
 * to the public API of the one @tensorflow/tfjs-core the user installed. An
 * internal module that exports something the public API lacks (a few backprop
 * op wrappers) is inlined too, recursively under the same rule.
 *
 * Every tfjs module lives in the virtual namespace `tfjs` under its path inside
 * the package (`@tensorflow/tfjs-core/dist/gradients/Abs_grad.js`), so the
 * module comments esbuild writes into the bundle name no build-machine path.
 */
const NS = 'tfjs';
const PKG = '@tensorflow/tfjs-core/dist/';
const real = (virtual: string) => join(tfDist, virtual.slice(PKG.length));
const tfjsGradients: Plugin = {
  name: 'rnode-tfjs-gradients',
  setup(build) {
    build.onResolve({ filter: INLINED }, (args) =>
      args.importer.endsWith('register-gradients.browser.ts') ? { path: args.path, external: true } : { path: `${args.path}.js`, namespace: NS },
    );
    build.onResolve({ filter: /^\./, namespace: NS }, (args) => {
      const target = resolvePath(dirname(real(args.importer)), args.path) + '.js';
      const rel = relative(tfDist, target).split('\\').join('/');
      const inline = rel.startsWith('gradients/') || rel.startsWith('public/chained_ops/') || exportedNames(target).some((n) => !isPublic(n));
      return { path: PKG + rel, namespace: NS, pluginData: { inline } };
    });
    build.onLoad({ filter: /.*/, namespace: NS }, (args) => {
      const file = real(args.path);
      if ((args.pluginData as { inline?: boolean } | undefined)?.inline !== false) {
        // tfjs ships inline source maps; drop them with the file's own code.
        return { contents: readFileSync(file, 'utf8').replace(/\/\/# sourceMappingURL=.*$/gm, ''), loader: 'js', resolveDir: dirname(file) };
      }
      const names = exportedNames(file);
      const lines = [
        `import * as tf from '@tensorflow/tfjs-core';`,
        `const pick = (n) => { if (n === 'ENGINE') return tf.engine(); for (const o of [tf, tf.backend_util, tf.broadcast_util, tf.util]) if (o && o[n] !== undefined) return o[n]; return undefined; };`,
        ...names.map((n) => `export const ${n} = /* @__PURE__ */ pick(${JSON.stringify(n)});`),
      ];
      return { contents: lines.join('\n'), loader: 'js' };
    });
  },
};

export default defineConfig({
  ...rnodeTsup({
    entry: {
      index: 'src/index.ts',
      'testing/index': 'src/testing/index.ts',
      'node/index': 'src/node/index.ts',
      'kernels/index': 'src/kernels/index.ts',
      'backends/cpu': 'src/entries/backend-cpu.ts',
      'backends/wasm': 'src/entries/backend-wasm.ts',
      'backends/webgpu': 'src/entries/backend-webgpu.ts',
      // `#tfjs-gradients` (package.json `imports`): inlined for Node, tfjs's own ESM for bundlers.
      'tfjs-gradients.node': 'src/internal/register-gradients.ts',
      'tfjs-gradients': 'src/internal/register-gradients.browser.ts',
    },
  }),
  // Everything from @tensorflow stays external except the gradient registration, inlined above.
  external: [/^@rnode\//, '#tfjs-gradients', 'webgpu', 'vitest', (/^@tensorflow\/(?!tfjs-core\/dist\/(register_all_gradients|public\/chained_ops\/register_all_chained_ops)$)/)],
  noExternal: [INLINED],
  esbuildPlugins: [tfjsGradients],
});
