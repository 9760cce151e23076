import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import sharp from 'sharp';
import { afterAll, describe, expect, test } from 'vitest';
import { BIN, lastJson, rnode, type RunResult } from './testing/run.js';

const tmp = mkdtempSync(join(tmpdir(), 'rnode-cli-images-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

// A tiny image run: 64 real digits at 14×14, one scale with one block of width 8.
const TINY = ['--data', 'mnist', '--subset', '64', '--downsample', '2', '--scales', '1', '--blocks-per-scale', '1', '--width', '8', '--batch-size', '16', '--test-samples', '32', '--quiet'];

/** rnode as a child process without blocking this process's event loop (a local server answers it). */
function rnodeAsync(args: string[]): Promise<RunResult> {
  return new Promise((resolve) => {
    const p = spawn(process.execPath, [BIN, ...args], { env: { ...process.env, NO_COLOR: '1' } });
    let stdout = '';
    let stderr = '';
    p.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    p.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    p.on('close', (code) => resolve({ code: code ?? -1, stdout, stderr }));
  });
}

describe('rnode image flows', () => {
  const out = join(tmp, 'mnist');

  test('train --data mnist (tiny): bits/dim, NFE and the small-run flags in --json and run.json', () => {
    const r = rnode(['train', ...TINY, '--iterations', '2', '--out', out, '--json']);
    expect(r.code, r.stderr).toBe(0);
    const lines = r.stdout.trim().split('\n').map((l) => JSON.parse(l) as Record<string, unknown>);
    const evals = lines.filter((l) => l.type === 'evaluation');
    expect(evals.length).toBe(1);
    expect(evals[0]!.nllUnit).toBe('bits-per-dim');
    const s = lastJson(r.stdout);
    expect(s.data).toBe('mnist');
    expect(s.dim).toBe(196);
    expect(s.iterations).toBe(2);
    expect(s.train_nfe_total).toBe(2 * 32); // one block, rk38 step 0.25: 16 forward + 16 backward
    const bpd = s.test_bits_per_dim as number;
    expect(bpd).toBeGreaterThan(1);
    expect(bpd).toBeLessThan(40);
    expect(s.test_nll as number).toBeCloseTo(bpd * 196 * Math.LN2, 3);
    expect(s.test_nfe as number).toBeGreaterThan(0);
    expect(s.curve).toEqual([expect.objectContaining({ iteration: 2, bits_per_dim: bpd })]);
    const config = s.config as Record<string, unknown>;
    expect(config).toMatchObject({
      subset: 64, downsample: 2, imageShape: [14, 14, 1], trainImages: 64, testImages: 32, alpha: 1e-5,
      solver: 'rk38', stepSize: 0.25, lambdaK: 0.01, lambdaJ: 0.01, batchSize: 16, lr: 1e-3, warmup: 1000,
      model: { kind: 'image', height: 14, width: 14, channels: 1, scales: 1, blocksPerScale: 1, hidden: [8, 8, 8] },
      evaluation: { solver: 'dopri5', rtol: 1e-5, atol: 1e-5, estimator: 'hutchinson', shift: 0.5 },
    });
    const run = JSON.parse(readFileSync(join(out, 'run.json'), 'utf8')) as { config: unknown; data: { kind: string } };
    expect(run.data.kind).toBe('image');
    expect(run.config).toEqual(config);
    const its = readFileSync(join(out, 'metrics.jsonl'), 'utf8').trim().split('\n').map((l) => JSON.parse(l) as Record<string, unknown>).filter((l) => l.type === 'iteration');
    expect(its).toHaveLength(2);
    expect(its[0]).toMatchObject({ nllUnit: 'bits-per-dim', nfeForward: 16, nfeBackward: 16 });
    expect(its[0]!.kineticEnergy).toBeGreaterThan(0);
    expect(its[0]).toHaveProperty('jacobianNorm');
    expect(its[0]!.lr).toBeCloseTo(1e-6, 12); // warm-up: 1e-3 · 1/1000
  });

  test('--resume an image run continues from the loader state', () => {
    const r = rnode(['train', ...TINY, '--iterations', '3', '--eval-every', '0', '--out', out, '--resume', join(out, 'last.json'), '--json']);
    expect(r.code, r.stderr).toBe(0);
    const s = lastJson(r.stdout);
    expect(s.iterations).toBe(3);
    expect(s.iterations_run).toBe(1);
    expect(s.test_bits_per_dim).toBeNull();
  });

  test('eval of an image checkpoint: test bits/dim on the run\'s test set', () => {
    const r = rnode(['eval', '--checkpoint', join(out, 'last.json'), '--json']);
    expect(r.code, r.stderr).toBe(0);
    const s = lastJson(r.stdout);
    expect(s).toMatchObject({ n: 32, dim: 196, data: 'mnist' });
    expect(s.test_bits_per_dim as number).toBeGreaterThan(1);
    expect(s.test_bits_per_dim as number).toBeLessThan(40);
  });

  test('sample --out grid.png writes a PNG grid of the right size', async () => {
    const png = join(tmp, 'grid.png');
    const r = rnode(['sample', '--checkpoint', join(out, 'last.json'), '-n', '10', '--out', png, '--json']);
    expect(r.code, r.stderr).toBe(0);
    const s = lastJson(r.stdout);
    // 10 samples → 4 columns × 3 rows of 14×14 tiles with 2-pixel gaps
    expect(s).toMatchObject({ n: 10, shape: [14, 14, 1], width: 4 * 14 + 5 * 2, height: 3 * 14 + 4 * 2 });
    const meta = await sharp(png).metadata();
    expect([meta.format, meta.width, meta.height]).toEqual(['png', 66, 50]);
    const bad = rnode(['sample', '--checkpoint', join(out, 'last.json'), '--out', join(tmp, 'x.csv')]);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toMatch(/PNG grid/);
  });

  test('summary --json gives the exact parameter counts of the paper models', () => {
    const m = rnode(['summary', '--data', 'mnist', '--json']);
    expect(m.code, m.stderr).toBe(0);
    const ms = lastJson(m.stdout);
    expect(ms.params).toBe(800_636);
    expect((ms.blocks as unknown[]).length).toBe(10);
    const c = rnode(['summary', '--data', 'cifar10', '--json']);
    expect(c.code, c.stderr).toBe(0);
    const cs = lastJson(c.stdout);
    expect(cs.params).toBe(1_358_868);
    expect((cs.blocks as unknown[]).length).toBe(14);
    const t = rnode(['summary', '--data', 'mnist']);
    expect(t.stdout).toMatch(/800,636 parameters/);
  });

  test('download: a failing mirror is a clear error naming the URL; progress goes to stderr', async () => {
    const server = createServer((req, res) => {
      if (req.url?.endsWith('train-images-idx3-ubyte.gz')) {
        res.writeHead(200, { 'content-length': '5' });
        res.end('hello'); // wrong bytes: md5 mismatch
      } else {
        res.writeHead(404);
        res.end();
      }
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    const port = (server.address() as AddressInfo).port;
    try {
      const dir = join(tmp, 'dl');
      const r = await rnodeAsync(['download', 'mnist', '--dir', dir, '--base-url', `http://127.0.0.1:${port}/`]);
      expect(r.code).toBe(1);
      expect(r.stderr).toMatch(/rnode: error: .*(md5|checksum)/i);
      expect(r.stderr).toMatch(new RegExp(`127\\.0\\.0\\.1:${port}/train-images-idx3-ubyte\\.gz`));
      expect(r.stderr).toMatch(/download train-images-idx3-ubyte\.gz/);
      expect(existsSync(join(dir, 'train-images-idx3-ubyte.gz'))).toBe(false);
    } finally {
      server.close();
    }
    const bad = rnode(['download', 'imagenet']);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toMatch(/mnist, fashion-mnist, cifar10/);
  });

  test.each([
    [['train', '--data', 'mnist', '--subset', '0'], /--subset/],
    [['train', '--data', 'pinwheel', '--subset', '10'], /--subset applies to image data/],
    [['train', '--data', 'mnist', '--blocks', '2'], /--blocks applies to 2-D/],
    [['train', '--data', 'mnist', '--iterations', '2', '--epochs', '1'], /--iterations or --epochs/],
    [['train', '--data', 'cifar10'], /--data-dir/],
    [['train', '--data', 'mnist', '--downsample', '3', '--iterations', '1', '--quiet'], /--downsample 3/],
    [['summary', '--data', 'pinwheel'], /mnist, fashion-mnist, cifar10/],
    [['train', '--data', 'mnist', '--alpha', '0.7'], /alpha/],
  ])('bad image flags exit 2 and name the flag: %j', (args, msg) => {
    const r = rnode(args);
    expect(r.code, r.stderr).toBe(2);
    expect(r.stderr).toMatch(msg);
  });
});
