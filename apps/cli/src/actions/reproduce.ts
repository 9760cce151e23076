// `rnode reproduce` — the action (what the command does with its parsed flags), like every file in actions/; its commander definition is commands/reproduce.ts.
// The experiments are reproduce/experiments.ts (their runs), reproduce/report.ts (figures, data, reports);
// the runs themselves go through the sweep's local pool (sweep/local.ts): ordinary `rnode train` runs, one folder each.
import { cpus } from 'node:os';
import { resolve } from 'node:path';
import { checkBackendName } from '../plugins.js';
import { configureWatch } from '../watch.js';
import { runJobsLocally } from '../sweep/local.js';
import { EXPERIMENTS, allRuns, type Experiment, type ReproduceOptions } from '../reproduce/experiments.js';
import { readRuns } from '../reproduce/runs.js';
import { buildExperiment, writeReport, type ExperimentReport } from '../reproduce/report.js';
import type { CommandContext } from '../context.js';
import type { ReproduceFlags } from '../commands/reproduce.js';

/** The command that reproduces `experiments` with these flags (what the reports say to run). */
function commandLine(experiment: string, f: ReproduceFlags, scale: string, out: string): string {
  return [
    'rnode reproduce',
    experiment,
    `--scale ${scale}`,
    `--out ${out}`,
    ...(f.backend !== undefined ? [`--backend ${f.backend}`] : []),
    ...(f.threads !== undefined ? [`--threads ${f.threads}`] : []),
    ...(f.parallel !== undefined ? [`--parallel ${f.parallel}`] : []),
    ...(f.mnistDir !== undefined ? [`--mnist-dir ${f.mnistDir}`] : []),
    ...(f.cifarDir !== undefined ? [`--cifar-dir ${f.cifarDir}`] : []),
  ].join(' ');
}

export async function runReproduce(experiment: string, f: ReproduceFlags, ctx: CommandContext): Promise<void> {
  configureWatch(f, ctx.io);
  const scale = f.scale ?? 'small';
  const outArg = f.out ?? `reproduce/${scale}`;
  const out = resolve(outArg);
  const backend = f.backend ?? 'wasm';
  checkBackendName(backend);
  const options: ReproduceOptions = { scale, ...(f.mnistDir !== undefined ? { mnistDir: resolve(f.mnistDir) } : {}), ...(f.cifarDir !== undefined ? { cifarDir: resolve(f.cifarDir) } : {}) };
  const experiments: Experiment[] = experiment === 'all' ? [...EXPERIMENTS] : [experiment as Experiment];
  const runs = allRuns(experiments, options);
  const command = commandLine(experiment, f, scale, outArg);
  const say = (line: string) => {
    if (!f.quiet) ctx.io.stderr.write(`${line}\n`);
  };

  const extraArgs = [...(f.backend !== undefined ? ['--backend', f.backend] : []), ...(f.threads !== undefined ? ['--threads', String(f.threads)] : [])];
  if (!f.reportOnly) {
    say(`rnode reproduce ${experiment} (${scale}): ${runs.length} runs in ${out}/runs (${runs.map((r) => r.id).join(', ')})`);
    const results = await runJobsLocally(runs, {
      out,
      parallel: f.parallel ?? 1,
      extraArgs,
      onEvent: (e) => say(`  ${e.id}: ${e.type}${e.message ? ` (${e.message})` : ''}`),
    });
    // A run that stopped with a training error (diverged, a non-finite loss) is a result the report shows;
    // one that left no metrics is reported by readRuns below, naming it.
    for (const r of results) if (r.status === 'failed') say(`  ${r.id} failed: ${r.error ?? 'no message'}`);
  }

  const data = readRuns(out, runs, command);
  const reports: ExperimentReport[] = [];
  for (const e of experiments) {
    say(`  building ${e}`);
    reports.push(await buildExperiment(e, { out, runs: data, options, backend }));
  }
  const cpu = cpus();
  const machine = `${cpu.length} × ${cpu[0]?.model.trim() ?? 'unknown CPU'}, Node ${process.version}, backend ${backend}${f.threads ? `, ${f.threads} threads per run` : ''}, ${f.parallel ?? 1} run(s) at a time`;
  const report = writeReport(reports, { out, options, command, runs, machine, trainArgs: extraArgs });
  if (f.json) {
    for (const r of reports) ctx.io.stdout.write(`${JSON.stringify({ type: 'experiment', experiment: r.experiment, verdict: r.verdict, why: r.why, files: r.files })}\n`);
    ctx.io.stdout.write(`${JSON.stringify({ type: 'report', report })}\n`);
  } else {
    ctx.io.stdout.write(reports.map((r) => `${r.experiment.padEnd(7)} ${r.verdict.padEnd(15)} ${r.why}\n`).join(''));
    ctx.io.stdout.write(`report: ${report}\n`);
  }
}
