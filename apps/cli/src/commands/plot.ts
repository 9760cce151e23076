// `rnode plot` — its commander definition only (arguments, flags, help), like every file in commands/; what the command does is actions/plot.ts.
import type { Command } from 'commander';
import { addBudgetFlags, addCommonFlags, addPluginFlag, int } from '../flags.js';
import type { CommandContext } from '../context.js';

export interface PlotFlags {
  maxSteps?: number;
  maxEvalSeconds?: number;
  quiet?: boolean;
  checkpoint: string;
  plugin?: string[];
  out?: string;
  compare?: string;
  data?: string;
  grid?: number;
  samples?: number;
  particles?: number;
  seed?: number;
  backend?: string;
  json?: boolean;
  svg?: boolean;
}

export function plotCommand(program: Command, ctx: CommandContext): void {
  const cmd = program
    .command('plot')
    .description('PNG figures of a trained 2-D flow: density heat map beside the data, samples, and particle trajectories from data to base (with --compare: side by side, as the paper\'s Figure 1)')
    .requiredOption('-c, --checkpoint <file>', 'a checkpoint written by rnode train (out/<run>/last.json or best.json)')
    .option('--out <dir>', 'output directory (default: the checkpoint\'s directory)')
    .option('--compare <checkpoint>', 'a second checkpoint (e.g. FFJORD) whose trajectories are drawn beside the first')
    .option('--data <name|file>', "data to draw beside the density (default: the checkpoint's data)")
    .option('--grid <n>', 'density grid resolution per axis (default: 100)', int())
    .option('--samples <n>', 'number of samples to draw (default: 2000)', int())
    .option('--particles <n>', 'number of trajectories (default: 200)', int())
    .option('--seed <n>', 'random seed (default: 0)', int('any'))
    .option('--svg', 'also write each figure as SVG (density.svg, …)');
  addPluginFlag(cmd, { recorded: true });
  addCommonFlags(addBudgetFlags(cmd))
    .addHelpText('after', '\nExample:\n  rnode plot --checkpoint out/pinwheel-rnode/last.json --compare out/pinwheel-ffjord/last.json --out figures')
    .action(async (f: PlotFlags) => {
      const { runPlot } = await import('../actions/plot.js');
      await runPlot(f, ctx);
    });
}
