// `rnode info` — its commander definition only (arguments, flags, help), like every file in commands/; what the command does is actions/info.ts.
import type { Command } from 'commander';
import { addCommonFlags, addPluginFlag } from '../flags.js';
import type { CommandContext } from '../context.js';

export interface InfoFlags {
  plugin?: string[];
  json?: boolean;
}

export function infoCommand(program: Command, ctx: CommandContext): void {
  const cmd = program
    .command('info')
    .description('list the compute backends (available or why not) and the registered plugins of every kind, built-in or from --plugin modules');
  addPluginFlag(cmd);
  addCommonFlags(cmd, { backend: false })
    .addHelpText('after', '\nExamples:\n  rnode info\n  rnode info --plugin ./my-plugins.mjs --json')
    .action(async (flags: InfoFlags) => {
      const { runInfo } = await import('../actions/info.js');
      await runInfo(flags, ctx);
    });
}
