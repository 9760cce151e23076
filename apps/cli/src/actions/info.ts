import { PLUGIN_KINDS, probeBackends } from '@rnode/core';
import { pluginsByKind } from '../plugins.js';
import type { CommandContext } from '../context.js';

export async function runInfo(flags: { json?: boolean }, ctx: CommandContext): Promise<void> {
const backends = await probeBackends();
const plugins = pluginsByKind();
const versions = { node: process.versions.node, rnode: ctx.version };
if (flags.json) {
  const pluginJson = Object.fromEntries(
    PLUGIN_KINDS.map((k) => [k, plugins[k].map((p) => ({ name: p.name, ...(p.description ? { description: p.description } : {}) }))]),
  );
  ctx.io.stdout.write(`${JSON.stringify({ versions, backends, plugins: pluginJson })}\n`);
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
  for (const p of ps) out.push(`  ${p.name.padEnd(w)}${p.description ? `  ${p.description}` : ''}`);
}
ctx.io.stdout.write(`${out.join('\n')}\n`);
}
