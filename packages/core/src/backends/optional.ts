import { importOptional } from '../internal/import.js';

/**
 * Import an optional peer for a backend plugin and tell "not installed" apart
 * from "installed but failed to load". Node says ERR_MODULE_NOT_FOUND /
 * MODULE_NOT_FOUND; Vite's SSR loader (Vitest) says `Could not resolve "x"` or
 * `Failed to resolve import`, which `importOptional` does not recognise as missing.
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
      (/Cannot find (module|package)|Could not resolve|Failed to (resolve|load url)/.test(message) && message.includes(specifier));
    return { ok: false, missing, message };
  }
}
