import type { Command } from 'commander';
import { addCommonFlags } from '../flags.js';
import type { CommandContext } from '../context.js';

export function infoCommand(program: Command, ctx: CommandContext): void {
  const cmd = program
    .command('info')
    .description('list the compute backends (available or why not) and the registered plugins of every kind');
  addCommonFlags(cmd, { backend: false }).action(async (flags: { json?: boolean }) => {
    const { runInfo } = await import('../actions/info.js');
    await runInfo(flags, ctx);
  });
}
