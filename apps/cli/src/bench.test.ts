// `rnode bench` hands its arguments to @rnode/bench's runBench (built: dist/rnode.js → @rnode/bench dist).
import { describe, expect, test } from 'vitest';
import { rnode } from './testing/run.js';

describe('rnode bench', () => {
  test('--help lists the workloads and the flags, exit 0', () => {
    const r = rnode(['bench', '--help']);
    expect(r.code).toBe(0);
    for (const w of ['solvers', 'toy2d-rnode', 'toy2d-ffjord', 'toy2d-quality', 'mnist-iter']) expect(r.stdout).toContain(w);
    for (const f of ['--backends', '--json', '--iterations', '--warmup', '--workers', '--out']) expect(r.stdout).toContain(f);
    expect(rnode(['--help']).stdout).toContain('bench');
  });

  test('a tiny toy2d-rnode run prints one JSON line (spec: false, modified on stderr)', () => {
    const r = rnode(['bench', 'toy2d-rnode', '--iterations', '2', '--warmup', '1', '--json']);
    expect(r.code, r.stderr).toBe(0);
    const lines = r.stdout.trim().split('\n');
    expect(lines).toHaveLength(1);
    const j = JSON.parse(lines[0]!) as Record<string, unknown>;
    expect(j).toMatchObject({ workload: 'toy2d-rnode', backend: 'wasm', spec: false, iterations: 2, warmup: 1, batch: 512, nfe_forward: 16, nfe_backward: 16 });
    expect(j.median_s_per_iter).toBeGreaterThan(0);
    expect(j.peak_rss_mib).toBeGreaterThan(0);
    expect(r.stderr).toContain('modified: iterations 2 (spec 50), warmup 1 (spec 5)');
  });

  test('usage errors exit 2 and name the workload, backend or flag', () => {
    const w = rnode(['bench', 'toy3d']);
    expect(w.code).toBe(2);
    expect(w.stderr).toContain('unknown workload "toy3d"');
    const b = rnode(['bench', 'toy2d-rnode', '--backends', 'tpu']);
    expect(b.code).toBe(2);
    expect(b.stderr).toContain('unknown backend "tpu"');
    const f = rnode(['bench', 'toy2d-rnode', '--itrations', '2']);
    expect(f.code).toBe(2);
    expect(f.stderr).toContain('unknown flag "--itrations"');
  });
});
