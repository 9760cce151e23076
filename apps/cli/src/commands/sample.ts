// `rnode sample` — its commander definition only (arguments, flags, help), like every file in commands/; what the command does is actions/sample.ts.
import type { Command } from 'commander';
import { addCommonFlags, addPluginFlag, addSolveFlags, int } from '../flags.js';
import type { CommandContext } from '../context.js';

export interface SampleFlags {
  maxSteps?: number;
  maxEvalSeconds?: number;
  quiet?: boolean;
  checkpoint: string;
  plugin?: string[];
  num?: number;
  out?: string;
  solver?: string;
  stepSize?: number;
  rtol?: number;
  atol?: number;
  seed?: number;
  backend?: string;
  json?: boolean;
}

export function sampleCommand(program: Command, ctx: CommandContext): void {
  const cmd = program
    .command('sample')
    .description('draw samples from a trained flow (base noise integrated from base to data)')
    .requiredOption('-c, --checkpoint <file>', 'a checkpoint written by rnode train (out/<run>/last.json or best.json)')
    .option('-n, --num <n>', 'number of samples (default: 1000; image checkpoints 64)', int())
    .option('--out <file>', 'samples.csv, samples.npy or samples.png (default: CSV on stdout); image checkpoints: a PNG grid of samples');
  addSolveFlags(cmd).option('--seed <n>', 'random seed (default: 0)', int('any'));
  addPluginFlag(cmd, { recorded: true });
  addCommonFlags(cmd)
    .addHelpText('after', '\nExamples:\n  rnode sample --checkpoint out/pinwheel-rnode/last.json -n 1000 --out samples.png\n  rnode sample -c out/pinwheel-rnode/last.json -n 5000 --out samples.npy')
    .action(async (f: SampleFlags) => {
      const { runSample } = await import('../actions/sample.js');
      await runSample(f, ctx);
    });
}
