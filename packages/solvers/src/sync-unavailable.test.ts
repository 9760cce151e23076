import * as tf from '@tensorflow/tfjs-core';
import { isRnodeError } from '@rnode/core';
import { describe, expect, it, vi } from 'vitest';

// Simulate a backend without synchronous reads (WebGPU in Node).
vi.mock('@rnode/core', async (orig) => ({ ...(await orig<typeof import('@rnode/core')>()), canReadSync: () => false }));

describe('without synchronous reads', async () => {
  const { odeint, odeintAsync } = await import('./odeint.js');
  it('adaptive odeint throws SYNC_READ_UNAVAILABLE naming odeintAsync; fixed grid and odeintAsync work', async () => {
    const y0 = tf.scalar(1);
    try {
      odeint((_t, y) => tf.neg(y), y0, [0, 1]);
      expect.unreachable();
    } catch (e) {
      expect(isRnodeError(e, 'SYNC_READ_UNAVAILABLE')).toBe(true);
      expect((e as Error).message).toMatch(/odeintAsync/);
    }
    const a = odeint((_t, y) => tf.neg(y), y0, [0, 1], { method: 'rk4', stepSize: 0.1 });
    const b = await odeintAsync((_t, y) => tf.neg(y), y0, [0, 1]);
    expect((await (a.ys[1] as tf.Tensor).data())[0]).toBeCloseTo(Math.exp(-1), 5);
    expect((await (b.ys[1] as tf.Tensor).data())[0]).toBeCloseTo(Math.exp(-1), 4);
    tf.dispose([y0, ...a.ys, ...b.ys]);
  });
});
