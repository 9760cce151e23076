// A sweep's grid file, expanded into ordinary train configs: the cartesian product of the
// grid's lists (in key order, seeds last), each merged over `base` and checked as a config file
// is (config.ts), each with an id that is the same on every machine.
import { createHash } from 'node:crypto';
import { basename, extname } from 'node:path';
import { foldRegularizers, parseIntList, parseRunConfig, readJsonFile, runConfigSchema, TRAIN_KEYS, type RunConfig } from '../config.js';
import { UsageError } from '../errors.js';

/** One job of a sweep: a complete train config, without `out` and `resume` (the sweep owns the run folder). */
export interface SweepJob {
  /** Readable and stable: the job's grid values as a slug, then 8 hex digits of its config's hash. */
  id: string;
  config: RunConfig;
  /** The values this job takes from the grid (camelCase keys; `seed` for `seeds`), for tables and figures. */
  values?: Record<string, unknown>;
}

export interface SweepPlan {
  /** Names the sweep: the default output folder, and the prefix of its queue job ids. */
  name: string;
  jobs: SweepJob[];
  /** The keys that vary from job to job (camelCase, in grid order; `seed` last). */
  varying?: string[];
  /** Said once on stderr by `rnode sweep` (e.g. two grid points that are the same config). */
  warnings?: string[];
}

/** Keys a grid may not set: the sweep gives each job its folder (`<out>/runs/<id>`) and resumes it itself. */
const NOT_IN_A_GRID: Record<string, string> = {
  out: 'each job writes <out>/runs/<id>/ (give rnode sweep --out)',
  resume: 'a job resumes from its own checkpoint by itself when it is run again',
  force: 'a sweep never moves a run\'s files; rnode sweep --retry-failed starts failed jobs over',
};
const TOP_KEYS = ['name', 'base', 'grid', 'seeds'];
const NAME = /^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/;

const camel = (k: string) => k.replace(/-([a-z])/g, (_, c: string) => c.toUpperCase());
const kebab = (k: string) => k.replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`);
const isObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);

/** JSON with object keys sorted at every depth: the same config gives the same text on every machine. */
export function canonicalJson(v: unknown): string {
  if (Array.isArray(v)) return `[${v.map(canonicalJson).join(',')}]`;
  if (isObject(v)) {
    return `{${Object.keys(v)
      .filter((k) => v[k] !== undefined)
      .sort()
      .map((k) => `${JSON.stringify(k)}:${canonicalJson(v[k])}`)
      .join(',')}}`;
  }
  return JSON.stringify(v);
}

/** A grid value in a folder name: numbers as written, lists joined by "x", file paths by their base name. */
function slugValue(v: unknown): string {
  if (Array.isArray(v)) return v.map(slugValue).join('x');
  if (typeof v === 'string') return basename(v, extname(v));
  if (isObject(v)) return Object.entries(v).map(([k, x]) => `${k}-${slugValue(x)}`).join('.');
  return String(v);
}

/** The id of a job: `lambda-k=0.01_seed=1_3fa2b9c1` (its grid values, then the hash of its whole config). */
export function jobId(config: RunConfig, values: Record<string, unknown>): string {
  const hash = createHash('sha256').update(canonicalJson(config)).digest('hex').slice(0, 8);
  const slug = Object.entries(values)
    .map(([k, v]) => `${kebab(k)}=${slugValue(v)}`)
    .join('_')
    .replace(/[^A-Za-z0-9.=_-]+/g, '-')
    .slice(0, 64);
  return slug ? `${slug}_${hash}` : hash;
}

/** The first problem zod finds with one value of a train key. */
function checkValue(key: string, value: unknown): string | null {
  const schema = runConfigSchema.shape[key as keyof typeof runConfigSchema.shape];
  const r = schema.safeParse(value);
  return r.success ? null : (r.error.issues[0]?.message ?? 'invalid value');
}

/**
 * One key of `base` or `grid`, as its train key (camelCase): an error naming `at` when it is no
 * train key or one a grid may not set.
 */
function trainKey(k: string, at: string, where: string, seen: Map<string, string>): string {
  const key = camel(k);
  const why = Object.hasOwn(NOT_IN_A_GRID, key) ? NOT_IN_A_GRID[key] : undefined;
  if (why !== undefined) throw new UsageError(`${where}: key "${at}" is not allowed in a grid file: ${why}`);
  if (!(TRAIN_KEYS as string[]).includes(key)) {
    throw new UsageError(`${where}: unknown key "${at}"; a grid takes the keys of rnode train's config files: ${TRAIN_KEYS.filter((t) => !(t in NOT_IN_A_GRID)).join(', ')}`);
  }
  const first = seen.get(key);
  if (first !== undefined) throw new UsageError(`${where}: key "${at}" is given twice (as "${first}" too); give it once`);
  seen.set(key, at);
  return key;
}

/** A value of a train key, checked: `hidden` may be "64,64" as in config files. */
function trainValue(key: string, value: unknown, at: string, where: string): unknown {
  let v = value;
  if (key === 'hidden' && typeof v === 'string') {
    try {
      v = parseIntList(v);
    } catch (e) {
      throw new UsageError(`${where}: key "${at}": ${(e as Error).message}`);
    }
  }
  const problem = checkValue(key, v);
  if (problem !== null) throw new UsageError(`${where}: key "${at}": ${problem}`);
  return v;
}

/**
 * Expand a grid file's contents into jobs. `where` names the file in errors (e.g. "grid file
 * g.json"); every error is a UsageError naming the key, as `key "grid.lambdaK[2]"`.
 *
 * Format: `{ "name"?: string, "base"?: {train keys}, "grid": {"<train key>": [values…]},
 * "seeds"?: [integers] }`. Keys are camelCase or kebab-case, as in `rnode train --config` files.
 */
export function expandGrid(raw: unknown, where: string, defaults: { name?: string } = {}): SweepPlan {
  if (!isObject(raw)) throw new UsageError(`${where}: a grid file is a JSON object with "grid" (lists of values by train key) and optionally "base", "seeds" and "name"`);
  for (const k of Object.keys(raw)) {
    if (!TOP_KEYS.includes(k)) throw new UsageError(`${where}: unknown key "${k}"; known keys: ${TOP_KEYS.join(', ')} (train keys go in "base" or "grid")`);
  }
  const name = raw['name'] ?? defaults.name ?? 'sweep';
  if (typeof name !== 'string' || !NAME.test(name)) {
    throw new UsageError(`${where}: key "name": expected a name of letters, digits, ".", "_" or "-" (at most 64, not starting with "." or "-"), got ${JSON.stringify(name)}`);
  }

  const base: Record<string, unknown> = {};
  const baseSeen = new Map<string, string>();
  if (raw['base'] !== undefined) {
    if (!isObject(raw['base'])) throw new UsageError(`${where}: key "base": expected an object of train settings (as in a --config file)`);
    for (const [k, v] of Object.entries(raw['base'])) {
      const key = trainKey(k, `base.${k}`, where, baseSeen);
      base[key] = trainValue(key, v, `base.${k}`, where);
    }
  }

  if (raw['grid'] === undefined) throw new UsageError(`${where}: key "grid" is missing: give lists of values by train key, e.g. "grid": { "lambdaK": [0, 0.01] }`);
  if (!isObject(raw['grid'])) throw new UsageError(`${where}: key "grid": expected an object of lists by train key, e.g. { "lambdaK": [0, 0.01] }`);
  const axes: Array<{ key: string; values: unknown[] }> = [];
  const gridSeen = new Map<string, string>();
  for (const [k, list] of Object.entries(raw['grid'])) {
    const key = trainKey(k, `grid.${k}`, where, gridSeen);
    if (!Array.isArray(list) || list.length === 0) throw new UsageError(`${where}: key "grid.${k}": expected a non-empty list of values, e.g. [0, 0.01]`);
    axes.push({ key, values: list.map((v, i) => trainValue(key, v, `grid.${k}[${i}]`, where)) });
  }
  if (raw['seeds'] !== undefined) {
    const seeds = raw['seeds'];
    if (!Array.isArray(seeds) || seeds.length === 0) throw new UsageError(`${where}: key "seeds": expected a non-empty list of integers, e.g. [0, 1, 2]`);
    if (gridSeen.has('seed')) throw new UsageError(`${where}: key "seeds" and key "${gridSeen.get('seed')}" both list seeds; give one`);
    if (baseSeen.has('seed')) throw new UsageError(`${where}: key "seeds" and key "${baseSeen.get('seed')}" both set the seed; give one`);
    axes.push({ key: 'seed', values: seeds.map((v, i) => trainValue('seed', v, `seeds[${i}]`, where)) });
  }

  const varying = axes.filter((a) => a.values.length > 1 || a.key === 'seed').map((a) => a.key);
  const jobs: SweepJob[] = [];
  const byId = new Map<string, number>();
  const warnings: string[] = [];
  const total = axes.reduce((n, a) => n * a.values.length, 1);
  if (total > 100_000) throw new UsageError(`${where}: the grid has ${total} combinations; at most 100000`);
  for (let n = 0; n < total; n++) {
    // n as mixed-radix digits: the first key varies slowest, seeds fastest
    const point: Record<string, unknown> = {};
    let rest = n;
    for (let a = axes.length - 1; a >= 0; a--) {
      const axis = axes[a]!;
      point[axis.key] = axis.values[rest % axis.values.length];
      rest = Math.floor(rest / axis.values.length);
    }
    const ordered = Object.fromEntries(axes.map((a) => [a.key, point[a.key]]));
    const at = `${where}, grid point ${describePoint(ordered)}`;
    const config = parseRunConfig({ ...base, ...ordered }, at);
    foldRegularizers(config, at); // lambdaK with regularizers."kinetic-energy": given twice
    const values = Object.fromEntries(varying.map((k) => [k, ordered[k]]));
    const id = jobId(config, values);
    const first = byId.get(id);
    if (first !== undefined) {
      warnings.push(`${where}: grid point ${describePoint(ordered)} is the same run as job ${first + 1} (${id}); it runs once`);
      continue;
    }
    byId.set(id, jobs.length);
    jobs.push({ id, config, values });
  }
  return { name, jobs, varying, warnings };
}

const describePoint = (p: Record<string, unknown>) =>
  Object.entries(p)
    .map(([k, v]) => `${k}=${JSON.stringify(v)}`)
    .join(', ') || '(the base)';

/** Read and expand a grid file: its errors name the file (and the key); the sweep's name defaults to the file's. */
export function readGridFile(path: string): SweepPlan {
  const raw = readJsonFile(path, 'grid file');
  const stem = basename(path, extname(path)).replace(/[^A-Za-z0-9._-]+/g, '-').replace(/^[.-]+/, '');
  return expandGrid(raw, `grid file ${path}`, stem ? { name: stem.slice(0, 64) } : {});
}
