// `rnode bench` — its commander definition (arguments, flags, help), like every file in commands/; it has no action file: it hands its arguments to @rnode/bench.
import { CommanderError, type Command } from 'commander';
import type { CommandContext } from '../context.js';
import { importOptional } from '../optional.js';

/**
 * `rnode bench <workload> [flags]`: the benchmark harness of @rnode/bench (an optional peer,
 * imported here only: `npm install @rnode/bench` when it is missing). Every argument after
 * `bench` goes to its `runBench` unchanged (it parses and documents its own flags: `rnode bench
 * --help`), and its exit status becomes ours.
 */
export function benchCommand(program: Command, ctx: CommandContext): void {
  program
    .command('bench')
    .description('run a benchmark workload (solvers, toy2d-rnode, toy2d-ffjord, toy2d-quality, mnist-iter) per backend; rnode bench --help')
    .argument('[args...]', 'the workload and its flags (see rnode bench --help)')
    .helpOption(false)
    .allowUnknownOption(true)
    .allowExcessArguments(true)
    .action(async (args: string[]) => {
      const { runBench } = await importOptional<typeof import('@rnode/bench')>('@rnode/bench', 'rnode bench');
      const code = await runBench(args, ctx.io);
      if (code === 0) return;
      // runBench has printed its message; 2 = usage error (silent here), 1 = a backend failed.
      if (code === 2) throw new CommanderError(2, 'rnode.bench', '');
      throw new Error('the benchmark failed (see the messages above)');
    });
}
