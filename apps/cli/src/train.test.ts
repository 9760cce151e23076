import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, test } from 'vitest';
import { lastJson, rnode } from './testing/run.js';

const tmp = mkdtempSync(join(tmpdir(), 'rnode-cli-train-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

// Tiny, fast runs: a small net, a few iterations, small test sets.
const TINY = ['--hidden', '8,8', '--batch-size', '32', '--test-samples', '100', '--quiet'];
const REQUIRED = ['test_nll', 'test_nfe', 'train_nfe_total', 'iterations', 'seconds', 'backend', 'checkpoint'];

describe('rnode train / eval / sample', () => {
  test('train --json ends with one JSON line holding the required keys', () => {
    const out = join(tmp, 'toy');
    const r = rnode(['train', '--data', 'pinwheel', '--iterations', '3', ...TINY, '--out', out, '--json']);
    expect(r.code, r.stderr).toBe(0);
    const s = lastJson(r.stdout);
    for (const k of REQUIRED) expect(s, k).toHaveProperty(k);
    expect(Number.isFinite(s.test_nll)).toBe(true);
    expect(s.test_nll as number).toBeGreaterThan(0); // 2-D pinwheel under a near-identity flow: about 4 nats
    expect(s.test_nfe as number).toBeGreaterThan(0);
    // rnode preset: rk38, step 0.25 on [0, 1] = 16 evaluations forward, 16 backward, per iteration
    expect(s.train_nfe_total).toBe(3 * 32);
    expect(s.iterations).toBe(3);
    expect(s.backend).toBe('wasm');
    expect(existsSync(s.checkpoint as string)).toBe(true);
    expect(existsSync(join(out, 'metrics.jsonl'))).toBe(true);
    const lines = readFileSync(join(out, 'metrics.jsonl'), 'utf8').trim().split('\n').map((l) => JSON.parse(l) as { type: string });
    expect(lines.filter((l) => l.type === 'iteration')).toHaveLength(3);
    expect(lines.at(-1)?.type).toBe('test');
  });

  test('--threads 2 (a worker thread takes half of each batch) trains the same model as one thread', () => {
    const losses = (dir: string) =>
      readFileSync(join(dir, 'metrics.jsonl'), 'utf8')
        .trim()
        .split('\n')
        .map((l) => JSON.parse(l) as { type: string; loss?: number })
        .filter((l) => l.type === 'iteration')
        .map((l) => l.loss!);
    const one = join(tmp, 'thr1');
    const two = join(tmp, 'thr2');
    expect(rnode(['train', '--data', 'pinwheel', '--iterations', '3', ...TINY, '--out', one]).code).toBe(0);
    const r = rnode(['train', '--data', 'pinwheel', '--iterations', '3', ...TINY, '--out', two, '--threads', '2']);
    expect(r.code, r.stderr).toBe(0);
    const a = losses(one);
    const b = losses(two);
    expect(b).toHaveLength(3);
    b.forEach((v, i) => expect(v).toBeCloseTo(a[i]!, 5));
  });

  test('--resume continues a run to --iterations, carrying the training NFE', () => {
    const out = join(tmp, 'toy');
    const r = rnode(['train', '--data', 'pinwheel', '--iterations', '4', ...TINY, '--out', out, '--resume', join(out, 'last.json'), '--json']);
    expect(r.code, r.stderr).toBe(0);
    const s = lastJson(r.stdout);
    expect(s.iterations).toBe(4);
    expect(s.iterations_run).toBe(1);
    expect(s.train_nfe_total).toBe(4 * 32);
  });

  test('a tabular CSV round trip: train, eval, sample (csv and npy)', () => {
    // 3 correlated columns, with a header row.
    let seed = 1;
    const rand = () => ((seed = (seed * 1103515245 + 12345) % 2 ** 31) / 2 ** 31) * 2 - 1;
    const rows = ['a,b,c'];
    for (let i = 0; i < 200; i++) {
      const u = rand(), v = rand();
      rows.push([u * 3 + 1, u + v, 2 * v - 5].map((x) => x.toFixed(5)).join(','));
    }
    const csv = join(tmp, 'table.csv');
    writeFileSync(csv, `${rows.join('\n')}\n`);
    const out = join(tmp, 'csv-run');
    const t = rnode(['train', '--data', csv, '--iterations', '2', ...TINY, '--out', out, '--json']);
    expect(t.code, t.stderr).toBe(0);
    const s = lastJson(t.stdout);
    expect(s.dim).toBe(3);
    expect(s.test_samples).toBe(20); // 10 % of 200 rows
    expect(Number.isFinite(s.test_nll)).toBe(true);

    // eval on the same test split (run.json beside the checkpoint) gives the same number
    const e = rnode(['eval', '--checkpoint', s.checkpoint as string, '--json']);
    expect(e.code, e.stderr).toBe(0);
    const ev = lastJson(e.stdout);
    expect(ev.test_nll as number).toBeCloseTo(s.test_nll as number, 4);
    expect(ev.n).toBe(20);
    expect(ev.dim).toBe(3);

    const samplesCsv = join(tmp, 'samples.csv');
    const sc = rnode(['sample', '--checkpoint', s.checkpoint as string, '-n', '25', '--out', samplesCsv]);
    expect(sc.code, sc.stderr).toBe(0);
    const lines = readFileSync(samplesCsv, 'utf8').trim().split('\n');
    expect(lines[0]).toBe('x0,x1,x2');
    expect(lines).toHaveLength(26);
    const values = lines.slice(1).map((l) => l.split(',').map(Number));
    expect(values.every((r) => r.length === 3 && r.every(Number.isFinite))).toBe(true);
    // samples come back in data units (un-standardised): column c is centred near -5
    const meanC = values.reduce((a, r) => a + r[2]!, 0) / values.length;
    expect(meanC).toBeLessThan(-2);

    const samplesNpy = join(tmp, 'samples.npy');
    const sn = rnode(['sample', '--checkpoint', s.checkpoint as string, '-n', '10', '--out', samplesNpy]);
    expect(sn.code, sn.stderr).toBe(0);
    const npy = readFileSync(samplesNpy);
    expect(npy.subarray(1, 6).toString('latin1')).toBe('NUMPY');
    expect(npy.toString('latin1', 10, 80)).toContain("'shape': (10, 3)");
    expect((npy.length - 10 - npy.readUInt16LE(8)) / 4).toBe(30);

    // a 3-D model has no PNG scatter
    const png = rnode(['sample', '--checkpoint', s.checkpoint as string, '-n', '10', '--out', join(tmp, 's.png')]);
    expect(png.code).toBe(2);
    expect(png.stderr).toContain('dimension 3');
  });

  test('the same run via flags and via --config gives the same result; flags override the file', () => {
    const flags = ['--data', '8gaussians', '--iterations', '2', '--seed', '7', '--lr', '0.005', '--lambda-k', '0.05', '--hidden', '8,8', '--batch-size', '32', '--test-samples', '100'];
    const a = rnode(['train', ...flags, '--out', join(tmp, 'flags'), '--json', '--quiet']);
    expect(a.code, a.stderr).toBe(0);
    const config = join(tmp, 'run.json');
    writeFileSync(config, JSON.stringify({ data: '8gaussians', iterations: 2, seed: 7, lr: 0.005, 'lambda-k': 0.05, hidden: [8, 8], batchSize: 32, testSamples: 100, out: join(tmp, 'cfg') }));
    const b = rnode(['train', '--config', config, '--json', '--quiet']);
    expect(b.code, b.stderr).toBe(0);
    const ra = lastJson(a.stdout), rb = lastJson(b.stdout);
    expect(rb.test_nll).toBe(ra.test_nll);
    expect(rb.train_nfe_total).toBe(ra.train_nfe_total);
    expect(rb.checkpoint).toBe(join(tmp, 'cfg', 'last.json'));

    const c = rnode(['train', '--config', config, '--iterations', '1', '--out', join(tmp, 'override'), '--json', '--quiet']);
    expect(c.code, c.stderr).toBe(0);
    expect(lastJson(c.stdout).iterations).toBe(1);
    expect(lastJson(c.stdout).checkpoint).toBe(join(tmp, 'override', 'last.json'));
  });

  test('plot writes the density, samples and trajectory figures (with --compare)', () => {
    const a = join(tmp, 'toy', 'last.json');
    const b = join(tmp, 'ffjord');
    const f = rnode(['train', '--data', 'pinwheel', '--preset', 'ffjord', '--iterations', '1', ...TINY, '--out', b]);
    expect(f.code, f.stderr).toBe(0);
    const figs = join(tmp, 'figs');
    const r = rnode(['plot', '--checkpoint', a, '--compare', join(b, 'last.json'), '--out', figs, '--grid', '20', '--samples', '100', '--particles', '20', '--json']);
    expect(r.code, r.stderr).toBe(0);
    for (const name of ['density.png', 'samples.png', 'trajectories.png']) {
      const png = readFileSync(join(figs, name));
      expect(png.subarray(1, 4).toString('latin1'), name).toBe('PNG');
    }
  });

  test('eval of a missing checkpoint exits 1 and names the file', () => {
    const missing = join(tmp, 'nope.json');
    const r = rnode(['eval', '--checkpoint', missing]);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain(missing);
  });
});
