import { describe, expect, it } from 'vitest';
import { isRnodeError, RnodeError } from './errors.js';
import { has, list, register, resolve, unregister, type PluginBase } from './registry.js';

// A user's plugin names become known to the compiler by declaration merging.
declare module './registry.js' {
  interface SolverRegistry {
    'test-resolve': true;
  }
}

const mk = (name: string): PluginBase<'solver'> => ({ kind: 'solver', name });

/** The error `fn` throws; fails the test when it throws nothing. */
function thrown(fn: () => unknown): Error {
  try {
    fn();
  } catch (e) {
    return e as Error;
  }
  throw new Error('expected a throw, got none');
}

describe('registry', () => {
  it('resolves names and passes plugin objects through', () => {
    const p = mk('test-resolve');
    register(p);
    expect(resolve('solver', 'test-resolve')).toBe(p);
    expect(resolve('solver', p)).toBe(p);
    expect(has('solver', 'test-resolve')).toBe(true);
    expect(unregister('solver', p)).toBe(true);
    expect(has('solver', 'test-resolve')).toBe(false);
  });

  it('lists the registered names when a name is unknown', () => {
    const a = mk('test-known-a');
    register(a);
    // @ts-expect-error a misspelt name is a type error too; here it is passed anyway, for the run-time check
    const e = thrown(() => resolve('solver', 'no-such-solver'));
    unregister('solver', a);
    expect(isRnodeError(e, 'PLUGIN_NOT_FOUND')).toBe(true);
    expect(e.message).toContain('unknown solver "no-such-solver"');
    expect(e.message).toContain('test-known-a');
  });

  it('rejects a different plugin under a taken name, accepts the same object twice', () => {
    const a = mk('test-conflict');
    register(a);
    register(a);
    const e = thrown(() => register(mk('test-conflict')));
    unregister('solver', a);
    expect(isRnodeError(e, 'PLUGIN_CONFLICT')).toBe(true);
    expect(e.message).toMatch(/solver:test-conflict is already registered/);
  });

  it('flattens presets, skips falsy items and checks kinds and names', () => {
    const a = mk('test-flat-a');
    const b = mk('test-flat-b');
    register([a, false, [null, b]], undefined);
    expect(list('solver').filter((p) => p.name.startsWith('test-flat'))).toEqual([a, b]);
    unregister('solver', a);
    unregister('solver', b);
    expect(() => register({ kind: 'nope', name: 'x' } as unknown as PluginBase)).toThrowError(/unknown kind/);
    expect(() => register({ kind: 'solver', name: 'Bad Name' })).toThrowError(/kebab-case/);
    expect(() => resolve<PluginBase<'solver'>>('solver', { kind: 'regularizer', name: 'x' } as never)).toThrowError(/expected a solver plugin/);
  });

  it('brands errors so copies of the class are recognised', () => {
    const e = new RnodeError('INVALID_OPTIONS', 'bad', { source: 'option:rtol' });
    expect(e.message).toBe('[rnode] [option:rtol] bad');
    expect(isRnodeError(e)).toBe(true);
    expect(isRnodeError(new Error('x'))).toBe(false);
    expect(isRnodeError({ name: 'RnodeError', code: 'X' })).toBe(true);
  });
});
