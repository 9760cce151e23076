// Every workload in a tiny configuration on WebGPU (in Node: dawn.node, SwiftShader without a
// GPU; no synchronous reads). Runs in the webgpu project only.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, test } from 'vitest';
import { bench, REQUIRED_KEYS, TINY } from './testing/run.js';

const tmp = mkdtempSync(join(tmpdir(), 'rnode-bench-webgpu-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

const WEBGPU_TINY: Record<string, string[]> = {
  ...TINY,
  'toy2d-rnode': ['--iterations', '1', '--warmup', '1', '--batch', '16'],
  'toy2d-ffjord': ['--iterations', '1', '--warmup', '1', '--batch', '16'],
  'toy2d-quality': ['--iterations', '1', '--eval-every', '1', '--test-samples', '64', '--batch', '16', '--out', join(tmp, 'q')],
  'adjoint-memory': ['--batch', '8', '--max-steps', '8'],
};

describe.skipIf(process.env.RNODE_BACKEND !== 'webgpu')('every workload runs on webgpu', () => {
  test.each(Object.keys(WEBGPU_TINY))('%s', (workload) => {
    const r = bench([workload, ...WEBGPU_TINY[workload]!, '--backends', 'webgpu', '--json'], { timeout: 290_000 });
    if (r.stderr.includes('skipping backend "webgpu"')) return; // no WebGPU adapter on this machine
    expect(r.code, r.stderr.slice(-3000)).toBe(0);
    expect(r.json).toHaveLength(1);
    const j = r.json[0]!;
    for (const k of REQUIRED_KEYS) expect(j).toHaveProperty(k);
    expect(j).toMatchObject({ workload, backend: 'webgpu', spec: false, sync_read: false });
    if (['toy2d-rnode', 'mnist-iter', 'cifar-iter'].includes(workload)) expect([j.nfe_forward, j.nfe_backward]).toEqual([16, 16]);
    if (['toy2d-rnode', 'toy2d-ffjord', 'mnist-iter', 'cifar-iter'].includes(workload)) {
      // the GPU work of an iteration, counted at the WebGPU API (gpu-work.ts)
      for (const k of ['dispatches', 'submits', 'uploads', 'upload_bytes', 'readbacks', 'readback_bytes']) expect(j[k], k).toBeGreaterThan(0);
    }
    if (workload === 'toy2d-rnode') {
      // the dense CNF net, the stage combinations and Adam on WGSL kernels: 439 dispatches per
      // iteration (op-level: 7,538), one readback (the loss), none inside the fixed-grid solves
      expect(j.fused_kernel).toBe('wgsl');
      expect(j.dispatches).toBeLessThan(600);
      expect(j.readbacks).toBe(1);
    }
    if (workload === 'mnist-iter') {
      // the conv net on WGSL kernels (9 dispatches per evaluation, 22 per adjoint one): 814 per
      // iteration of this 1-block model (op-level: 3,757), one readback
      expect(j.fused_kernel).toBe('wgsl');
      expect(j.dispatches).toBeLessThan(1000);
      expect(j.readbacks).toBe(1);
    }
    if (workload === 'toy2d-ffjord') {
      expect(j.runner).toBe('async-adjoint'); // dopri5 without synchronous reads
      expect(j.nfe_backward).toBeGreaterThan(0);
    }
    if (workload === 'toy2d-quality') {
      for (const e of j.evaluations as Array<{ test_nll: number }>) expect(Number.isFinite(e.test_nll)).toBe(true);
    }
    if (!['solvers', 'toy2d-quality', 'adjoint-memory', 'adjoint-memory-image'].includes(workload)) expect(j.median_s_per_iter).toBeGreaterThan(0);
  }, 300_000);
});
