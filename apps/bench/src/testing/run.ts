import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { childEntry } from '../harness.js';

export interface RunResult {
  code: number;
  stdout: string;
  stderr: string;
  /** The stdout lines parsed as JSON (with --json). */
  json: Array<Record<string, unknown>>;
}

/** Run the built bench (`node dist/bench.js ...args`) as a child process. */
export function bench(args: string[], o: { timeout?: number } = {}): RunResult {
  const bin = childEntry();
  if (!existsSync(bin)) throw new Error(`${bin} is missing: build the bench first (pnpm --filter @rnode/bench build)`);
  const r = spawnSync(process.execPath, [bin, ...args], { encoding: 'utf8', timeout: o.timeout ?? 280_000, env: { ...process.env } });
  const json = args.includes('--json')
    ? r.stdout.split('\n').filter((l) => l.trim()).map((l) => JSON.parse(l) as Record<string, unknown>)
    : [];
  return { code: r.status ?? -1, stdout: r.stdout, stderr: r.stderr, json };
}

export const REQUIRED_KEYS = [
  'workload', 'backend', 'median_s_per_iter', 'nfe_forward', 'nfe_backward', 'peak_rss_mib',
  'spec', 'iterations', 'warmup', 'batch', 'times_s', 'node', 'cpu', 'date',
] as const;

/** Tiny configurations of every workload (development overrides: spec false). */
export const TINY: Record<string, string[]> = {
  solvers: ['--repeats', '1', '--warmup', '0', '--step-size', '0.5'],
  'toy2d-rnode': ['--iterations', '2', '--warmup', '1', '--batch', '32'],
  'toy2d-ffjord': ['--iterations', '2', '--warmup', '1', '--batch', '32'],
  'toy2d-quality': ['--iterations', '2', '--eval-every', '1', '--test-samples', '200', '--batch', '32'],
  'adjoint-memory': ['--batch', '32', '--max-steps', '16'],
  'adjoint-memory-image': ['--batch', '1', '--max-steps', '8', '--downsample', '2', '--scales', '1', '--width', '4'],
  'mnist-iter': ['--iterations', '1', '--warmup', '0', '--batch', '2', '--downsample', '2', '--scales', '1', '--blocks-per-scale', '1', '--width', '4'],
  'cifar-iter': ['--iterations', '1', '--warmup', '0', '--batch', '2', '--downsample', '4', '--scales', '1', '--blocks-per-scale', '1', '--width', '4'],
};

export const PNG_SIGNATURE = [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a];
