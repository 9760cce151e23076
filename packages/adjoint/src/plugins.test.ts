import * as tf from '@tensorflow/tfjs-core';
import { isRnodeError, list, register, unregister } from '@rnode/core';
import { describe, expect, test } from 'vitest';
import {
  backpropAdjoint,
  backsolveAdjoint,
  defineAdjoint,
  odeintAdjoint,
  odeintWith,
  registerBuiltinAdjoints,
  resolveAdjoint,
  type AdjointPlugin,
} from './index.js';
import { checkAdjoint } from './testing/index.js';
import type { AdjointRef } from './types.js';

// The test's own adjoint, registered by name below, declared as users declare theirs.
declare module '@rnode/core' {
  interface AdjointRegistry {
    'my-adjoint': true;
  }
}
import { mkVar, neuralOde, randn, relErr, weightedLoss } from './internal/test-problems.js';

describe('adjoint plugins', () => {
  test('registerBuiltinAdjoints is idempotent and registers backprop and backsolve', () => {
    registerBuiltinAdjoints();
    registerBuiltinAdjoints();
    const names = list<AdjointPlugin>('adjoint').map((p) => p.name);
    expect(names).toContain('backprop');
    expect(names).toContain('backsolve');
    expect(resolveAdjoint('backsolve')).toBe(backsolveAdjoint);
    expect(resolveAdjoint(backpropAdjoint)).toBe(backpropAdjoint);
    expect(backsolveAdjoint.kind).toBe('adjoint');
  });

  test('an unknown name is an error that lists the registered names', () => {
    let err: unknown;
    try {
      // @ts-expect-error a misspelt name is a type error too; here it is passed anyway, for the run-time check
      resolveAdjoint('checkpoint');
    } catch (e) {
      err = e;
    }
    expect(isRnodeError(err, 'PLUGIN_NOT_FOUND')).toBe(true);
    expect(String((err as Error).message)).toMatch(/backprop, backsolve|backsolve, backprop/);
  });

  test('odeintWith: backprop and backsolve give the same gradients; user plugins resolve by name', () => {
    const before = tf.memory().numTensors;
    const net = neuralOde(2, 8, 81);
    const y0 = mkVar(tf.tensor2d(randn(4, 2), [2, 2]), 'y0_plugins');
    const vars = [y0, ...net.params];
    const opts = { method: 'rk4', stepSize: 0.05, seminorm: true } as const; // seminorm: ignored by backprop
    const run = (name: AdjointRef) => {
      const r = tf.variableGrads(() => weightedLoss(odeintWith(name, net.f, y0 as tf.Tensor, [0, 0.5, 1], net.params, opts).ys), vars);
      r.value.dispose();
      return vars.map((v) => r.grads[v.name] as tf.Tensor);
    };
    const a = run('backsolve');
    const b = run('backprop');
    expect(relErr(a, b)).toBeLessThan(1e-3);
    const mine = defineAdjoint({ name: 'my-adjoint', odeint: (f, y, t, p, o) => odeintAdjoint(f, y, t, p, o) });
    register(mine);
    try {
      const c = run('my-adjoint');
      expect(relErr(c, a)).toBe(0);
      tf.dispose(c);
    } finally {
      unregister('adjoint', mine);
    }
    const sol = backpropAdjoint.odeint(net.f, y0 as tf.Tensor, [0, 1], net.params, opts);
    expect(sol.backward).toBeNull();
    tf.dispose([...a, ...b, ...sol.ys, y0]);
    net.dispose();
    expect(tf.memory().numTensors).toBe(before);
  });

  test('defineAdjoint checks the plugin', () => {
    expect(() => defineAdjoint({ name: 'broken' } as unknown as AdjointPlugin)).toThrow(/odeint/);
  });

  test.each(['backsolve', 'backprop'] as const)('checkAdjoint conformance: %s', (name) => {
    const r = checkAdjoint(resolveAdjoint(name));
    console.log(`[checkAdjoint ${process.env.RNODE_BACKEND}] ${name}`, r);
    expect(r.gradientError).toBeLessThan(1e-4);
    expect(r.leakedTensors).toBe(0);
    if (name === 'backsolve') expect(r.nfeBackward).toBe(r.nfeForward);
  });
});
