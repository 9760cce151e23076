import { readFileSync } from 'node:fs';
import { Command, CommanderError } from 'commander';
import { exitCodeOf, messageOf } from './errors.js';
import { Interrupted } from './interrupt.js';
import { processIo, type Io } from './io.js';
import type { CommandContext } from './context.js';
import { infoCommand } from './commands/info.js';
import { trainCommand } from './commands/train.js';
import { evalCommand } from './commands/eval.js';
import { sampleCommand } from './commands/sample.js';
import { plotCommand } from './commands/plot.js';
import { summaryCommand } from './commands/summary.js';
import { downloadCommand } from './commands/download.js';
import { benchCommand } from './commands/bench.js';
import { playgroundCommand } from './commands/playground.js';
import { sweepCommand } from './commands/sweep.js';
import { workerCommand } from './commands/worker.js';
import { reproduceCommand } from './commands/reproduce.js';

function readVersion(): string {
  try {
    const pkg = JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8')) as { version?: string };
    return pkg.version ?? '0.0.0';
  } catch {
    return '0.0.0';
  }
}

export function createProgram(ctx: CommandContext): Command {
  const program = new Command('rnode')
    .description('Train, evaluate, sample and plot FFJORD / RNODE continuous normalizing flows (TensorFlow.js)')
    .version(ctx.version, '-v, --version')
    .configureOutput({
      writeOut: (s) => ctx.io.stdout.write(s),
      writeErr: (s) => ctx.io.stderr.write(s),
      outputError: (s, write) => write(`rnode: ${s}`),
    })
    .exitOverride()
    .showHelpAfterError('(add --help for usage)')
    .showSuggestionAfterError(true)
    .allowExcessArguments(false);
  trainCommand(program, ctx);
  evalCommand(program, ctx);
  sampleCommand(program, ctx);
  plotCommand(program, ctx);
  summaryCommand(program, ctx);
  downloadCommand(program, ctx);
  benchCommand(program, ctx);
  playgroundCommand(program, ctx);
  sweepCommand(program, ctx);
  workerCommand(program, ctx);
  reproduceCommand(program, ctx);
  infoCommand(program, ctx);
  program.addHelpText(
    'after',
    '\nExamples:\n  rnode train --data pinwheel --iterations 300\n  rnode eval --checkpoint out/pinwheel-rnode/last.json\n  rnode sample --checkpoint out/pinwheel-rnode/last.json -n 1000 --out samples.png\n  rnode train --data mnist --subset 2000 --downsample 2 --epochs 5\n  rnode summary --data mnist\n  rnode download mnist --dir data/mnist\n  rnode sweep grid.json --parallel 2\n  rnode reproduce all --scale tiny --out repro\n  rnode info',
  );
  return program;
}

/**
 * Run the CLI on `argv` (the arguments after `rnode`). Resolves to the exit
 * status: 0, 2 for usage errors, 1 for errors while running, 130 / 143 after SIGINT / SIGTERM
 * stopped `train` (it saved a checkpoint first). Never exits the process, except on a second
 * signal during `train` (handlers are installed only while it runs).
 */
export async function main(argv: readonly string[], io: Io = processIo()): Promise<number> {
  const ctx: CommandContext = { io, version: readVersion(), argv };
  const debug = argv.includes('--debug');
  const program = createProgram(ctx);
  try {
    if (argv.length === 0) {
      program.outputHelp({ error: true });
      return 2;
    }
    await program.parseAsync([...argv], { from: 'user' });
    return 0;
  } catch (e) {
    if (e instanceof CommanderError) {
      // commander has already printed its message (which names the flag) or the help
      return e.exitCode === 0 ? 0 : 2;
    }
    if (e instanceof Interrupted) {
      // SIGINT/SIGTERM: not an error; the message says how to resume
      io.stderr.write(`rnode: ${e.message}\n`);
      return e.exitCode;
    }
    const code = exitCodeOf(e);
    io.stderr.write(`rnode: error: ${messageOf(e)}\n`);
    if (debug && e instanceof Error && e.stack) io.stderr.write(`${e.stack}\n`);
    else if (code === 1) io.stderr.write('(run with --debug for the stack trace)\n');
    return code;
  }
}
