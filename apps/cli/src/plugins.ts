import { existsSync } from 'node:fs';
import { isAbsolute, resolve as resolvePath } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { resolve as resolveImport } from 'import-meta-resolve';
import { isRnodeError, list, PLUGIN_KINDS, register, registerBuiltinBackends, type PluginBase, type PluginKind, type PluginOption } from '@rnode/core';
import { registerBuiltinSolvers } from '@rnode/solvers';
import { registerBuiltinAdjoints } from '@rnode/adjoint';
import { registerBuiltinEstimators } from '@rnode/estimators';
import { registerBuiltinDatasets } from '@rnode/data';
import { messageOf, UsageError } from './errors.js';

/** Register every built-in plugin, so that names resolve and `info` lists them all. */
export function registerBuiltins(): void {
  registerBuiltinBackends();
  registerBuiltinSolvers();
  registerBuiltinAdjoints();
  registerBuiltinEstimators();
  registerBuiltinDatasets();
}

// ---------------------------------------------------------------------------
// Plugin modules (--plugin): ES modules that register plugins when imported.

/** A plugin module given with `--plugin` (or `plugins` in a config file, or recorded in a run's run.json). */
export interface PluginModule {
  /** As given. */
  spec: string;
  /** What a later run passes as `--plugin` to load it again (run.json): an absolute path, or the package name. */
  record: string;
  /** The resolved file URL (what this process and the worker threads of --threads import). */
  url: string;
  /** `kind:name` of every plugin it registered. */
  plugins: string[];
}

const loaded: PluginModule[] = [];

/** The plugin modules this process has loaded, in order. */
export function loadedPluginModules(): readonly PluginModule[] {
  return loaded;
}

/** A plugin module that cannot be loaded: `where` (the flag and module) and the `reason`. */
export class PluginModuleError extends UsageError {
  constructor(
    where: string,
    readonly reason: string,
  ) {
    super(`${where}: ${reason}`);
  }
}

const isPath = (spec: string, cwd: string) =>
  spec.startsWith('.') || isAbsolute(spec) || spec.startsWith('file:') || existsSync(resolvePath(cwd, spec));

/**
 * Where `spec` is: a file path (relative to `cwd`), a `file:` URL, or a package name resolved
 * as `import` would from a module in `cwd`. Throws a UsageError naming `flag` and `spec`.
 */
function resolveModule(spec: string, cwd: string, flag: string): { url: string; record: string } {
  if (isPath(spec, cwd)) {
    const path = spec.startsWith('file:') ? fileURLToPath(spec) : resolvePath(cwd, spec);
    if (!existsSync(path)) throw new PluginModuleError(`${flag} ${spec}`, `no such file ${path}`);
    return { url: pathToFileURL(path).href, record: path };
  }
  try {
    return { url: resolveImport(spec, pathToFileURL(resolvePath(cwd, 'rnode-plugins.mjs')).href), record: spec };
  } catch (e) {
    throw new PluginModuleError(`${flag} ${spec}`, `no such file, and no package "${spec}" that ${cwd} can import (${(e as Error).message.split('\n')[0]})`);
  }
}

const ids = (): Set<string> => new Set(PLUGIN_KINDS.flatMap((k) => list(k).map((p) => `${k}:${p.name}`)));

/**
 * Import plugin modules, in order, after the built-ins. A module registers its plugins with
 * `register` from `@rnode/core` when imported, or default-exports a plugin (or a list of
 * plugins), which is registered for it. A module that cannot be found, throws, or registers a
 * name that is taken (by a built-in or an earlier module) is a UsageError that names it.
 * Loading the same module twice does nothing.
 */
export async function loadPluginModules(specs: readonly string[], o: { cwd?: string; flag?: string } = {}): Promise<PluginModule[]> {
  const cwd = o.cwd ?? process.cwd();
  const flag = o.flag ?? '--plugin';
  registerBuiltins();
  const out: PluginModule[] = [];
  for (const spec of specs) {
    const { url, record } = resolveModule(spec, cwd, flag);
    const seen = loaded.find((m) => m.url === url);
    if (seen) {
      if (!out.includes(seen)) out.push(seen);
      continue;
    }
    const before = ids();
    const where = `${flag} ${spec}`;
    let mod: { default?: unknown };
    try {
      mod = (await import(url)) as { default?: unknown };
      if (mod.default !== undefined) register(checkDefaultExport(mod.default, where));
    } catch (e) {
      throw e instanceof PluginModuleError ? e : new PluginModuleError(where, pluginFailure(e, record));
    }
    const m: PluginModule = { spec, record, url, plugins: [...ids()].filter((id) => !before.has(id)) };
    loaded.push(m);
    out.push(m);
  }
  return out;
}

function checkDefaultExport(d: unknown, where: string): PluginOption {
  const ok = (x: unknown): boolean =>
    !x || (Array.isArray(x) ? x.every(ok) : typeof x === 'object' && typeof (x as PluginBase).kind === 'string' && typeof (x as PluginBase).name === 'string');
  if (!ok(d)) throw new PluginModuleError(where, 'the default export must be a plugin or a list of plugins (or leave it out and call register())');
  return d as PluginOption;
}

function pluginFailure(e: unknown, record: string): string {
  const msg = messageOf(e);
  if (isRnodeError(e, 'PLUGIN_CONFLICT')) {
    const id = e.source ?? '';
    const [kind, name] = id.split(':');
    const owner = loaded.find((m) => m.plugins.includes(id));
    return `it registers ${kind} "${name}", a name already taken by ${owner ? `the ${kind} of --plugin ${owner.spec}` : `the built-in ${kind}`}; pick another name`;
  }
  return `plugin module ${record} failed to load: ${msg}`;
}

/** The module (`--plugin` spec) a registered plugin came from, or undefined for a built-in. */
export function pluginOrigin(kind: PluginKind, name: string): PluginModule | undefined {
  return loaded.find((m) => m.plugins.includes(`${kind}:${name}`));
}

// ---------------------------------------------------------------------------
// Names on the command line.

export function pluginsByKind(): Record<PluginKind, PluginBase[]> {
  registerBuiltins();
  const out = {} as Record<PluginKind, PluginBase[]>;
  for (const kind of PLUGIN_KINDS) out[kind] = list(kind);
  return out;
}

/** The registered names of a kind, for error messages. */
export function registeredNames(kind: PluginKind): string[] {
  registerBuiltins();
  return list(kind).map((p) => p.name);
}

/** Check a plugin name given on the command line: an unknown one lists the registered names. */
export function checkPluginName(kind: PluginKind, name: string | undefined, flag: string): void {
  if (name === undefined) return;
  const names = registeredNames(kind);
  if (!names.includes(name)) {
    throw new UsageError(`unknown ${kind} "${name}" (${flag}); registered ${kind}s: ${names.join(', ') || '(none)'}${loaded.length ? '' : ' (a plugin? load its module with --plugin)'}`);
  }
}

/** `--backend`: a registered backend or `auto`. */
export function checkBackendName(name: string): void {
  if (name === 'auto') return;
  const names = registeredNames('backend');
  if (!names.includes(name)) throw new UsageError(`unknown backend "${name}" (--backend); registered backends: ${names.join(', ')}, or auto`);
}
