// WebGPU (webgpu project only; no synchronous reads in Node): the one block solve drives the
// 2-D and the image flow alike on WebGPU. With a fixed-grid solver the synchronous driver reads
// nothing from the device, so sync and async run there and must give the same bits, both ways.
import * as tf from '@tensorflow/tfjs-core';
import { Random } from '@rnode/core';
import { describe, expect, it } from 'vitest';
import { createFlow, createImageFlow, type FlowSolveOptions } from './index.js';

const bits = async (t: tf.Tensor): Promise<number[]> => Array.from(new Uint32Array(new Float32Array(await t.data()).buffer));
const opts = (): FlowSolveOptions => ({ method: 'rk4', stepSize: 0.25, estimator: 'hutchinson', regularizers: ['kinetic-energy'], noiseRng: new Random(3) });

describe.skipIf(process.env.RNODE_BACKEND !== 'webgpu').each([
  { name: '2-D flow', make: () => ({ flow: createFlow({ dim: 2, blocks: 2, hidden: [8], activation: 'tanh', zeroLast: 'none', T: 0.5 }, new Random(1)), x: new Random(2).normal([4, 2]) }) },
  {
    name: 'image flow',
    make: () => ({ flow: createImageFlow({ height: 4, width: 4, channels: 1, scales: 2, blocksPerScale: 1, hidden: [4], zeroLast: 'none', T: 0.5 }, new Random(1)), x: new Random(2).normal([1, 4, 4, 1]) }),
  },
])('one block solve on webgpu: $name', ({ make }) => {
  it('sync = async to the bit, data → base and base → data; no leaks', async () => {
    expect(tf.getBackend()).toBe('webgpu');
    const before = tf.memory().numTensors;
    const { flow, x } = make();
    const sync = flow.forward(x, opts());
    const async = await flow.forwardAsync(x, opts());
    expect(await bits(async.z)).toEqual(await bits(sync.z));
    expect(await bits(async.deltaLogp)).toEqual(await bits(sync.deltaLogp));
    expect(await bits(async.regs['kinetic-energy']!)).toEqual(await bits(sync.regs['kinetic-energy']!));
    const back = flow.inverse(sync.z, opts());
    const backAsync = await flow.inverseAsync(sync.z, opts());
    expect(await bits(backAsync)).toEqual(await bits(back));
    const err = tf.tidy(() => tf.max(tf.abs(tf.sub(tf.reshape(back, [-1]), tf.reshape(x, [-1])))));
    expect((await err.data())[0]).toBeLessThan(1e-3);
    tf.dispose([x, back, backAsync, err]);
    sync.dispose();
    async.dispose();
    flow.dispose();
    expect(tf.memory().numTensors).toBe(before);
  });
});
