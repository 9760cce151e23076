import { Option, type Command } from 'commander';
import type { TrainConfig } from '../config.js';
import { addCommonFlags, addSolveFlags, int, intList, num } from '../flags.js';
import type { CommandContext } from '../context.js';

export interface TrainFlags extends TrainConfig {
  config?: string;
  json?: boolean;
  quiet?: boolean;
}

export function trainCommand(program: Command, ctx: CommandContext): void {
  const cmd = program
    .command('train')
    .description('train a continuous normalizing flow (RNODE or FFJORD) on a toy dataset or a tabular .csv/.npy file')
    .option('--config <file.json>', 'JSON file with any of the flags below (camelCase or kebab-case keys); flags override it')
    .option('--data <name|file>', 'toy dataset (pinwheel, 8gaussians, swissroll, circles, rings, moons, 2spirals, checkerboard) or a .csv/.npy file (default: pinwheel)')
    .addOption(new Option('--preset <name>', 'training recipe: rnode (rk4, KE + JF regularizers) or ffjord (dopri5, no regularizers) (default: rnode)').choices(['rnode', 'ffjord']));
  addSolveFlags(cmd)
    .option('--lambda-k <x>', 'weight λ_K of the kinetic-energy regularizer', num('non-negative'))
    .option('--lambda-j <x>', 'weight λ_J of the Jacobian Frobenius regularizer', num('non-negative'))
    .option('--estimator <name>', 'divergence estimator (hutchinson, hutchinson-rademacher, exact)')
    .option('--adjoint <name>', 'gradient method (backsolve, backprop)')
    .option('--iterations <n>', 'training iterations (default: 1000)', int())
    .option('--batch-size <n>', 'samples per iteration', int())
    .option('--lr <x>', 'Adam learning rate', num('positive'))
    .option('--seed <n>', 'random seed (default: 0)', int('any'))
    .option('--out <dir>', 'output directory for checkpoint.json and metrics.jsonl (default: out/<data>-<preset>)')
    .option('--resume <checkpoint>', 'continue from a checkpoint (its model and optimizer state)')
    .option('--eval-every <n>', 'evaluate on the test set every n iterations (0: only at the end)', int('non-negative'))
    .option('--test-samples <n>', 'test-set size for toy data (tabular data use its test split)', int())
    .option('--log-every <n>', 'progress line every n iterations when stderr is not a terminal', int())
    .option('--hidden <sizes>', 'hidden layer widths, e.g. 64,64,64', intList)
    .addOption(new Option('--layer <kind>', 'time-dependent layer').choices(['concat', 'concatsquash', 'ignore']))
    .option('--activation <name>', 'activation (tanh, softplus, sigmoid, elu, swish, …)')
    .option('--blocks <n>', 'number of stacked CNF blocks', int())
    .option('--time <T>', 'integration time T of each block', num('positive'))
    .option('--train-time', 'learn T')
    .option('--no-train-time', 'keep T fixed');
  addCommonFlags(cmd).addHelpText(
    'after',
    '\nExamples:\n  rnode train --data pinwheel --iterations 300\n  rnode train --data 8gaussians --preset ffjord --rtol 1e-5 --atol 1e-5\n  rnode train --data power.csv --hidden 64,64 --batch-size 1000 --out out/power\n  rnode train --config run.json --seed 3   # flags override the file',
  );
  cmd.action(async (flags: TrainFlags) => {
    const { runTrain } = await import('../actions/train.js');
    await runTrain(flags, ctx);
  });
}
