import { afterEach, describe, expect, it } from 'vitest';
import { caughtRnodeError as caught } from './testing/index.js';
import * as z from 'zod/mini';
import { functionOption, numberOption, optionKeys, parseOptions, perComponentOption } from './options.js';

const schema = z.object({
  size: numberOption('integer>0'),
  rate: z.optional(numberOption('positive')),
  tol: z.optional(perComponentOption((x): x is number => typeof x === 'number' && x >= 0, 'a non-negative number')),
  mode: z.optional(z.enum(['fast', 'exact', 'auto'])),
  hidden: z.optional(z.array(numberOption('integer>0'))),
  onStep: z.optional(functionOption<() => void>()),
  flag: z.optional(z.boolean()),
});


describe('parseOptions', () => {
  afterEach(() => {
    z.config({ localeError: undefined });
  });

  it('returns the present fields, typed; undefined values and absent optional keys are left out', () => {
    const onStep = () => {};
    const o = parseOptions(schema, { size: 3, rate: Infinity, mode: 'auto', hidden: [4, 5], onStep, flag: undefined }, 'test');
    expect(o).toEqual({ size: 3, rate: Infinity, mode: 'auto', hidden: [4, 5], onStep });
    expect(o.onStep).toBe(onStep);
    expect(Object.keys(o)).not.toContain('flag');
  });

  it('unknown keys: INVALID_OPTIONS naming them and listing the known ones, in the schema order', () => {
    const e = caught(() => parseOptions(schema, { size: 1, sise: 2, rat: 3 }, 'test'));
    expect(e.code).toBe('INVALID_OPTIONS');
    expect(e.source).toBe('test');
    expect(e.message).toBe('[rnode] [test] unknown options "sise", "rat"; known options: size, rate, tol, mode, hidden, onStep, flag');
    // An unknown key holding undefined is not an error.
    expect(parseOptions(schema, { size: 1, sise: undefined }, 'test')).toEqual({ size: 1 });
  });

  it('not an object: INVALID_OPTIONS', () => {
    expect(caught(() => parseOptions(schema, [1], 'test')).message).toBe('[rnode] [test] options must be an object, got array(1)');
    expect(caught(() => parseOptions(schema, 'x', 'test')).message).toBe('[rnode] [test] options must be an object, got "x"');
  });

  it('a field of the wrong type or out of range: the option, what it must be, and the value', () => {
    const cases: [object, string, string][] = [
      [{ size: 1.5 }, 'size', 'option "size" must be a positive integer, got 1.5'],
      [{}, 'size', 'option "size" must be a positive integer, got undefined'],
      [{ size: 1, rate: 0 }, 'rate', 'option "rate" must be a positive number, got 0'],
      [{ size: 1, rate: NaN }, 'rate', 'option "rate" must be a positive number, got NaN'],
      [{ size: 1, mode: 'slow' }, 'mode', `option "mode" must be 'fast', 'exact' or 'auto', got "slow"`],
      [{ size: 1, hidden: [3, -1] }, 'hidden[1]', 'option "hidden[1]" must be a positive integer, got -1'],
      [{ size: 1, hidden: 3 }, 'hidden', 'option "hidden" must be an array, got 3'],
      [{ size: 1, onStep: 'log' }, 'onStep', 'option "onStep" must be a function, got "log"'],
      [{ size: 1, flag: 'yes' }, 'flag', 'option "flag" must be a boolean, got "yes"'],
      [{ size: 1, tol: [1, -1] }, 'tol', 'option "tol" must be a non-negative number, or one per component (a list for a tuple state, a record for a record state), got array(2)'],
    ];
    for (const [o, option, message] of cases) {
      const e = caught(() => parseOptions(schema, o, 'test'));
      expect(e.code, message).toBe('INVALID_OPTIONS');
      expect(e.message).toBe(`[rnode] [test] ${message}`);
      expect(e.details).toEqual({ option });
    }
  });

  it('takes the error code (a config read back from a checkpoint)', () => {
    expect(caught(() => parseOptions(schema, { size: 0 }, 'ckpt', 'INVALID_CHECKPOINT')).code).toBe('INVALID_CHECKPOINT');
    expect(caught(() => parseOptions(schema, { size: 1, x: 1 }, 'ckpt', 'INVALID_CHECKPOINT')).code).toBe('INVALID_CHECKPOINT');
  });

  it('messages do not depend on a zod locale the application configured', () => {
    z.config(z.locales.en());
    expect(caught(() => parseOptions(schema, { size: 1, flag: 1 }, 'test')).message).toBe('[rnode] [test] option "flag" must be a boolean, got 1');
    expect(caught(() => parseOptions(schema, { size: 1, mode: 2 }, 'test')).message).toBe(
      `[rnode] [test] option "mode" must be 'fast', 'exact' or 'auto', got 2`,
    );
  });

  it('defaults and object-level checks still apply', () => {
    const withDefault = z.object({ n: z._default(numberOption('integer>0'), 7), m: z.optional(numberOption()) });
    expect(parseOptions(withDefault, {}, 'test')).toEqual({ n: 7 });
    const ordered = z
      .object({ lo: z.optional(numberOption()), hi: z.optional(numberOption()) })
      .check(z.refine((o) => (o.lo ?? 0) <= (o.hi ?? Infinity), { message: 'at most "hi"', path: ['lo'] }));
    expect(parseOptions(ordered, { lo: 1, hi: 2 }, 'test')).toEqual({ lo: 1, hi: 2 });
    expect(caught(() => parseOptions(ordered, { lo: 3, hi: 2 }, 'test')).message).toBe('[rnode] [test] option "lo" must be at most "hi", got 3');
  });

  it('a nested strict object names its unknown keys', () => {
    const nested = z.object({ evaluation: z.optional(z.strictObject({ rtol: z.optional(numberOption('positive')) })) });
    expect(parseOptions(nested, { evaluation: { rtol: 1 } }, 'test')).toEqual({ evaluation: { rtol: 1 } });
    expect(caught(() => parseOptions(nested, { evaluation: { tol: 1 } }, 'test')).message).toBe(
      '[rnode] [test] option "evaluation" must be without the unknown key "tol", got object',
    );
    expect(caught(() => parseOptions(nested, { evaluation: { rtol: -1 } }, 'test')).message).toBe(
      '[rnode] [test] option "evaluation.rtol" must be a positive number, got -1',
    );
  });

  it('optionKeys lists the schema keys in order', () => {
    expect(optionKeys(schema)).toEqual(['size', 'rate', 'tol', 'mode', 'hidden', 'onStep', 'flag']);
  });
});
