// A sweep on this machine: a pool of `rnode train` child processes, `parallel` at a time.
import { join } from 'node:path';
import type { SweepJob } from './grid.js';
import { runJob } from './job.js';
import { summaryNumber, type JobResult } from './results.js';

export type { JobResult } from './results.js';

export interface SweepEvent {
  type: 'start' | 'done' | 'failed' | 'skipped';
  id: string;
  message?: string;
}

export interface SweepRunOptions {
  /** The sweep's folder: each job runs in `<out>/runs/<id>/`. */
  out: string;
  /** Jobs at a time (each one process; a job with `threads` uses more cores). */
  parallel: number;
  onEvent?: (e: SweepEvent) => void;
  /** More arguments for every `rnode train` (they are not part of the jobs' configs or ids). */
  extraArgs?: string[];
  /** Aborting starts no more jobs and sends the running ones SIGTERM (each writes its checkpoint; a rerun resumes). */
  signal?: AbortSignal;
  /** Working directory of the runs (relative paths in configs resolve from it; default: ours). */
  cwd?: string;
}

/** "test NLL 3.9258 nats, 2.1 s" (or bits/dim) for a finished job. */
export function describeDone(r: JobResult): string {
  const bpd = summaryNumber(r, 'test_bits_per_dim');
  const nll = summaryNumber(r, 'test_nll');
  const s = summaryNumber(r, 'seconds');
  const metric = bpd !== null ? `test ${bpd.toFixed(4)} bits/dim` : nll !== null ? `test NLL ${nll.toFixed(4)} nats` : 'no test result';
  return s !== null ? `${metric}, ${s.toFixed(1)} s` : metric;
}

/** The run folder of job `id` in the sweep folder `out`. */
export function runDirOf(out: string, id: string): string {
  return join(out, 'runs', id);
}

/**
 * Run the jobs, `parallel` at a time; resolves to their results in the order of `jobs`. A job
 * with a result.json is not run again (its stored result is returned, event 'skipped'); a job
 * stopped before its end (abort, a crash) is 'failed' here but stores nothing, so running the
 * sweep again resumes it from its checkpoint.
 */
export async function runJobsLocally(jobs: SweepJob[], o: SweepRunOptions): Promise<JobResult[]> {
  const results: JobResult[] = new Array<JobResult>(jobs.length);
  const parallel = Math.max(1, Math.floor(o.parallel));
  let next = 0;
  const lane = async (): Promise<void> => {
    while (next < jobs.length) {
      const i = next++;
      const job = jobs[i]!;
      const runDir = runDirOf(o.out, job.id);
      if (o.signal?.aborted) {
        // not started: nothing stored, the next run of the sweep starts it
        results[i] = { id: job.id, config: job.config, runDir, status: 'failed', summary: null, error: 'not started: the sweep was stopped', attempts: 0 };
        continue;
      }
      const outcome = await runJob(job, {
        runDir,
        ...(o.cwd !== undefined ? { cwd: o.cwd } : {}),
        ...(o.extraArgs ? { extraArgs: o.extraArgs } : {}),
        ...(o.signal ? { signal: o.signal } : {}),
        onStart: ({ attempt, resumed }) => o.onEvent?.({ type: 'start', id: job.id, message: `attempt ${attempt}${resumed ? ', resuming its checkpoint' : ''}` }),
      });
      results[i] = outcome.result;
      const r = outcome.result;
      if (outcome.kind === 'skipped') o.onEvent?.({ type: 'skipped', id: job.id, message: `already ${r.status === 'done' ? 'done' : 'failed'}` });
      else if (r.status === 'done') o.onEvent?.({ type: 'done', id: job.id, message: describeDone(r) });
      else o.onEvent?.({ type: 'failed', id: job.id, message: r.error ?? 'failed' });
    }
  };
  await Promise.all(Array.from({ length: Math.min(parallel, jobs.length) }, lane));
  return results;
}
