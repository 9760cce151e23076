import * as tf from '@tensorflow/tfjs-core';
import { importOptional } from '../internal/import.js';

/**
 * Import an optional peer for a backend plugin and tell "not installed" apart
 * from "installed but failed to load". Node says ERR_MODULE_NOT_FOUND /
 * MODULE_NOT_FOUND; Vite's SSR loader (Vitest) says `Could not resolve "x"` or
 * `Failed to resolve import`; a browser says `Failed to resolve module specifier "x"`.
 */
export async function importPeer<T>(
  specifier: string,
  source: string,
): Promise<{ ok: true; module: T } | { ok: false; missing: boolean; message: string }> {
  try {
    return { ok: true, module: await importOptional<T>(specifier, source) };
  } catch (e) {
    const cause = (e as { cause?: unknown }).cause ?? e;
    const code = (cause as { code?: string })?.code;
    const message = String((cause as Error)?.message ?? cause);
    const missing =
      code === 'ERR_MODULE_NOT_FOUND' ||
      code === 'MODULE_NOT_FOUND' ||
      (/Cannot find (module|package)|Could not resolve|Failed to (resolve|load url)|Failed to fetch dynamically imported/.test(message) &&
        message.includes(specifier));
    return { ok: false, missing, message };
  }
}

export type PackageLoad = { ok: true } | { ok: false; reason: string };

/**
 * Make sure the tfjs backend package of a plugin is loaded, once per process.
 *
 * Nothing is imported when tfjs already knows the backend (`tf.findBackendFactory`):
 * the app imported the package itself, or imported rnode's bundler-friendly entry
 * (`@rnode/core/backends/<name>`), whose static import a bundler follows. Otherwise
 * the package is imported by name at run time, which works in Node and in a
 * browser with an import map, but not in a bundle (no bundler can follow an
 * `import()` of a variable): the reason then says which entry to import.
 */
export function tfjsPackageLoader(name: string, tfjsName: string, specifier: string): () => Promise<PackageLoad> {
  let loading: Promise<PackageLoad> | undefined;
  return () => {
    if (tf.findBackendFactory(tfjsName)) return Promise.resolve({ ok: true });
    return (loading ??= (async (): Promise<PackageLoad> => {
      const r = await importPeer(specifier, `backend:${name}`);
      if (r.ok && tf.findBackendFactory(tfjsName)) return { ok: true };
      loading = undefined; // a later import of the package (or of the entry) may still make it available
      if (r.ok) return { ok: false, reason: `backend "${name}": ${specifier} loaded but registered no tfjs backend "${tfjsName}"` };
      return {
        ok: false,
        reason: r.missing
          ? `backend "${name}" needs the package "${specifier}", which is not installed or not visible to this bundle: ` +
            `npm install ${specifier}@4.22.0, then import '@rnode/core/backends/${name}' once in your app ` +
            `(a bundler cannot follow rnode's run-time import of an optional package)`
          : `backend "${name}": loading "${specifier}" failed: ${r.message}`,
      };
    })());
  };
}
