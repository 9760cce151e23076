import { RnodeError } from '../errors.js';

/**
 * Import an optional peer by name at run time. The specifier is a variable so
 * bundlers do not pull in packages the user did not install.
 */
export async function importOptional<T = unknown>(specifier: string, source: string, hint?: string): Promise<T> {
  try {
    return (await import(/* @vite-ignore */ specifier)) as T;
  } catch (cause) {
    const code = (cause as { code?: string })?.code;
    const missing =
      code === 'ERR_MODULE_NOT_FOUND' ||
      code === 'MODULE_NOT_FOUND' ||
      /Cannot find (module|package)/.test(String((cause as Error)?.message));
    throw new RnodeError(
      'BACKEND_UNAVAILABLE',
      missing
        ? `${source} needs the package "${specifier}", which is not installed: ${hint ?? `npm install ${specifier}`}`
        : `${source}: loading "${specifier}" failed: ${(cause as Error)?.message ?? cause}`,
      { source, cause },
    );
  }
}
