// One job of a sweep, the one place it is run (locally by `rnode sweep`, remotely by
// `rnode worker`): `rnode train` as a child process in the job's run folder, resumed from its
// last.json when an earlier attempt was stopped, and its result stored once in result.json.
import { spawn } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, renameSync } from 'node:fs';
import { hostname } from 'node:os';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { appendFileDurable, waitForForeignRunLock, writeFileAtomic } from '@rnode/core/node';
import { archiveRunFiles } from '../run-folder.js';
import type { SweepJob } from './grid.js';
import { readJobResult, RESULT_FILE, writeJobResult, type JobResult } from './results.js';

/** The environment variable that makes `rnode` stop as on SIGTERM when its stdin closes (rnode.ts). */
export const EXIT_WITH_PARENT = 'RNODE_EXIT_WITH_PARENT';

/** One line per start of `rnode train` in a run folder: how a job's attempts are counted across machines. */
export const ATTEMPTS_FILE = 'attempts.jsonl';

/**
 * The `rnode` command to start: dist/rnode.js, beside this module's chunk once built (tsup puts
 * every chunk in dist/); from the sources (vitest), the built one of this package.
 */
export function rnodeBin(): string {
  const here = fileURLToPath(import.meta.url);
  return fileURLToPath(new URL(here.endsWith('.ts') ? '../../dist/rnode.js' : './rnode.js', import.meta.url));
}

export interface RunJobOptions {
  /** The job's run folder (`<out>/runs/<id>`): job.json, the run's files, attempts.jsonl, result.json. */
  runDir: string;
  /** Working directory of `rnode train` (relative paths in the config resolve from it; default: ours). */
  cwd?: string;
  /** More arguments for `rnode train` (after the sweep's own). */
  extraArgs?: readonly string[];
  /** Aborting sends the running `rnode train` SIGTERM: it finishes its step, writes last.json and exits (a retry resumes). */
  signal?: AbortSignal;
  /** Called when the child has started (its pid, the attempt's number, whether it resumes). */
  onStart?: (e: { pid: number; attempt: number; resumed: boolean }) => void;
  /** Progress of the training, from its progress lines. */
  onProgress?: (iteration: number, target: number) => void;
  /** Who runs it, recorded in attempts.jsonl (e.g. "rnode worker 1234"). */
  runner?: string;
  /** Called with a line when the job waits for a run on another host that holds its folder. */
  onWait?: (message: string) => void;
}

/**
 * What running a job came to. `skipped` and `final` have a stored result.json (done, or failed
 * for good: diverged, a bad value). `retry` has none: the child was stopped (signal), the folder
 * was locked by a run still going, or it crashed; running the job again resumes its checkpoint.
 */
export type JobOutcome = { kind: 'skipped' | 'final' | 'retry'; result: JobResult };

/** `rnode: error: <message>` lines: the child's own account of what went wrong. */
const ERROR_LINE = /^rnode: error: (.*)$/m;
/**
 * Errors that another attempt may not meet: the folder's run lock is held by a run still going (a
 * killed worker's child finishing its step), or writing its files failed (a full disk, a shared
 * file system that went away). Every other error of a run is its result.
 */
const TRANSIENT = /is in use by another run|^(\[[^\]]*\] )?(could not write|cannot lock) /;
const PROGRESS = /^train (\d+)\/(\d+)\b/;

const countLines = (path: string): number => (existsSync(path) ? readFileSync(path, 'utf8').split('\n').filter(Boolean).length : 0);

/** A summary line of `rnode train --json`: the last stdout line that carries a test result. */
function summaryOf(line: string): Record<string, unknown> | null {
  if (!line.startsWith('{')) return null;
  try {
    const v = JSON.parse(line) as Record<string, unknown>;
    return 'test_nll' in v || 'test_bits_per_dim' in v ? v : null;
  } catch {
    return null;
  }
}

/**
 * `--retry-failed`: move a failed job's result and run files into `<runDir>/archive/<time>/`
 * (never deleted), so that the job runs again from the start. Returns that folder.
 */
export function startOver(runDir: string): string {
  const dir = archiveRunFiles(runDir);
  for (const f of [RESULT_FILE, ATTEMPTS_FILE]) if (existsSync(join(runDir, f))) renameSync(join(runDir, f), join(dir, f));
  return dir;
}

/** Run one job to its end (or its interruption); never throws for what the child did. */
export async function runJob(job: SweepJob, o: RunJobOptions): Promise<JobOutcome> {
  const runDir = o.runDir;
  const stored = readJobResult(runDir);
  if (stored) return { kind: 'skipped', result: stored };
  mkdirSync(runDir, { recursive: true });
  // A run on another host that still renews the folder's lock (a worker the queue gave up on, or a
  // machine that just went down): wait until it ends or its lock goes stale, instead of spending
  // this job's attempts on "in use" (the child takes a stale lock over, and resumes).
  const waitedFor = await waitForForeignRunLock(runDir, {
    ...(o.signal ? { signal: o.signal } : {}),
    pollMs: 2_000,
  });
  if (waitedFor) {
    o.onWait?.(`waited for pid ${waitedFor.pid} on ${waitedFor.host}, which held ${runDir}`);
    const now = readJobResult(runDir);
    if (now) return { kind: 'skipped', result: now };
  }
  const configFile = join(runDir, 'job.json');
  writeFileAtomic(configFile, `${JSON.stringify(job.config, null, 2)}\n`, { what: 'job config ' });
  const last = join(runDir, 'last.json');
  const resumed = existsSync(last);
  const attemptsFile = join(runDir, ATTEMPTS_FILE);
  const attempt = countLines(attemptsFile) + 1;
  const args = [rnodeBin(), 'train', '--config', configFile, '--out', runDir, '--json', ...(resumed ? ['--resume', last] : []), ...(o.extraArgs ?? [])];

  // Its own process group (a Ctrl-C in the terminal reaches the sweep only, which forwards one
  // SIGTERM), stdin a pipe that closes when we die (rnode.ts then stops the run: no orphan).
  const child = spawn(process.execPath, args, {
    cwd: o.cwd ?? process.cwd(),
    env: { ...process.env, [EXIT_WITH_PARENT]: '1', NO_COLOR: '1' },
    stdio: ['pipe', 'pipe', 'pipe'],
    detached: true,
  });
  child.stdin!.on('error', () => undefined); // a child that exits early closes its end
  const stop = () => child.kill('SIGTERM');
  if (o.signal?.aborted) stop();
  else o.signal?.addEventListener('abort', stop, { once: true });

  let summary: Record<string, unknown> | null = null;
  let errorLine: string | null = null;
  let stderrTail = '';
  let partOut = '';
  let partErr = '';
  child.stdout!.setEncoding('utf8').on('data', (s: string) => {
    const lines = (partOut + s).split('\n');
    partOut = lines.pop()!;
    for (const l of lines) summary = summaryOf(l) ?? summary;
  });
  child.stderr!.setEncoding('utf8').on('data', (s: string) => {
    stderrTail = (stderrTail + s).slice(-16_384);
    const lines = (partErr + s).split('\n');
    partErr = lines.pop()!;
    for (const l of lines) {
      const m = PROGRESS.exec(l);
      if (m) o.onProgress?.(Number(m[1]), Number(m[2]));
      const e = ERROR_LINE.exec(l);
      if (e) errorLine = e[1]!;
    }
  });

  const exit = await new Promise<{ code: number | null; signal: NodeJS.Signals | null; spawnError?: Error }>((done) => {
    child.on('error', (e) => done({ code: null, signal: null, spawnError: e }));
    child.on('close', (code, signal) => done({ code, signal }));
    if (child.pid !== undefined) {
      appendFileDurable(attemptsFile, `${JSON.stringify({ attempt, pid: child.pid, host: hostname(), runner: o.runner ?? `pid ${process.pid}`, started: new Date().toISOString(), resumed })}\n`);
      o.onStart?.({ pid: child.pid, attempt, resumed });
    }
  });
  o.signal?.removeEventListener('abort', stop);
  summary = summaryOf(partOut) ?? summary;
  const err = errorLine as string | null;
  const result = (status: JobResult['status'], error: string | null): JobResult => ({
    id: job.id,
    config: job.config,
    runDir,
    status,
    summary: status === 'done' ? summary : null,
    error,
    attempts: countLines(attemptsFile),
  });
  const final = (r: JobResult): JobOutcome => {
    writeJobResult(r);
    return { kind: 'final', result: r };
  };

  if (exit.spawnError) return { kind: 'retry', result: result('failed', `cannot start ${process.execPath} ${args[0]}: ${exit.spawnError.message}`) };
  if (exit.code === 0) return final(summary ? result('done', null) : result('failed', 'rnode train exited 0 without a summary line'));
  if (exit.signal !== null || exit.code === 130 || exit.code === 143) {
    const how = exit.signal ?? (exit.code === 130 ? 'SIGINT' : 'SIGTERM');
    return { kind: 'retry', result: result('failed', `stopped by ${how}${existsSync(last) ? `; running it again resumes from ${resolve(last)}` : ''}`) };
  }
  if (err !== null && TRANSIENT.test(err)) return { kind: 'retry', result: result('failed', err) };
  // 1: an error while training (diverged, non-finite, unreadable data), 2: a usage error in the
  // config: running it again would do the same, so it is the job's result (--retry-failed reruns it)
  if (exit.code === 1 || exit.code === 2) return final(result('failed', err ?? `rnode train exited with status ${exit.code}: ${stderrTail.trim().split('\n').at(-1) ?? ''}`));
  return { kind: 'retry', result: result('failed', `rnode train exited with status ${exit.code}: ${err ?? stderrTail.trim().split('\n').at(-1) ?? ''}`) };
}
