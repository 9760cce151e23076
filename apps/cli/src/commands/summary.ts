// `rnode summary` — its commander definition only (arguments, flags, help), like every file in commands/; what the command does is actions/summary.ts.
import { Option, type Command } from 'commander';
import { addCommonFlags, int, intList } from '../flags.js';
import type { CommandContext } from '../context.js';

export interface SummaryFlags {
  data: string;
  downsample?: number;
  scales?: number;
  blocksPerScale?: number;
  width?: number;
  hidden?: number[];
  json?: boolean;
}

export function summaryCommand(program: Command, ctx: CommandContext): void {
  const cmd = program
    .command('summary')
    .description('print the blocks and parameter count of the image flow that rnode train builds for a data set')
    .addOption(new Option('--data <name>', 'image data set').choices(['mnist', 'fashion-mnist', 'cifar10']).makeOptionMandatory())
    .option('--downsample <k>', 'average-pool the input by k', int())
    .option('--scales <n>', 'number of scales (default: MNIST 3, CIFAR-10 4)', int())
    .option('--blocks-per-scale <n>', 'CNF blocks before and after each squeeze (default: 2)', int())
    .option('--width <n>', 'hidden conv width, 3 layers (default: 64)', int())
    .option('--hidden <sizes>', 'hidden conv widths (default: 64,64,64)', intList);
  addCommonFlags(cmd, { backend: false })
    .addHelpText('after', '\nExamples:\n  rnode summary --data mnist          # the paper model: 10 blocks, 800,636 parameters\n  rnode summary --data cifar10 --json')
    .action(async (f: SummaryFlags) => {
      const { runSummary } = await import('../actions/summary.js');
      await runSummary(f, ctx);
    });
}
