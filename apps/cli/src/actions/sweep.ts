// `rnode sweep` — the action (what the command does with its parsed flags), like every file in actions/; its commander definition is commands/sweep.ts.
// The jobs run through sweep/local.ts (a process pool here) or sweep/queue.ts (BullMQ workers); both run each job with sweep/job.ts.
import { availableParallelism } from 'node:os';
import { join, resolve } from 'node:path';
import { writeFileAtomic } from '@rnode/core/node';
import type { CommandContext } from '../context.js';
import { UsageError } from '../errors.js';
import type { SweepFlags } from '../commands/sweep.js';
import { Interrupted, SIGNAL_EXIT, watchSignals } from '../interrupt.js';
import { readGridFile, type SweepPlan } from '../sweep/grid.js';
import { startOver } from '../sweep/job.js';
import { runDirOf, runJobsLocally, type SweepEvent } from '../sweep/local.js';
import { readJobResult, summaryNumber, varyingKeys, writeResultsTable, type JobResult } from '../sweep/results.js';
import { writeSummaryFigure } from '../sweep/figure.js';

const kebab = (k: string) => k.replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`);
const show = (v: unknown): string => (v === undefined ? '-' : Array.isArray(v) ? v.join(',') : typeof v === 'string' ? v : JSON.stringify(v));

/** Columns padded to their widest cell. */
function table(rows: string[][]): string {
  const widths = rows[0]!.map((_, c) => Math.max(...rows.map((r) => r[c]!.length)));
  return rows.map((r) => r.map((cell, c) => (c === r.length - 1 ? cell : cell.padEnd(widths[c]!))).join('  ').trimEnd()).join('\n') + '\n';
}

function printPlan(plan: SweepPlan, out: string, ctx: CommandContext, json: boolean): void {
  const keys = plan.varying ?? [];
  if (json) {
    for (const j of plan.jobs) ctx.io.stdout.write(`${JSON.stringify({ id: j.id, values: j.values ?? {}, config: j.config, runDir: resolve(runDirOf(out, j.id)) })}\n`);
    ctx.io.stdout.write(`${JSON.stringify({ type: 'plan', name: plan.name, jobs: plan.jobs.length, varying: keys, out: resolve(out) })}\n`);
    return;
  }
  ctx.io.stdout.write(`sweep ${plan.name}: ${plan.jobs.length} job${plan.jobs.length === 1 ? '' : 's'} in ${out}/runs/\n`);
  ctx.io.stdout.write(table([['id', ...keys.map(kebab)], ...plan.jobs.map((j) => [j.id, ...keys.map((k) => show((j.config as Record<string, unknown>)[k]))])]));
}

export async function runSweep(gridPath: string, f: SweepFlags, ctx: CommandContext): Promise<void> {
  const plan = readGridFile(gridPath);
  const say = (line: string) => {
    if (!f.quiet) ctx.io.stderr.write(`${line}\n`);
  };
  for (const w of plan.warnings ?? []) ctx.io.stderr.write(`rnode: warning: ${w}\n`);
  const queue = f.queue === undefined ? undefined : (await import('../sweep/queue.js')).checkQueueUrl(f.queue);
  if (queue && f.parallel !== undefined) throw new UsageError('--parallel sets the jobs at a time of a local sweep; with --queue, each rnode worker takes --concurrency jobs at a time');
  if (!queue && f.attempts !== undefined) throw new UsageError('--attempts is for --queue (the queue retries a job); a local sweep resumes its stopped jobs when you run it again');
  const out = f.out ?? join('out', `sweep-${plan.name}`);
  if (f.dryRun) return printPlan(plan, out, ctx, f.json === true);

  writeFileAtomic(
    join(out, 'sweep.json'),
    `${JSON.stringify({ name: plan.name, grid: resolve(gridPath), varying: plan.varying ?? [], jobs: plan.jobs.map((j) => ({ ...j, runDir: resolve(runDirOf(out, j.id)) })) }, null, 2)}\n`,
  );
  if (f.retryFailed) {
    for (const j of plan.jobs) {
      const runDir = runDirOf(out, j.id);
      if (readJobResult(runDir)?.status === 'failed') say(`sweep: ${j.id} failed before; its files are moved to ${startOver(runDir)} and it runs again`);
    }
  }

  const n = plan.jobs.length;
  let finished = 0;
  const onEvent = (e: SweepEvent | { type: 'retry' | 'waiting'; id: string; message?: string }) => {
    if (e.type === 'done' || e.type === 'failed' || e.type === 'skipped') finished++;
    const at = `[${finished}/${n}]`;
    if (e.type === 'waiting') say(`sweep: ${e.message}`);
    else say(`sweep ${at} ${e.type} ${e.id}${e.message ? `: ${e.message}` : ''}`);
  };
  const signals = watchSignals({
    stopping: (s) =>
      ctx.io.stderr.write(
        `\nrnode: ${s}: ${queue ? 'no longer waiting (the jobs stay queued and the workers go on)' : 'stopping the running jobs after their current step (each writes its checkpoint)'}; ${s === 'SIGINT' ? 'Ctrl-C' : 'SIGTERM'} again exits at once\n`,
      ),
    exiting: (s, code) => ctx.io.stderr.write(`\nrnode: ${s}: exiting at once (status ${code})\n`),
  });
  let results: JobResult[];
  try {
    if (queue) {
      const { runJobsOnQueue, shown } = await import('../sweep/queue.js');
      say(`sweep ${plan.name}: ${n} jobs to the queue at ${shown(queue)}, results in ${resolve(out)}`);
      results = await runJobsOnQueue(plan, { url: queue, out, attempts: f.attempts ?? 5, signal: signals.signal, onEvent });
    } else {
      const parallel = f.parallel ?? availableParallelism();
      say(`sweep ${plan.name}: ${n} jobs, ${Math.min(parallel, n)} at a time, in ${out}/runs/`);
      results = await runJobsLocally(plan.jobs, { out, parallel, signal: signals.signal, onEvent });
    }
  } finally {
    signals.dispose();
  }

  const files = writeResultsTable(out, results);
  const figure = await writeSummaryFigure(out, plan.name, results);
  if ('note' in figure) say(`sweep: ${figure.note}`);
  const failed = results.filter((r) => r.status === 'failed');
  if (f.json) {
    for (const r of results) ctx.io.stdout.write(`${JSON.stringify({ ...r, runDir: resolve(r.runDir) })}\n`);
    ctx.io.stdout.write(
      `${JSON.stringify({ type: 'sweep', name: plan.name, out: resolve(out), jobs: n, done: n - failed.length, failed: failed.length, results_jsonl: resolve(files.jsonl), results_csv: resolve(files.csv), figure: 'files' in figure ? figure.files.map((p) => resolve(p)) : null })}\n`,
    );
  } else {
    const keys = varyingKeys(results);
    const metric = results.some((r) => summaryNumber(r, 'test_bits_per_dim') !== null) ? 'test bits/dim' : 'test NLL';
    const rows = results.map((r) => {
      const v = summaryNumber(r, metric === 'test NLL' ? 'test_nll' : 'test_bits_per_dim');
      const s = summaryNumber(r, 'seconds');
      return [r.id, ...keys.map((k) => show((r.config as Record<string, unknown>)[k])), r.status, v === null ? '-' : v.toFixed(4), s === null ? '-' : s.toFixed(1)];
    });
    ctx.io.stdout.write(table([['id', ...keys.map(kebab), 'status', metric, 'seconds'], ...rows]));
    ctx.io.stdout.write(`results ${files.jsonl}, ${files.csv}${'files' in figure ? `; figure ${figure.files.join(', ')}` : ''}\n`);
    for (const r of failed) ctx.io.stdout.write(`failed ${r.id}: ${r.error ?? 'unknown error'}\n`);
  }
  if (signals.received) {
    const code = SIGNAL_EXIT[signals.received];
    throw new Interrupted(
      queue
        ? `${signals.received}: stopped waiting for the queue; run the same command again to wait for the jobs and build the table`
        : `interrupted by ${signals.received}: the running jobs stopped after their current step; run the same command again to resume them (finished jobs are skipped)`,
      code,
    );
  }
  if (failed.length > 0) {
    // a stored failure (result.json: diverged, a bad value) is final until --retry-failed; the others stopped before their end
    const stored = failed.filter((r) => readJobResult(r.runDir) !== null).length;
    const how = [
      ...(stored < failed.length ? [`running the sweep again resumes ${stored === 0 ? 'them' : `the ${failed.length - stored} that stopped before their end`}`] : []),
      ...(stored > 0 ? [`rnode sweep ${gridPath} --retry-failed runs ${stored === failed.length ? 'them' : `the ${stored} with a result`} again from the start`] : []),
    ];
    throw new Error(`${failed.length} of ${n} jobs failed (their errors are in ${files.csv}); ${how.join('; ')}`);
  }
}
