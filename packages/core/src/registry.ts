import { RnodeError } from './errors.js';

/**
 * The plugin registry. Every kind of plugin registers here, built-ins exactly as
 * user plugins do. Public APIs accept a plugin object or its registered name.
 *
 * Augment the `*Registry` interfaces to give registered names types:
 *
 * ```ts
 * declare module '@rnode/core' { interface SolverRegistry { ralston2: true } }
 * ```
 */
// eslint-disable-next-line @typescript-eslint/no-empty-object-type
export interface BackendRegistry {}
// eslint-disable-next-line @typescript-eslint/no-empty-object-type
export interface SolverRegistry {}
// eslint-disable-next-line @typescript-eslint/no-empty-object-type
export interface ControllerRegistry {}
// eslint-disable-next-line @typescript-eslint/no-empty-object-type
export interface AdjointRegistry {}
// eslint-disable-next-line @typescript-eslint/no-empty-object-type
export interface EstimatorRegistry {}
// eslint-disable-next-line @typescript-eslint/no-empty-object-type
export interface RegularizerRegistry {}
// eslint-disable-next-line @typescript-eslint/no-empty-object-type
export interface DatasetRegistry {}

export type PluginKind =
  | 'backend'
  | 'solver'
  | 'controller'
  | 'adjoint'
  | 'estimator'
  | 'regularizer'
  | 'dataset';

export const PLUGIN_KINDS: readonly PluginKind[] = [
  'backend',
  'solver',
  'controller',
  'adjoint',
  'estimator',
  'regularizer',
  'dataset',
];

export interface PluginBase<K extends PluginKind = PluginKind, N extends string = string> {
  readonly kind: K;
  /** Stable lowercase kebab-case name, unique within its kind. */
  readonly name: N;
  readonly version?: string;
  readonly description?: string;
}

/** Anything a plugin author hands to `register`: presets may be nested arrays; falsy items are skipped. */
export type PluginOption = PluginBase | false | null | undefined | readonly PluginOption[];

/** Names known (by module augmentation) for each kind; plain strings are accepted too. */
export interface KnownNames {
  backend: keyof BackendRegistry & string;
  solver: keyof SolverRegistry & string;
  controller: keyof ControllerRegistry & string;
  adjoint: keyof AdjointRegistry & string;
  estimator: keyof EstimatorRegistry & string;
  regularizer: keyof RegularizerRegistry & string;
  dataset: keyof DatasetRegistry & string;
}

/**
 * A plugin object of kind K, or a registered name. Names are checked by the compiler: the
 * built-in ones are declared by their packages, and a user's plugin adds its own name by
 * declaration merging, so a typo (`'dopri'`, `'kinetic-enrgy'`) is a type error:
 *
 * ```ts no-run
 * declare module '@rnode/core' { interface SolverRegistry { ralston2: true } }
 * ```
 *
 * A name known only at run time (a CLI flag, a config file) is checked by `resolve`, which
 * lists the registered names; cast it (`name as SolverRef`) to pass it on.
 */
export type PluginRef<P extends PluginBase> = P | KnownNames[P['kind']];

const KEY = Symbol.for('@rnode/core/registry@1');
type Store = Map<string, PluginBase>;

function store(): Store {
  const g = globalThis as unknown as Record<symbol, Store | undefined>;
  return (g[KEY] ??= new Map());
}

const NAME_RE = /^[a-z0-9][a-z0-9._-]*$/;

function validate(p: PluginBase): void {
  if (typeof p !== 'object' || p === null) {
    throw new RnodeError('INVALID_PLUGIN', `a plugin must be an object, got ${typeof p}`);
  }
  if (!PLUGIN_KINDS.includes(p.kind)) {
    throw new RnodeError(
      'INVALID_PLUGIN',
      `plugin "${String(p.name)}" has unknown kind ${JSON.stringify(p.kind)}; kinds are ${PLUGIN_KINDS.join(', ')}`,
    );
  }
  if (typeof p.name !== 'string' || !NAME_RE.test(p.name)) {
    throw new RnodeError(
      'INVALID_PLUGIN',
      `${p.kind} plugin name ${JSON.stringify(p.name)} is not a lowercase kebab-case name`,
    );
  }
}

/**
 * Register plugins. Re-registering the same object does nothing; a different
 * object under a taken `kind:name` throws PLUGIN_CONFLICT.
 */
export function register(...items: PluginOption[]): void {
  for (const item of items) {
    if (!item) continue;
    if (Array.isArray(item)) {
      register(...(item as PluginOption[]));
      continue;
    }
    const p = item as PluginBase;
    validate(p);
    const id = `${p.kind}:${p.name}`;
    const prev = store().get(id);
    if (prev && prev !== p) {
      throw new RnodeError(
        'PLUGIN_CONFLICT',
        `${id} is already registered by a different plugin object; pick another name or unregister the old one first`,
        { source: id },
      );
    }
    store().set(id, p);
  }
}

/** Remove a plugin (by object or name). Returns whether it was registered. */
export function unregister(kind: PluginKind, ref: string | PluginBase): boolean {
  const name = typeof ref === 'string' ? ref : ref.name;
  const id = `${kind}:${name}`;
  const prev = store().get(id);
  if (!prev || (typeof ref !== 'string' && prev !== ref)) return false;
  return store().delete(id);
}

/** The registered plugins of one kind, in registration order. */
export function list<P extends PluginBase = PluginBase>(kind: PluginKind): P[] {
  const out: P[] = [];
  for (const p of store().values()) if (p.kind === kind) out.push(p as P);
  return out;
}

export function has(kind: PluginKind, name: string): boolean {
  return store().has(`${kind}:${name}`);
}

/**
 * Turn a plugin reference into the plugin: objects pass through (after a kind
 * check), names are looked up. An unknown name lists the registered ones.
 */
export function resolve<P extends PluginBase>(kind: P['kind'], ref: PluginRef<P>, option?: string): P {
  if (typeof ref === 'object' && ref !== null) {
    const p = ref as P;
    if (p.kind !== kind) {
      throw new RnodeError(
        'INVALID_PLUGIN',
        `expected a ${kind} plugin${option ? ` for option "${option}"` : ''}, got ${p.kind} plugin "${p.name}"`,
        { source: `${p.kind}:${p.name}` },
      );
    }
    return p;
  }
  if (typeof ref !== 'string') {
    throw new RnodeError(
      'INVALID_OPTIONS',
      `expected a ${kind} plugin or its name${option ? ` for option "${option}"` : ''}, got ${typeof ref}`,
      option ? { source: `option:${option}` } : {},
    );
  }
  const found = store().get(`${kind}:${ref}`);
  if (!found) {
    const names = list(kind).map((p) => p.name);
    throw new RnodeError(
      'PLUGIN_NOT_FOUND',
      `unknown ${kind} "${ref}"${option ? ` (option "${option}")` : ''}; registered ${kind}s: ${names.length ? names.join(', ') : '(none)'}`,
      { source: `${kind}:${ref}` },
    );
  }
  return found as P;
}
