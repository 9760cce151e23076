import * as tf from '@tensorflow/tfjs-core';
import { describe, expect, it } from 'vitest';
import { webgpuKernelIO, workgroupGrid } from './webgpu-io.js';

describe('webgpu kernel IO', () => {
  it('workgroupGrid covers n workgroups within the per-dimension limit', () => {
    expect(workgroupGrid(1)).toEqual([1, 1, 1]);
    expect(workgroupGrid(65535)).toEqual([65535, 1, 1]);
    for (const [n, max] of [
      [65536, 65535],
      [200_000, 65535],
      [9, 3],
      [7, 7],
      [8, 7],
    ] as const) {
      const [x, y, z] = workgroupGrid(n, max);
      expect(z).toBe(1);
      expect(x).toBeLessThanOrEqual(max);
      expect(y).toBeLessThanOrEqual(max);
      expect(x * y).toBeGreaterThanOrEqual(n);
      expect(x * (y - 1)).toBeLessThan(n); // no row of workgroups that does nothing
    }
    expect(() => workgroupGrid(10, 3)).toThrow(/10 workgroups exceed a 3×3 grid/);
  });

  it('is null for a backend that is not tfjs-webgpu (the callers keep their op path)', () => {
    if (tf.getBackend() !== 'webgpu') expect(webgpuKernelIO(tf.backend())).toBeNull();
    expect(webgpuKernelIO(null)).toBeNull();
    expect(webgpuKernelIO({ device: {} })).toBeNull();
  });
});
