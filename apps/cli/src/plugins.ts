import { list, PLUGIN_KINDS, registerBuiltinBackends, type PluginBase, type PluginKind } from '@rnode/core';
import { registerBuiltinSolvers } from '@rnode/solvers';
import { registerBuiltinAdjoints } from '@rnode/adjoint';
import { registerBuiltinEstimators } from '@rnode/estimators';
import { registerBuiltinDatasets } from '@rnode/data';
import { UsageError } from './errors.js';

/** Register every built-in plugin, so that names resolve and `info` lists them all. */
export function registerBuiltins(): void {
  registerBuiltinBackends();
  registerBuiltinSolvers();
  registerBuiltinAdjoints();
  registerBuiltinEstimators();
  registerBuiltinDatasets();
}

export function pluginsByKind(): Record<PluginKind, PluginBase[]> {
  registerBuiltins();
  const out = {} as Record<PluginKind, PluginBase[]>;
  for (const kind of PLUGIN_KINDS) out[kind] = list(kind);
  return out;
}

/** Check a plugin name given on the command line: an unknown one lists the registered names. */
export function checkPluginName(kind: PluginKind, name: string | undefined, flag: string): void {
  if (name === undefined) return;
  registerBuiltins();
  const names = list(kind).map((p) => p.name);
  if (!names.includes(name)) {
    throw new UsageError(`unknown ${kind} "${name}" (${flag}); registered ${kind}s: ${names.join(', ') || '(none)'}`);
  }
}

/** `--backend`: a registered backend or `auto`. */
export function checkBackendName(name: string): void {
  if (name === 'auto') return;
  registerBuiltins();
  const names = list('backend').map((p) => p.name);
  if (!names.includes(name)) throw new UsageError(`unknown backend "${name}" (--backend); registered backends: ${names.join(', ')}, or auto`);
}
