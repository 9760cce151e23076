// `rnode worker` — its commander definition only (arguments, flags, help), like every file in commands/; what the command does is actions/worker.ts.
import type { Command } from 'commander';
import type { CommandContext } from '../context.js';
import { int, num } from '../flags.js';

export interface WorkerFlags {
  queue: string;
  concurrency?: number;
  lockSeconds?: number;
  quiet?: boolean;
  debug?: boolean;
}

export function workerCommand(program: Command, ctx: CommandContext): void {
  program
    .command('worker')
    .description('take rnode sweep jobs from a Redis (BullMQ) queue and run them, until SIGINT/SIGTERM')
    .requiredOption('--queue <redis://host:port>', 'the Redis of the sweeps (as given to rnode sweep --queue)')
    .option('--concurrency <n>', 'jobs at a time, one rnode train process each (default: 1)', int())
    .option('--lock-seconds <s>', 'BullMQ lock of a running job, renewed while this worker lives; a dead worker\'s job goes back to the queue after about twice this (default: 30)', num('positive'))
    .option('--quiet', 'no log lines on stderr')
    .option('--debug', 'print stack traces of errors')
    .addHelpText(
      'after',
      '\nJobs run in the folders rnode sweep named (--out): share that folder between the machines (e.g. NFS). SIGINT/SIGTERM stops the running jobs after their current step (each writes its checkpoint; the queue retries it, resuming) and exits 0.\n\nExamples:\n  rnode worker --queue redis://127.0.0.1:6379\n  rnode worker --queue redis://queue.lan:6379 --concurrency 2',
    )
    .action(async (f: WorkerFlags) => {
      const { runWorker } = await import('../actions/worker.js');
      await runWorker(f, ctx);
    });
}
