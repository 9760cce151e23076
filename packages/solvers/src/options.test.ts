import * as tf from '@tensorflow/tfjs-core';
import { describe, expect, it } from 'vitest';
import { caughtRnodeError as caught } from '@rnode/core/testing';
import { pid } from './controllers.js';
import { odeint, odeintAsync } from './odeint.js';
import { odeintOptionsSchema } from './options.js';


describe('odeint options: one schema gives the type and the check', () => {
  it('a wrong type, an unknown key or an out-of-range value fails naming the option, before f runs or a tensor is made', async () => {
    const y0 = tf.scalar(1);
    let calls = 0;
    const f = (_t: number, y: tf.Tensor) => (calls++, tf.neg(y));
    const before = tf.memory().numTensors;
    const cases: [object, string][] = [
      [{ rtoll: 1e-3 }, `unknown option "rtoll"; known options: ${Object.keys(odeintOptionsSchema.shape).join(', ')}`],
      [{ rtol: -1 }, 'option "rtol" must be a finite non-negative number, or one per component (a list for a tuple state, a record for a record state), got -1'],
      [{ maxSteps: 1.5 }, 'option "maxSteps" must be a positive integer, got 1.5'],
      [{ safety: 0 }, 'option "safety" must be a positive number, got 0'],
      [{ norm: 'l2' }, `option "norm" must be 'mixed', 'rms' or 'max', got "l2"`],
      [{ throw: 'yes' }, 'option "throw" must be a boolean, got "yes"'],
      [{ onStep: 1 }, 'option "onStep" must be a function, got 1'],
      [{ method: 'rk4', stepSize: -0.1 }, 'option "stepSize" must be a positive number, got -0.1'],
    ];
    for (const [o, message] of cases) {
      const e = caught(() => odeint(f, y0, [0, 1], o as never));
      expect(e.code).toBe('INVALID_OPTIONS');
      expect(e.message).toBe(`[rnode] [odeint] ${message}`);
      await expect(odeintAsync(f, y0, [0, 1], o as never)).rejects.toThrow(message);
    }
    expect(calls).toBe(0);
    expect(tf.memory().numTensors).toBe(before);
    y0.dispose();
  });

  it('pid() checks its coefficients through its schema', () => {
    expect(caught(() => pid({ pcoeff: Infinity })).message).toBe('[rnode] [controller:pid] option "pcoeff" must be a finite number, got Infinity');
    expect(caught(() => pid({ icoef: 0.3 } as never)).message).toMatch(/unknown option "icoef"; known options: pcoeff, icoeff, dcoeff/);
    expect(pid({ pcoeff: 0.2, icoeff: 0.5 }).description).toBe('PID controller (pcoeff 0.2, icoeff 0.5, dcoeff 0)');
  });
});
