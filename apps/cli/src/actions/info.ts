// `rnode info` — the action (what the command does with its parsed flags), like every file in actions/; its commander definition is commands/info.ts.
import { PLUGIN_KINDS, probeBackends } from '@rnode/core';
import { loadPluginModules, pluginOrigin, pluginsByKind } from '../plugins.js';
import type { CommandContext } from '../context.js';
import type { InfoFlags } from '../commands/info.js';

export async function runInfo(flags: InfoFlags, ctx: CommandContext): Promise<void> {
  const modules = await loadPluginModules(flags.plugin ?? []);
  const backends = await probeBackends();
  const plugins = pluginsByKind();
  const versions = { node: process.versions.node, rnode: ctx.version };
  if (flags.json) {
    const pluginJson = Object.fromEntries(
      PLUGIN_KINDS.map((k) => [
        k,
        plugins[k].map((p) => {
          const from = pluginOrigin(k, p.name);
          return { name: p.name, ...(p.description ? { description: p.description } : {}), ...(from ? { module: from.record } : {}) };
        }),
      ]),
    );
    const moduleJson = modules.map((m) => ({ module: m.record, plugins: m.plugins }));
    ctx.io.stdout.write(`${JSON.stringify({ versions, backends, plugins: pluginJson, modules: moduleJson })}\n`);
    return;
  }
  const out: string[] = [`rnode ${ctx.version} (node ${versions.node})`, '', 'backends (default wasm; auto picks the fastest available):'];
  const width = Math.max(...backends.map((b) => b.name.length));
  for (const b of backends) {
    const state = b.available ? (b.software ? 'available (software emulation; auto skips it)' : 'available') : `unavailable: ${b.reason ?? 'not installed'}`;
    out.push(`  ${b.name.padEnd(width)}  ${state}`);
  }
  for (const kind of PLUGIN_KINDS) {
    const ps = plugins[kind];
    if (kind === 'backend') continue;
    out.push('', `${kind}s:${ps.length === 0 ? ' (none registered)' : ''}`);
    const w = Math.max(0, ...ps.map((p) => p.name.length));
    for (const p of ps) {
      const from = pluginOrigin(kind, p.name);
      out.push(`  ${p.name.padEnd(w)}${p.description ? `  ${p.description}` : ''}${from ? `  [--plugin ${from.spec}]` : ''}`);
    }
  }
  if (modules.length) out.push('', 'plugin modules:', ...modules.map((m) => `  ${m.record}: ${m.plugins.join(', ') || '(registered nothing new)'}`));
  ctx.io.stdout.write(`${out.join('\n')}\n`);
}
