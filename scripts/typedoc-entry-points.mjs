// The public entry points of the library packages, read from their package.json `exports`
// (each entry's `@rnode/source` file), for TypeDoc. Also a TypeDoc plugin that names each
// module by its import specifier (`@rnode/core/testing`) instead of its path (`core/src/testing`).
import { readdirSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Converter, ReflectionKind } from 'typedoc';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');

/** @type {Array<{ file: string, specifier: string, pathName: string }>} */
export const entries = [];
for (const dir of readdirSync(join(root, 'packages')).sort()) {
  const pkg = JSON.parse(readFileSync(join(root, 'packages', dir, 'package.json'), 'utf8'));
  for (const [subpath, target] of Object.entries(pkg.exports ?? {})) {
    const source = target && typeof target === 'object' ? target['@rnode/source'] : undefined;
    if (typeof source !== 'string') continue;
    const rel = source.replace(/^\.\//, '');
    entries.push({
      file: `packages/${dir}/${rel}`,
      specifier: pkg.name + subpath.slice(1),
      // TypeDoc's default module name: the path below the common root, without /index.ts.
      pathName: `${dir}/${rel.replace(/(\/index)?\.ts$/, '')}`,
    });
  }
}

/** @param {import('typedoc').Application} app */
export function load(app) {
  const names = new Map(entries.map((e) => [e.pathName, e.specifier]));
  app.converter.on(Converter.EVENT_CREATE_DECLARATION, (_context, reflection) => {
    if (reflection.kindOf(ReflectionKind.Module) && names.has(reflection.name)) reflection.name = names.get(reflection.name);
  });
}
