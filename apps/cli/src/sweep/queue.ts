// A sweep on several machines: `rnode sweep --queue redis://…` puts its jobs on a BullMQ queue,
// and `rnode worker --queue redis://…` processes take them, each job run by the same job runner
// as a local sweep (job.ts) in the shared output folder. BullMQ gives progress, retries with
// back-off, and stalled-job recovery: a worker that dies stops renewing its jobs' locks, and
// another worker takes them after --lock-seconds; the retried run resumes from its checkpoint.
// bullmq and ioredis are loaded here only (other commands never load them).
import { existsSync, readFileSync } from 'node:fs';
import { hostname } from 'node:os';
import { join, resolve } from 'node:path';
import type { Job, Worker } from 'bullmq';
import type { Redis } from 'ioredis';
import { UsageError } from '../errors.js';
import type { SweepJob, SweepPlan } from './grid.js';
import { ATTEMPTS_FILE, runJob } from './job.js';
import { describeDone, runDirOf, type JobResult, type SweepEvent } from './local.js';
import { readJobResult } from './results.js';

/** The queue every sweep and worker of a Redis server shares (its keys start with `bull:rnode-sweep:`). */
export const QUEUE_NAME = 'rnode-sweep';

/** What a queued job carries: everything a worker on another machine needs. */
export interface QueueJobData {
  /** The sweep's name (the first part of the BullMQ job id). */
  sweep: string;
  id: string;
  config: SweepJob['config'];
  /** Absolute: the shared output folder's run folder of the job. */
  runDir: string;
  /** Absolute: the sweep's working directory (relative paths in the config resolve from it, where it exists). */
  cwd: string;
}

/** BullMQ job ids may not contain ":" (its key separator); a sweep's jobs are `<sweep name>.<job id>`. */
export const queueJobId = (sweep: string, id: string): string => `${sweep}.${id}`;

/** `--queue`: a redis:// or rediss:// URL (host, port, optional /db and password); a usage error naming the flag otherwise. */
export function checkQueueUrl(url: string): string {
  let u: URL;
  try {
    u = new URL(url);
  } catch {
    throw new UsageError(`--queue ${url}: expected a Redis URL such as redis://127.0.0.1:6379`);
  }
  if (u.protocol !== 'redis:' && u.protocol !== 'rediss:') throw new UsageError(`--queue ${url}: expected a redis:// or rediss:// URL (e.g. redis://127.0.0.1:6379), got ${u.protocol}//`);
  if (!u.hostname) throw new UsageError(`--queue ${url}: the URL names no host (e.g. redis://127.0.0.1:6379)`);
  return url;
}

/** The URL without its password, for messages. */
export const shown = (url: string): string => {
  const u = new URL(url);
  if (u.password) u.password = '***';
  return u.toString();
};

/**
 * A connection to the queue's Redis: first a probe that gives up after a few seconds (an error
 * naming the URL), then the client BullMQ uses (maxRetriesPerRequest null, as its workers
 * require; it reconnects for as long as the process lives).
 */
export async function connectQueue(url: string, o: { timeoutMs?: number } = {}): Promise<Redis> {
  const { Redis } = await import('ioredis');
  const probe = new Redis(url, { lazyConnect: true, connectTimeout: o.timeoutMs ?? 4000, maxRetriesPerRequest: 0, retryStrategy: () => null, enableOfflineQueue: false });
  let cause = null as Error | null; // the socket's error (ECONNREFUSED…); connect() only says "Connection is closed"
  probe.on('error', (e: Error) => (cause ??= e));
  try {
    await probe.connect();
    await probe.ping();
  } catch (e) {
    const why = cause?.message || (e as Error).message || String(e);
    throw new Error(`cannot reach the queue at --queue ${shown(url)}: ${why} (is redis-server running there, and reachable from ${hostname()}?)`);
  } finally {
    probe.disconnect();
  }
  const client = new Redis(url, { maxRetriesPerRequest: null, connectTimeout: o.timeoutMs ?? 4000 });
  client.on('error', () => undefined); // reconnects on its own; BullMQ reports what fails
  return client;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const attemptsIn = (runDir: string): number => {
  const p = join(runDir, ATTEMPTS_FILE);
  return existsSync(p) ? readFileSync(p, 'utf8').split('\n').filter(Boolean).length : 0;
};

export interface QueueSweepOptions {
  url: string;
  /** The sweep's folder, on the file system the workers share (made absolute). */
  out: string;
  /** Tries per job before it fails for good (BullMQ attempts, exponential back-off from `backoffMs`). */
  attempts: number;
  backoffMs?: number;
  onEvent?: (e: SweepEvent | { type: 'retry' | 'waiting'; id: string; message?: string }) => void;
  /** Stop waiting (the jobs stay queued; running the sweep again waits for them). */
  signal?: AbortSignal;
  /** How often job states are read (default 1 s). */
  pollMs?: number;
}

/**
 * Queue the plan's jobs (those without a result.json) and wait until each has finished; resolves
 * to the results in the order of the plan. Adding is idempotent: a job id already waiting or
 * running is waited for, not added again, and a job whose result.json exists is not queued.
 */
export async function runJobsOnQueue(plan: SweepPlan, o: QueueSweepOptions): Promise<JobResult[]> {
  const { Queue } = await import('bullmq');
  const connection = await connectQueue(o.url);
  const queue = new Queue<QueueJobData, JobResult>(QUEUE_NAME, { connection });
  queue.on('error', () => undefined);
  const out = resolve(o.out);
  const results: Array<JobResult | undefined> = new Array<JobResult | undefined>(plan.jobs.length);
  const pending = new Map<number, { jobId: string; runDir: string; seen: string }>();
  try {
    for (const [i, job] of plan.jobs.entries()) {
      const runDir = runDirOf(out, job.id);
      const stored = readJobResult(runDir);
      if (stored) {
        results[i] = stored;
        o.onEvent?.({ type: 'skipped', id: job.id, message: `already ${stored.status}` });
        continue;
      }
      const jobId = queueJobId(plan.name, job.id);
      const existing = await queue.getJob(jobId);
      if (existing) {
        const state = await existing.getState();
        if (state === 'completed' || state === 'failed') await existing.remove();
        else if (existing.data.runDir !== runDir) {
          throw new UsageError(`job ${jobId} is already queued by a sweep writing to ${existing.data.runDir}; wait for it, or give this grid another "name"`);
        }
      }
      const data: QueueJobData = { sweep: plan.name, id: job.id, config: job.config, runDir, cwd: process.cwd() };
      await queue.add(plan.name, data, {
        jobId,
        attempts: o.attempts,
        backoff: { type: 'exponential', delay: o.backoffMs ?? 2000 },
        removeOnComplete: { age: 7 * 24 * 3600 },
        removeOnFail: { age: 7 * 24 * 3600 },
      });
      pending.set(i, { jobId, runDir, seen: 'waiting' });
    }

    let announced = false;
    const started = Date.now();
    while (pending.size > 0 && !o.signal?.aborted) {
      await Promise.all(
        [...pending].map(async ([i, p]) => {
          const job = plan.jobs[i]!;
          const q: Job<QueueJobData, JobResult> | undefined = await queue.getJob(p.jobId);
          const state = q ? await q.getState() : 'unknown';
          if (state === 'completed') {
            results[i] = readJobResult(p.runDir) ?? { ...(q!.returnvalue as JobResult), runDir: p.runDir };
            pending.delete(i);
            const r = results[i]!;
            o.onEvent?.(r.status === 'done' ? { type: 'done', id: job.id, message: describeDone(r) } : { type: 'failed', id: job.id, message: r.error ?? 'failed' });
          } else if (state === 'failed' || state === 'unknown') {
            const error = state === 'failed' ? `failed after ${q!.attemptsMade} attempts: ${q!.failedReason}` : 'the job left the queue (removed by someone else); run the sweep again';
            results[i] = { id: job.id, config: job.config, runDir: p.runDir, status: 'failed', summary: null, error, attempts: attemptsIn(p.runDir) };
            pending.delete(i);
            o.onEvent?.({ type: 'failed', id: job.id, message: error });
          } else if (state !== p.seen) {
            if (state === 'active') o.onEvent?.({ type: 'start', id: job.id, message: `attempt ${attemptsIn(p.runDir) || 1}` });
            else if (state === 'delayed' && q?.failedReason) o.onEvent?.({ type: 'retry', id: job.id, message: `attempt ${q.attemptsMade} failed: ${q.failedReason}; retrying` });
            p.seen = state;
          }
        }),
      );
      if (!announced && pending.size > 0 && Date.now() - started > 10_000 && [...pending.values()].every((p) => p.seen === 'waiting')) {
        announced = true;
        o.onEvent?.({ type: 'waiting', id: '', message: `no worker has taken a job in 10 s; start some with: rnode worker --queue ${shown(o.url)}` });
      }
      if (pending.size > 0) await sleep(o.pollMs ?? 1000);
    }
  } finally {
    await queue.close();
    connection.disconnect();
  }
  return plan.jobs.map(
    (job, i) =>
      results[i] ?? { id: job.id, config: job.config, runDir: runDirOf(out, job.id), status: 'failed', summary: null, error: 'still queued: the sweep stopped waiting', attempts: attemptsIn(runDirOf(out, job.id)) },
  );
}

export interface WorkerOptions {
  url: string;
  /** Jobs at a time in this worker (each one `rnode train` process). */
  concurrency: number;
  /** BullMQ lock duration and stalled-check interval: a dead worker's jobs go back to the queue within about twice this. */
  lockSeconds: number;
  log: (line: string) => void;
}

export interface RunningWorker {
  /** Stop: running jobs get SIGTERM (each writes its checkpoint; its retry resumes), then the worker closes. */
  close(): Promise<void>;
}

const isQueueJobData = (d: unknown): d is QueueJobData => {
  const v = d as Partial<QueueJobData> | null;
  return typeof v === 'object' && v !== null && typeof v.id === 'string' && typeof v.runDir === 'string' && typeof v.config === 'object' && v.config !== null;
};

/** Start taking jobs from the queue at `url`. */
export async function startWorker(o: WorkerOptions): Promise<RunningWorker> {
  const { Worker: BullWorker, UnrecoverableError } = await import('bullmq');
  const connection = await connectQueue(o.url);
  const running = new Set<AbortController>();
  const me = `rnode worker on ${hostname()}, pid ${process.pid}`;
  const worker: Worker<QueueJobData, JobResult> = new BullWorker<QueueJobData, JobResult>(
    QUEUE_NAME,
    async (job) => {
      if (!isQueueJobData(job.data)) throw new UnrecoverableError(`job ${job.id} is not an rnode sweep job`);
      const d = job.data;
      const ac = new AbortController();
      running.add(ac);
      let reported = -1;
      try {
        const outcome = await runJob(
          { id: d.id, config: d.config },
          {
            runDir: d.runDir,
            ...(existsSync(d.cwd) ? { cwd: d.cwd } : {}),
            signal: ac.signal,
            runner: me,
            onWait: (m) => o.log(`job ${job.id}: ${m}`),
            onStart: ({ pid, attempt, resumed }) => o.log(`job ${job.id}: started rnode train (pid ${pid}, attempt ${attempt}${resumed ? ', resuming its checkpoint' : ''}) in ${d.runDir}`),
            onProgress: (it, target) => {
              const pct = Math.floor((100 * it) / target);
              if (pct !== reported) {
                reported = pct;
                job.updateProgress(pct).catch(() => undefined);
              }
            },
          },
        );
        const r = outcome.result;
        if (outcome.kind === 'retry') {
          o.log(`job ${job.id}: ${r.error ?? 'stopped'}`);
          throw new Error(r.error ?? 'stopped before its end');
        }
        o.log(`job ${job.id}: ${outcome.kind === 'skipped' ? 'already ' : ''}${r.status}${r.status === 'failed' ? `: ${r.error}` : ''}`);
        return r;
      } finally {
        running.delete(ac);
      }
    },
    {
      connection,
      concurrency: o.concurrency,
      lockDuration: o.lockSeconds * 1000,
      stalledInterval: o.lockSeconds * 1000,
      // a job whose worker died goes back to the queue (not to failed) this many times
      maxStalledCount: 5,
      autorun: false,
    },
  );
  worker.on('error', (e) => o.log(`queue error: ${e.message}`));
  await worker.waitUntilReady();
  o.log(`${me}: taking jobs from ${shown(o.url)} (queue ${QUEUE_NAME}, ${o.concurrency} at a time)`);
  worker.run().catch((e: Error) => o.log(`queue error: ${e.message}`));
  return {
    async close() {
      for (const ac of running) ac.abort();
      await worker.close();
      connection.disconnect();
    },
  };
}
