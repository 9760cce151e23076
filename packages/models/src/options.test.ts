import * as tf from '@tensorflow/tfjs-core';
import { Random } from '@rnode/core';
import { describe, expect, it } from 'vitest';
import { caughtRnodeError as caught } from '@rnode/core/testing';
import { createConcatConv2d, createConvOdeNet, resolveConvOdeNetConfig } from './conv.js';
import { createOdeNet, odeNetConfigSchema, resolveOdeNetConfig } from './odenet.js';


describe('ODE net configs: one schema gives the type and the check', () => {
  it('bad configs fail naming the option, before any parameter is created', () => {
    const rng = new Random(0);
    const before = tf.memory().numTensors;
    const cases: [() => unknown, string][] = [
      [() => createOdeNet({ inputDim: 2, hidden: [3, 0] }, rng), '[rnode] [model:odenet] option "hidden[1]" must be a positive integer, got 0'],
      [() => createOdeNet({ inputDim: 2, layer: 'hyper' as never }, rng), `[rnode] [model:odenet] option "layer" must be 'concat', 'concatsquash' or 'ignore', got "hyper"`],
      [() => createOdeNet({ inputDim: 2, hiden: [3] } as never, rng), '[rnode] [model:odenet] unknown option "hiden"; known options: inputDim, hidden, layer, activation, zeroLast'],
      [() => createOdeNet({ inputDim: 2 }, rng, { prefx: 'a/' } as never), '[rnode] [model:odenet] unknown option "prefx"; known options: prefix'],
      [() => createConvOdeNet({ channels: 1, activation: 'relu' as never }, rng), `[rnode] [model:conv-odenet] option "activation" must be 'tanh', 'sigmoid', 'softplus', 'elu', 'swish' or 'identity', got "relu"`],
      [() => createConcatConv2d({ inChannels: 1, outChannels: 2, kernel: 4 }, rng), '[rnode] [model:concat-conv2d] option "kernel" must be an odd positive integer, got 4'],
    ];
    for (const [f, message] of cases) {
      const e = caught(f);
      expect(e.code).toBe('INVALID_OPTIONS');
      expect(e.message).toBe(message);
    }
    expect(tf.memory().numTensors).toBe(before);
  });

  it('defaults fill what is absent; a config read back from a checkpoint fails as INVALID_CHECKPOINT', () => {
    expect(resolveOdeNetConfig({ inputDim: 2 })).toEqual({ inputDim: 2, hidden: [64, 64, 64], layer: 'concatsquash', activation: 'tanh', zeroLast: 'weight' });
    expect(resolveConvOdeNetConfig({ channels: 3, hidden: [8] })).toEqual({ channels: 3, hidden: [8], activation: 'softplus', zeroLast: 'weight' });
    expect(caught(() => resolveOdeNetConfig({ inputDim: 0 }, 'INVALID_CHECKPOINT')).code).toBe('INVALID_CHECKPOINT');
    expect(Object.keys(odeNetConfigSchema.shape)).toEqual(['inputDim', 'hidden', 'layer', 'activation', 'zeroLast']);
  });
});
