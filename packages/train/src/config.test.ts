import { isRnodeError } from '@rnode/core';
import { expect, test } from 'vitest';
import { describeTraining, resolveTraining } from './config.js';
import { createTrainer } from './trainer.js';
import { smallFlow } from './internal/test-flow.js';

/** The RnodeError `fn` throws (fails the test if it throws none or another error). */
function errorOf(fn: () => unknown): { code: string; message: string; source: string | undefined; option: unknown } {
  try {
    fn();
  } catch (e) {
    if (!isRnodeError(e)) throw e;
    return { code: e.code, message: e.message, source: e.source, option: (e.details as { option?: unknown } | undefined)?.option };
  }
  throw new Error('expected an RnodeError');
}

test('training options: a field of the wrong type is INVALID_OPTIONS naming the field and the value', () => {
  const e = errorOf(() => resolveTraining({ lr: 'fast' as never }));
  expect(e.code).toBe('INVALID_OPTIONS');
  expect(e.option).toBe('lr');
  expect(e.message).toContain('option "lr" must be a non-negative number, got "fast"');
  expect(errorOf(() => resolveTraining({ batchSize: 2.5 })).message).toContain('option "batchSize" must be a positive integer, got 2.5');
  expect(errorOf(() => resolveTraining({ beta1: 1 })).message).toContain('option "beta1" must be a number in [0, 1), got 1');
  expect(errorOf(() => resolveTraining({ reduction: 'avg' as never })).message).toContain(`option "reduction" must be 'mean' or 'sum'`);
  expect(errorOf(() => resolveTraining({ solver: 5 as never })).message).toContain('option "solver" must be a registered name or a plugin object, got 5');
});

test('training options: an unknown key is an error naming it and listing the known ones', () => {
  const e = errorOf(() => resolveTraining({ learningRate: 1 } as never, 'trainer'));
  expect(e.code).toBe('INVALID_OPTIONS');
  expect(e.source).toBe('trainer');
  expect(e.message).toContain('unknown option "learningRate"');
  expect(e.message).toContain('known options: preset, solver, stepSize');
  // The trainer's own keys are known to createTrainer, and only there.
  const flow = smallFlow(0, [4]);
  expect(errorOf(() => createTrainer({ flow, data: '8gaussians', flw: flow } as never)).message).toContain('unknown option "flw"');
  expect(errorOf(() => resolveTraining({ flow } as never)).message).toContain('unknown option "flow"');
  flow.dispose();
});

test('training options: an unknown key of the nested evaluation options is an error naming it', () => {
  const e = errorOf(() => resolveTraining({ evaluation: { rtol: 1e-4, tol: 1 } } as never));
  expect(e.code).toBe('INVALID_OPTIONS');
  expect(e.option).toBe('evaluation');
  expect(e.message).toContain('"tol"');
  const bad = errorOf(() => resolveTraining({ evaluation: { samples: 0 } }));
  expect(bad.option).toBe('evaluation.samples');
  expect(bad.message).toContain('option "evaluation.samples" must be a positive integer, got 0');
  // A valid nested object goes through with its defaults.
  const r = resolveTraining({ evaluation: { rtol: 1e-4 } });
  expect([r.evaluation.rtol, r.evaluation.atol, r.evaluation.samples, r.evaluation.exactMaxDim]).toEqual([1e-4, 1e-5, 1000, 8]);
});

test('an explicit stepSize with an adaptive solver is rejected up front, naming stepSize and the solver', () => {
  for (const opts of [{ solver: 'dopri5', stepSize: 0.1 }, { preset: 'ffjord', stepSize: 0.1 }] as const) {
    const e = errorOf(() => resolveTraining(opts));
    expect(e.code).toBe('INVALID_OPTIONS');
    expect(e.source).toBe('option:stepSize');
    expect(e.message).toContain('"stepSize"');
    expect(e.message).toContain('"dopri5" is adaptive');
  }
  const flow = smallFlow(0, [4]);
  expect(errorOf(() => createTrainer({ flow, data: '8gaussians', solver: 'dopri5', stepSize: 0.1 })).source).toBe('option:stepSize');
  flow.dispose();
  // What presets do stays: ffjord with a fixed-grid solver takes the rnode grid; rnode with an
  // adaptive solver drops the preset's step; a fixed-grid solver takes an explicit step.
  expect(resolveTraining({ preset: 'ffjord', solver: 'rk4' }).stepSize).toBe(0.25);
  expect(resolveTraining({ preset: 'rnode', solver: 'dopri5' }).stepSize).toBeUndefined();
  expect(describeTraining(resolveTraining({ preset: 'rnode', solver: 'dopri5' }))).not.toHaveProperty('stepSize');
  expect(resolveTraining({ solver: 'rk4', stepSize: 0.1 }).stepSize).toBe(0.1);
});
