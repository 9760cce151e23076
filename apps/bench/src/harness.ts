/**
 * The parent process: parse the command line, run the workload once per backend, each in its own
 * forked child process (so peak RSS and crashes are per backend), one after the other, and print
 * a table or JSON lines.
 */
import { fork } from 'node:child_process';
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import type { ChildMessage } from './child.js';
import { machine } from './child.js';
import { UsageError, helpText, parseArgs, type BenchConfig } from './config.js';
import type { BenchJob, BenchResult } from './types.js';

/** Where the bench writes: stdout gets the table or the JSON lines, stderr progress and notes. */
export interface BenchIo {
  stdout: { write(s: string): unknown };
  stderr: { write(s: string): unknown };
}

const processIo = (): BenchIo => ({ stdout: process.stdout, stderr: process.stderr });

/** The built bench entry that children run (dist/bench.js; from the sources, the package's dist). */
export function childEntry(): string {
  const here = import.meta.url;
  return fileURLToPath(new URL(here.endsWith('.ts') ? '../dist/bench.js' : './bench.js', here));
}

/** Debian's chromium ships SwiftShader's Vulkan ICD: WebGPU in Node without a GPU (see @rnode/core's webgpu backend). */
export const SWIFTSHADER_ICD = '/usr/lib/chromium/vk_swiftshader_icd.json';

function childEnv(backend: string): NodeJS.ProcessEnv {
  const env = { ...process.env };
  if (backend === 'webgpu' && !env.VK_ICD_FILENAMES && existsSync(SWIFTSHADER_ICD)) env.VK_ICD_FILENAMES = SWIFTSHADER_ICD;
  return env;
}

/** Fork one child for the job; its stdout and stderr go to our stderr. */
export function runChild(job: BenchJob, io: BenchIo): Promise<ChildMessage> {
  const entry = childEntry();
  if (!existsSync(entry)) {
    return Promise.resolve({ type: 'error', backend: job.backend, message: `${entry} is missing: build the bench first (pnpm --filter @rnode/bench build)` });
  }
  return new Promise((resolve) => {
    let msg: ChildMessage | undefined;
    let tail = '';
    const child = fork(entry, ['--internal-child', JSON.stringify(job)], {
      stdio: ['ignore', 'pipe', 'pipe', 'ipc'],
      env: childEnv(job.backend),
      execArgv: [],
    });
    const forward = (b: Buffer) => {
      const s = b.toString();
      tail = (tail + s).slice(-4000);
      io.stderr.write(s);
    };
    child.stdout!.on('data', forward);
    child.stderr!.on('data', forward);
    child.on('message', (m) => {
      msg = m as ChildMessage;
    });
    child.on('error', (e) => {
      msg ??= { type: 'error', backend: job.backend, message: `could not start the child process: ${e.message}` };
    });
    child.on('close', (code, signal) => {
      if (msg) return resolve(msg);
      const last = tail.trim().split('\n').slice(-3).join(' | ');
      resolve({
        type: 'error',
        backend: job.backend,
        message: `the ${job.backend} process ended without a result (${signal ? `signal ${signal}` : `exit code ${code}`})${last ? `: ${last}` : ''}`,
      });
    });
  });
}

const fmt = (v: number | null | undefined, d = 3): string => (v === null || v === undefined || !Number.isFinite(v) ? '-' : v.toFixed(d));
const nfe = (v: number | null | undefined): string => (v === null || v === undefined ? '-' : Number.isInteger(v) ? String(v) : v.toFixed(1));

interface Row {
  workload: string;
  backend: string;
  median: number | null;
  spread: BenchResult['spread'];
  nfeF: number | null;
  nfeB: number | null;
  rss: number | null;
  spec: boolean;
  note?: string;
}

function tableRows(r: BenchResult): Row[] {
  const rows = (r.rows as Array<{ label: string; median_s_per_iter: number | null; spread: BenchResult['spread']; nfe_forward: number | null; nfe_backward: number | null }> | undefined) ?? [];
  if (rows.length) {
    return rows.map((x) => ({ workload: x.label, backend: r.backend, median: x.median_s_per_iter, spread: x.spread, nfeF: x.nfe_forward, nfeB: x.nfe_backward, rss: r.peak_rss_mib, spec: r.spec }));
  }
  return [{ workload: r.workload, backend: r.backend, median: r.median_s_per_iter, spread: r.spread, nfeF: r.nfe_forward, nfeB: r.nfe_backward, rss: r.peak_rss_mib, spec: r.spec, ...(r.error ? { note: `error: ${r.error}` } : {}) }];
}

export function formatTable(results: readonly BenchResult[]): string {
  const head = '| workload | backend | median s/iter | spread: min, p25–p75, max | NFE fwd/bwd | peak RSS MiB | spec |';
  const lines = [head, '| --- | --- | ---: | --- | ---: | ---: | --- |'];
  for (const r of results) {
    for (const x of tableRows(r)) {
      if (x.note) {
        lines.push(`| ${x.workload} | ${x.backend} | ${x.note} | | | ${fmt(x.rss, 0)} | ${x.spec ? 'yes' : 'no'} |`);
        continue;
      }
      const s = x.spread;
      lines.push(
        `| ${x.workload} | ${x.backend} | ${fmt(x.median, 4)} | ${s ? `${fmt(s.min, 4)}, ${fmt(s.p25, 4)}–${fmt(s.p75, 4)}, ${fmt(s.max, 4)}` : '-'} | ${nfe(x.nfeF)}/${nfe(x.nfeB)} | ${fmt(x.rss, 0)} | ${x.spec ? 'yes' : 'no'} |`,
      );
    }
  }
  return `${lines.join('\n')}\n`;
}

function errorResult(cfg: BenchConfig, backend: string, message: string): BenchResult {
  return {
    workload: cfg.workload.name,
    backend,
    spec: cfg.spec,
    modified: cfg.modified,
    median_s_per_iter: null,
    spread: null,
    nfe_forward: null,
    nfe_backward: null,
    peak_rss_mib: null,
    iterations: (cfg.params.iterations as number | undefined) ?? 0,
    warmup: (cfg.params.warmup as number | undefined) ?? 0,
    batch: (cfg.params.batch as number | undefined) ?? null,
    workers: cfg.workers,
    runner: null,
    times_s: [],
    warmup_times_s: [],
    config: cfg.params,
    ...machine(),
    date: new Date().toISOString(),
    error: message,
  };
}

/**
 * Run the bench on `argv` (the arguments after the program name). Resolves to the exit status:
 * 0, 1 when a backend failed or none ran, 2 for usage errors. Never exits the process.
 */
export async function runBench(argv: readonly string[], io: BenchIo = processIo()): Promise<number> {
  let parsed;
  try {
    parsed = parseArgs(argv);
  } catch (e) {
    if (e instanceof UsageError) {
      io.stderr.write(`rnode-bench: ${e.message}\n`);
      return 2;
    }
    throw e;
  }
  if (parsed.help) {
    io.stdout.write(helpText(parsed.workload));
    return 0;
  }
  const cfg = parsed;
  const w = cfg.workload.name;
  if (!cfg.spec) io.stderr.write(`rnode-bench: modified: ${cfg.modified.join(', ')} — this is not the ${w} workload as specified ("spec": false)\n`);
  const results: BenchResult[] = [];
  const skipped: string[] = [];
  let failed = 0;
  for (const backend of cfg.backends) {
    io.stderr.write(`rnode-bench: ${w} on ${backend} …\n`);
    const job: BenchJob = { workload: w, backend, params: cfg.params, spec: cfg.spec, modified: cfg.modified, out: cfg.out, workers: cfg.workers };
    const m = await runChild(job, io);
    let r: BenchResult;
    if (m.type === 'skipped') {
      io.stderr.write(`rnode-bench: skipping backend "${backend}": ${m.reason}\n`);
      skipped.push(backend);
      continue;
    } else if (m.type === 'error') {
      failed++;
      io.stderr.write(`rnode-bench: ${w} on ${backend} failed: ${m.message}\n`);
      r = errorResult(cfg, backend, m.message);
    } else r = m.result;
    results.push(r);
    if (cfg.json) {
      const { details: _d, ...line } = r;
      io.stdout.write(`${JSON.stringify(line)}\n`);
    }
  }
  if (!cfg.json && results.length) {
    const first = results[0]!;
    io.stdout.write(`${w}${cfg.spec ? ' (spec)' : ` (modified: ${cfg.modified.join(', ')})`} — ${first.cpus} × ${first.cpu}, Node ${first.node}\n\n`);
    io.stdout.write(formatTable(results));
    for (const r of results) {
      const d = r.details as string[] | undefined;
      if (d?.length) io.stdout.write(`\n${d.join('\n')}\n`);
    }
  }
  if (results.length === 0) {
    io.stderr.write(`rnode-bench: no backend ran (${skipped.length ? `skipped: ${skipped.join(', ')}` : 'none given'})\n`);
    return 1;
  }
  return failed ? 1 : 0;
}
