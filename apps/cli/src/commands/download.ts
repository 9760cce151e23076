// `rnode download` — its commander definition only (arguments, flags, help), like every file in commands/; what the command does is actions/download.ts.
import { Argument, type Command } from 'commander';
import type { CommandContext } from '../context.js';
import { int, num } from '../flags.js';

export interface DownloadFlags {
  dir?: string;
  baseUrl?: string;
  timeout?: number;
  retries?: number;
  json?: boolean;
  quiet?: boolean;
  debug?: boolean;
}

export function downloadCommand(program: Command, ctx: CommandContext): void {
  program
    .command('download')
    .description('download an image data set (verified against its published md5; an interrupted download resumes)')
    .addArgument(new Argument('<dataset>', 'data set').choices(['mnist', 'fashion-mnist', 'cifar10']))
    .option('--dir <dir>', 'directory for the files (default: data/<dataset>)')
    .option('--base-url <url>', 'a mirror (ending in /) instead of the canonical source')
    .option('--timeout <s>', 'seconds to wait for the server to answer, and for the next byte of a file, before the attempt is retried (default: 30)', num('positive'))
    .option('--retries <n>', 'further attempts after a timeout or a network error, 1 s, 2 s, 4 s … apart, each resuming the partial file (default: 3)', int('non-negative'))
    .option('--json', 'machine-readable output: one JSON line on stdout')
    .option('--quiet', 'no progress output on stderr')
    .option('--debug', 'print stack traces of errors')
    .addHelpText('after', '\nExamples:\n  rnode download mnist --dir data/mnist && rnode train --data mnist --data-dir data/mnist\n  rnode download cifar10 --dir data/cifar10')
    .action(async (dataset: 'mnist' | 'fashion-mnist' | 'cifar10', f: DownloadFlags) => {
      const { runDownload } = await import('../actions/download.js');
      await runDownload(dataset, f, ctx);
    });
}
