// The command line, resolved without running anything: spec values, overrides, usage errors, help.
import { describe, expect, test } from 'vitest';
import { parseArgs, runBench, type BenchConfig } from './index.js';

function capture() {
  let out = '';
  let err = '';
  return { io: { stdout: { write: (s: string) => (out += s) }, stderr: { write: (s: string) => (err += s) } }, out: () => out, err: () => err };
}

const resolved = (argv: string[]): BenchConfig => {
  const r = parseArgs(argv);
  if (r.help) throw new Error('help');
  return r;
};

describe('spec configurations (WORKLOADS.md), resolved without running', () => {
  test.each([
    ['toy2d-rnode', { iterations: 50, warmup: 5, batch: 512, seed: 0 }],
    ['toy2d-ffjord', { iterations: 50, warmup: 5, batch: 512, seed: 0 }],
    ['toy2d-quality', { iterations: 2000, evalEvery: 250, testSamples: 10000, batch: 512, seed: 0 }],
    ['mnist-iter', { iterations: 3, warmup: 1, batch: 200, seed: 0, scales: 3, blocksPerScale: 2, width: 64, downsample: 1 }],
    ['adjoint-memory-image', { batch: 1, seed: 0, maxSteps: 8, downsample: 1, scales: 3, width: 64 }],
    ['cifar-iter', { iterations: 3, warmup: 1, batch: 200, seed: 0, scales: 4, blocksPerScale: 2, width: 64, downsample: 1 }],
    ['solvers', { iterations: 5, warmup: 1, rtol: 1e-5, atol: 1e-6, stepSize: 0.05 }],
  ])('%s with no flags is the spec', (name, params) => {
    const c = resolved([name]);
    expect(c.workload.name).toBe(name);
    expect(c.params).toEqual(params);
    expect(c.spec).toBe(true);
    expect(c.modified).toEqual([]);
    expect(c.backends).toEqual(['wasm']);
    expect(c.workers).toBe(1);
  });

  test('flags that change the configuration make it spec: false and are listed', () => {
    const c = resolved(['toy2d-rnode', '--iterations', '2', '--warmup=1', '--backends', 'cpu,wasm', '--json']);
    expect(c.spec).toBe(false);
    expect(c.modified).toEqual(['iterations 2 (spec 50)', 'warmup 1 (spec 5)']);
    expect(c.backends).toEqual(['cpu', 'wasm']);
    expect(c.json).toBe(true);
    // the spec's own value, backends, --json and --out change nothing
    expect(resolved(['toy2d-rnode', '--iterations', '50', '--backends', 'cpu']).spec).toBe(true);
    expect(resolved(['toy2d-quality', '--out', 'x']).spec).toBe(true);
    expect(resolved(['solvers', '--repeats', '3']).modified).toEqual(['repeats 3 (spec 5)']);
  });
});

describe('usage errors exit 2 and name what is wrong', () => {
  test.each([
    [['nope'], 'unknown workload "nope"'],
    [['toy2d-rnode', '--backends', 'cpu,tpu'], 'unknown backend "tpu"'],
    [['toy2d-rnode', '--itrations', '2'], 'unknown flag "--itrations"'],
    [['toy2d-rnode', '--eval-every', '5'], '--eval-every does not apply to workload toy2d-rnode'],
    [['toy2d-rnode', '--out', 'x'], '--out does not apply'],
    [['solvers', '--workers', '2'], '--workers does not apply'],
    [['toy2d-rnode', '--workers', '0'], 'positive integer'],
    [['toy2d-rnode', '--batch', '0'], '--batch must be a positive integer'],
    [['toy2d-rnode', '--iterations'], '--iterations needs a value'],
    [[], 'no workload given'],
  ])('%j', async (argv, message) => {
    const c = capture();
    expect(await runBench(argv, c.io)).toBe(2);
    expect(c.err()).toContain(message);
    expect(c.out()).toBe('');
  });
});

test('--help lists the workloads and the flags, exit 0', async () => {
  const c = capture();
  expect(await runBench(['--help'], c.io)).toBe(0);
  for (const w of ['solvers', 'toy2d-rnode', 'toy2d-ffjord', 'toy2d-quality', 'mnist-iter', 'cifar-iter']) expect(c.out()).toContain(w);
  for (const f of ['--backends', '--json', '--workers', '--out', '--iterations', '--warmup', '--batch', '--eval-every', '--test-samples', '--repeats']) {
    expect(c.out()).toContain(f);
  }
});
