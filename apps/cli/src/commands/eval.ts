// `rnode eval` — its commander definition only (arguments, flags, help), like every file in commands/; what the command does is actions/eval.ts.
import type { Command } from 'commander';
import { addCommonFlags, addPluginFlag, addSolveFlags, int } from '../flags.js';
import type { CommandContext } from '../context.js';

export interface EvalFlags {
  maxSteps?: number;
  maxEvalSeconds?: number;
  quiet?: boolean;
  checkpoint: string;
  plugin?: string[];
  data?: string;
  testSamples?: number;
  solver?: string;
  stepSize?: number;
  rtol?: number;
  atol?: number;
  seed?: number;
  backend?: string;
  json?: boolean;
}

export function evalCommand(program: Command, ctx: CommandContext): void {
  const cmd = program
    .command('eval')
    .description("negative log-likelihood (nats) of a trained flow on test data, with the test solve's NFE")
    .requiredOption('-c, --checkpoint <file>', 'a checkpoint written by rnode train (out/<run>/last.json or best.json)')
    .option('--data <name|file>', "test data: a toy dataset or a .csv/.npy file (default: the checkpoint's data and test split)")
    .option('--test-samples <n>', 'number of test samples for toy data', int());
  addSolveFlags(cmd).option('--seed <n>', 'random seed (default: 0)', int('any'));
  addPluginFlag(cmd, { recorded: true });
  addCommonFlags(cmd)
    .addHelpText('after', '\nExample:\n  rnode eval --checkpoint out/pinwheel-rnode/last.json --solver dopri5 --rtol 1e-5 --atol 1e-5')
    .action(async (f: EvalFlags) => {
      const { runEval } = await import('../actions/eval.js');
      await runEval(f, ctx);
    });
}
