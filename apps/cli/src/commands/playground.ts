// `rnode playground` — its commander definition only (arguments, flags, help), like every file in commands/; what the command does is actions/playground.ts.
import { InvalidArgumentError, type Command } from 'commander';
import type { CommandContext } from '../context.js';

export interface PlaygroundFlags {
  port: number;
  host: string;
}

function port(v: string): number {
  const n = Number(v);
  if (!Number.isInteger(n) || n < 0 || n > 65535) throw new InvalidArgumentError('a port number 0-65535 (0: any free port)');
  return n;
}

/** `rnode playground`: serve the browser playground shipped in this package on localhost, until Ctrl-C. */
export function playgroundCommand(program: Command, ctx: CommandContext): void {
  program
    .command('playground')
    .description('serve the browser playground (train RNODE and FFJORD side by side on WebGPU or wasm) on localhost and print its URL; Ctrl-C stops it')
    .option('--port <n>', 'port to listen on (0: any free port)', port, 5180)
    .option('--host <address>', 'address to listen on', '127.0.0.1')
    .addHelpText('after', '\nExamples:\n  rnode playground\n  rnode playground --port 8080')
    .action(async (flags: PlaygroundFlags) => {
      const { runPlayground } = await import('../actions/playground.js');
      await runPlayground(flags, ctx);
    });
}
