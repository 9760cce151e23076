import { isRnodeError } from '@rnode/core';
import { describe, expect, it } from 'vitest';
import { bosh3Solver, dopri5Solver, isAdaptiveSolver, resolveController, resolveSolver, rk4Solver } from './builtins.js';
import { pidController, integralController } from './controllers.js';
import { DEFAULTS } from './defaults.js';
import { defineSolver } from './runge-kutta.js';

describe('resolveSolver / resolveController / isAdaptiveSolver', () => {
  it('resolve built-in names without any registration by the caller, and the defaults when unset', () => {
    expect(resolveSolver('rk4')).toBe(rk4Solver);
    expect(resolveSolver(undefined)).toBe(dopri5Solver);
    expect(DEFAULTS.method).toBe('dopri5');
    expect(resolveController('pid')).toBe(pidController);
    expect(resolveController(undefined)).toBe(integralController);
  });

  it('answer "is it adaptive?" for names and plugin objects', () => {
    expect([isAdaptiveSolver('dopri5'), isAdaptiveSolver('bosh3'), isAdaptiveSolver('rk4'), isAdaptiveSolver('euler')]).toEqual([true, true, false, false]);
    expect(isAdaptiveSolver(bosh3Solver)).toBe(true);
    const mine = defineSolver({ name: 'builtins-test-fixed', order: 1, adaptive: false, step: ({ y0 }) => ({ y1: y0.map((y) => y.clone()) }) });
    expect(isAdaptiveSolver(mine)).toBe(false);
    expect(isAdaptiveSolver(undefined)).toBe(true); // the default, dopri5
  });

  it('name the option at fault for an unknown name', () => {
    let caught: unknown;
    try {
      // @ts-expect-error unknown name, passed anyway for the run-time check
      resolveSolver('rk5', 'adjointMethod');
    } catch (e) {
      caught = e;
    }
    expect(isRnodeError(caught, 'PLUGIN_NOT_FOUND')).toBe(true);
    expect((caught as Error).message).toMatch(/adjointMethod|unknown solver "rk5"/);
  });
});
