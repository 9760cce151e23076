// End to end: the built bench (dist/bench.js) runs each workload in a tiny configuration on this
// project's backend (RNODE_BACKEND), in a child process per backend, and prints JSON lines.
import { mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, test } from 'vitest';
import { bench, PNG_SIGNATURE, REQUIRED_KEYS, TINY } from './testing/run.js';

const backend = process.env.RNODE_BACKEND ?? 'cpu';
const tmp = mkdtempSync(join(tmpdir(), 'rnode-bench-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

function one(workload: string, extra: string[] = []) {
  const r = bench([workload, ...TINY[workload]!, '--backends', backend, '--json', ...extra]);
  expect(r.code, r.stderr).toBe(0);
  expect(r.json).toHaveLength(1);
  const j = r.json[0]!;
  for (const k of REQUIRED_KEYS) expect(j, k).toHaveProperty(k);
  expect(j.workload).toBe(workload);
  expect(j.backend).toBe(backend);
  expect(j.spec).toBe(false);
  expect(r.stderr).toContain('modified: ');
  expect(j.peak_rss_mib).toBeGreaterThan(20);
  expect(j.cpu).toEqual(expect.any(String));
  expect(Number.isNaN(Date.parse(j.date as string))).toBe(false);
  return { r, j };
}

describe(`workloads on ${backend}, tiny configurations`, () => {
  test('toy2d-rnode: median s/iter, spread, 16 + 16 NFE per iteration', () => {
    const { j } = one('toy2d-rnode');
    expect(j.times_s).toHaveLength(2);
    expect(j.warmup_times_s).toHaveLength(1);
    expect(j.median_s_per_iter).toBeGreaterThan(0);
    expect(j.spread).toMatchObject({ min: expect.any(Number), p25: expect.any(Number), p75: expect.any(Number), max: expect.any(Number) });
    expect([j.nfe_forward, j.nfe_backward]).toEqual([16, 16]);
    expect(j).toMatchObject({ iterations: 2, warmup: 1, batch: 32, workers: 1, runner: 'trainer', modified: ['iterations 2 (spec 50)', 'warmup 1 (spec 5)', 'batch 32 (spec 512)'] });
    expect(j.setup).toMatchObject({ solver: 'rk38', step_size: 0.25, lambda_k: 0.01, lambda_j: 0.01 });
  });

  test('adjoint-memory: peak memory flat in the steps with the adjoint (within 10 %), growing with backprop', () => {
    const { j } = one('adjoint-memory');
    const r = j.peak_ratio_max_vs_4_steps as Record<string, number>;
    expect(r['backsolve_fused']).toBeLessThan(1.1);
    expect(r['backsolve_op_level']).toBeLessThan(1.1);
    expect(r['backprop_op_level']).toBeGreaterThan(1.5);
    expect(r['backprop_fused']).toBeGreaterThan(1.5);
    expect((j.memory as unknown[]).length).toBe(12); // 2 paths × 2 adjoints × 3 step counts (4, 8, 16)
  });

  test('adjoint-memory-image: an image flow\'s peak memory flat in the steps with the adjoint, growing with backprop', () => {
    const { j } = one('adjoint-memory-image');
    const r = j.peak_ratio_max_vs_4_steps as Record<string, number | null>;
    expect(r['backsolve_op_level']).toBeLessThan(1.1);
    expect(r['backprop_op_level']).toBeGreaterThan(1.5);
    expect(r['backsolve_fused']).toBeNull(); // conv nets have no fused path
    const m = j.memory as Array<{ adjoint: string; steps: number; nfe_forward: number }>;
    expect(m.map((x) => `${x.adjoint}@${x.steps}`)).toEqual(['backsolve@4', 'backsolve@8', 'backprop@4', 'backprop@8']);
    expect(m[0]!.nfe_forward % 16).toBe(0); // 4 evaluations per RK4 step and block, 4 steps
    expect(m.map((x) => x.nfe_forward / m[0]!.nfe_forward)).toEqual([1, 2, 1, 2]);
  });

  test('toy2d-ffjord: adaptive NFE forward and backward', () => {
    const { j } = one('toy2d-ffjord');
    expect(j.nfe_forward).toBeGreaterThanOrEqual(8);
    expect(j.nfe_backward).toBeGreaterThanOrEqual(8);
    expect(j.setup).toMatchObject({ solver: 'dopri5', rtol: 1e-5, atol: 1e-5, lambda_k: 0, lambda_j: 0 });
  });

  test('toy2d-quality: evaluations, chart (SVG, PNG), rows as JSON and CSV', () => {
    const out = join(tmp, 'quality');
    const { j } = one('toy2d-quality', ['--out', out]);
    const evals = j.evaluations as Array<Record<string, number | string>>;
    // iterations 0, 1, 2 for each preset
    expect(evals.map((e) => `${e.preset}@${e.iteration}`)).toEqual(['rnode@0', 'rnode@1', 'rnode@2', 'ffjord@0', 'ffjord@1', 'ffjord@2']);
    for (const e of evals) {
      expect(e.test_nll).toBeGreaterThan(1);
      expect(e.test_nll).toBeLessThan(10);
      expect(e.test_nfe).toBeGreaterThan(0);
    }
    expect(evals[0]!.train_seconds).toBe(0);
    expect(evals[2]!.train_seconds).toBeGreaterThan(0);
    const presets = j.presets as Record<string, Record<string, number>>;
    expect([presets.rnode!.nfe_forward, presets.rnode!.nfe_backward]).toEqual([16, 16]);
    const files = j.files as Record<string, string>;
    const svg = readFileSync(files.svg!, 'utf8');
    expect(svg.startsWith('<svg')).toBe(true);
    expect(svg.trimEnd().endsWith('</svg>')).toBe(true);
    const png = readFileSync(files.png!);
    expect([...png.subarray(0, 8)]).toEqual(PNG_SIGNATURE);
    expect(statSync(files.png!).size).toBeGreaterThan(1000);
    expect(JSON.parse(readFileSync(files.json!, 'utf8')).evaluations).toHaveLength(6);
    expect(readFileSync(files.csv!, 'utf8').split('\n')[0]).toBe('preset,iteration,test_nll,test_nfe,test_nfe_total,test_solves,train_seconds,eval_seconds,train_nfe_total');
    expect(readFileSync(files.iterations_csv!, 'utf8').trim().split('\n')).toHaveLength(5); // header + 2 × 2 iterations
  });

  test('mnist-iter: a reduced image flow on embedded MNIST digits, 16 + 16 NFE per block', () => {
    const { j } = one('mnist-iter');
    expect([j.nfe_forward, j.nfe_backward]).toEqual([16, 16]);
    expect(j.setup).toMatchObject({ blocks: 1, reference_model: false, solver: 'rk38' });
    expect((j.bits_per_dim_loss as number[])[0]).toBeGreaterThan(1);
  });

  test('cifar-iter: a reduced image flow on synthetic 8×8×3 images, 16 + 16 NFE per block', () => {
    const { j } = one('cifar-iter');
    expect([j.nfe_forward, j.nfe_backward]).toEqual([16, 16]);
    expect(j.setup).toMatchObject({ blocks: 1, reference_model: false, solver: 'rk38' });
    expect(String((j.setup as { data: string }).data)).toMatch(/^synthetic 32×32×3 .* logit α = 0\.05/);
    expect((j.bits_per_dim_loss as number[])[0]).toBeGreaterThan(1);
  });

  test('solvers: one JSON line per backend with every solve', () => {
    const { j } = one('solvers');
    expect((j.solves as unknown[]).length).toBe(24);
    expect(j.nfe_forward).toBeGreaterThan(0);
  });
});

test.runIf(backend === 'cpu')('two backends: one JSON line each, and the table', () => {
  const r = bench(['toy2d-rnode', ...TINY['toy2d-rnode']!, '--backends', 'cpu,wasm', '--json']);
  expect(r.code, r.stderr).toBe(0);
  expect(r.json.map((j) => j.backend)).toEqual(['cpu', 'wasm']);
  const t = bench(['toy2d-rnode', '--iterations', '1', '--warmup', '0', '--batch', '8', '--backends', 'cpu']);
  expect(t.code, t.stderr).toBe(0);
  expect(t.stdout).toContain('| workload | backend | median s/iter | spread: min, p25–p75, max | NFE fwd/bwd | peak RSS MiB | spec |');
  expect(t.stdout).toMatch(/\| toy2d-rnode \| cpu \| [0-9.]+ \| .* \| 16\/16 \| \d+ \| no \|/);
});

test.runIf(backend === 'cpu')('an unavailable backend is skipped with the reason; nothing ran: exit 1', () => {
  const r = bench(['toy2d-rnode', '--iterations', '1', '--warmup', '0', '--batch', '8', '--backends', 'tensorflow-gpu', '--json']);
  if (r.code === 0) return; // tfjs-node-gpu installed and working here
  expect(r.code).toBe(1);
  expect(r.stderr).toContain('skipping backend "tensorflow-gpu"');
  expect(r.stderr).toContain('tfjs-node-gpu');
  expect(r.stdout).toBe('');
});
