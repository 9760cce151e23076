// `rnode sweep` — its commander definition only (arguments, flags, help), like every file in commands/; what the command does is actions/sweep.ts.
import type { Command } from 'commander';
import type { CommandContext } from '../context.js';
import { int } from '../flags.js';

export interface SweepFlags {
  out?: string;
  parallel?: number;
  queue?: string;
  attempts?: number;
  retryFailed?: boolean;
  dryRun?: boolean;
  json?: boolean;
  quiet?: boolean;
  debug?: boolean;
}

export function sweepCommand(program: Command, ctx: CommandContext): void {
  program
    .command('sweep')
    .description('run a grid of training runs (λ_K × λ_J × seeds × data × presets, any train setting) here or on BullMQ workers, and collect one results table and a summary figure')
    .argument('<grid.json>', 'grid file: { "name"?, "base"?: {train settings}, "grid": {"<setting>": [values…]}, "seeds"?: [n…] }; keys as in rnode train --config files')
    .option('--out <dir>', 'sweep folder: runs/<job id>/ per job, results.jsonl, results.csv, sweep.json, summary.png/.svg (default: out/sweep-<name>)')
    .option('--parallel <n>', 'jobs at a time on this machine, one rnode train process each (default: the available cores)', int())
    .option('--queue <redis://host:port>', 'queue the jobs on Redis (BullMQ) for rnode worker processes, here or on other machines, instead of running them here; --out must be a folder the workers share')
    .option('--attempts <n>', 'with --queue: tries per job (a stopped or killed run resumes from its checkpoint), retried with exponential back-off from 2 s (default: 5)', int())
    .option('--retry-failed', 'run failed jobs again from the start (their files are moved into runs/<id>/archive/); otherwise a job with a result, done or failed, is not run again')
    .option('--dry-run', 'print the jobs (id and settings) and exit')
    .option('--json', 'machine-readable output: one JSON line per job (its result), then a summary line')
    .option('--quiet', 'no progress output on stderr')
    .option('--debug', 'print stack traces of errors')
    .addHelpText(
      'after',
      '\nEach job is an ordinary rnode train run in <out>/runs/<id>/ (job.json is its config file). Running the same sweep again skips finished jobs and resumes interrupted ones from their checkpoints; Ctrl-C stops the running jobs after their current step.\n\nExamples:\n  rnode sweep grid.json --parallel 2\n  rnode sweep grid.json --dry-run\n  rnode sweep grid.json --queue redis://127.0.0.1:6379 --out /shared/sweeps/lambda   # then, on each machine: rnode worker --queue redis://…',
    )
    .action(async (grid: string, f: SweepFlags) => {
      const { runSweep } = await import('../actions/sweep.js');
      await runSweep(grid, f, ctx);
    });
}
