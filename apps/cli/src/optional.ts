import { MissingPackageError } from './errors.js';

/**
 * Import an optional dependency of the CLI (an optional peer: `npm i @rnode/cli` leaves it out).
 * When it is not installed: a MissingPackageError (exit status 1) that says what `needs` it and
 * what to install (`install`, default the package itself).
 */
export async function importOptional<T>(name: string, needs: string, install: string = name): Promise<T> {
  try {
    return (await import(name)) as T;
  } catch (e) {
    const err = e as NodeJS.ErrnoException;
    if (err?.code === 'ERR_MODULE_NOT_FOUND' && err.message.includes(`'${name}'`)) {
      throw new MissingPackageError(`${needs} needs the package ${name}, which is not installed: npm install ${install}`);
    }
    throw e;
  }
}
