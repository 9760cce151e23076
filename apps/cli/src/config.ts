import { readFileSync } from 'node:fs';
import { parse as parseJsonAst, type AnyNode } from '@humanwhocodes/momoa';
import { z } from 'zod';
import { kineticEnergyOptionsSchema } from '@rnode/estimators';
import { odeNetConfigSchema } from '@rnode/models';
import { UsageError } from './errors.js';

/**
 * The training configuration as the CLI sees it: every flag of `rnode train`,
 * and the keys of a `--config file.json` (camelCase, or the flag's own
 * kebab-case name). Absent keys take the preset's value; flags override the file.
 */
// stepSize/rtol/atol/time use posNum, stricter than the libraries' numberOption('positive')
// (which takes Infinity, odeint's maxStep default): a config file has no use for an infinite step.
const posNum = z.number().positive().finite();
const posInt = z.number().int().positive();
const nonNegNum = z.number().nonnegative().finite();

export const runConfigSchema = z.strictObject({
  data: z.string().min(1),
  preset: z.enum(['rnode', 'ffjord']),
  solver: z.string().min(1),
  stepSize: posNum,
  rtol: posNum,
  atol: posNum,
  lambdaK: nonNegNum,
  lambdaJ: nonNegNum,
  /** Weights by registered regularizer name (`--regularizer name=weight`); lambdaK/lambdaJ are shorthands. */
  regularizers: z.record(z.string().min(1), nonNegNum),
  /** Regularizers integrated and logged with weight 0 unless weighted (`--monitor`): the paper's Figures 3–4 for unregularized runs. */
  monitor: z.array(z.string().min(1)),
  /** Plugin modules (`--plugin`), loaded first: file paths from the working directory, or package names. */
  plugins: z.array(z.string().min(1)),
  reduction: kineticEnergyOptionsSchema.shape.reduction, // the library's field (estimators)
  estimator: z.string().min(1),
  adjoint: z.string().min(1),
  iterations: posInt,
  batchSize: posInt,
  lr: posNum,
  seed: z.number().int(),
  backend: z.string().min(1),
  out: z.string().min(1),
  resume: z.string().min(1),
  evalEvery: z.number().int().nonnegative(),
  /** Save last.json every n iterations, or "epoch" (tabular and image data); 0: no iteration cadence. */
  checkpointEvery: z.union([z.number().int().nonnegative(), z.literal('epoch')]),
  /** Save last.json when this many minutes have passed since the last save; 0: no time cadence. */
  checkpointMinutes: nonNegNum,
  testSamples: posInt,
  logEvery: posInt,
  threads: posInt.max(64),
  // Stricter than odeNetConfigSchema's hidden (at least one width), so the CLI keeps its own.
  hidden: z.array(posInt).min(1),
  // The library's fields (models' odeNetConfigSchema): the same layer kinds and activation names.
  layer: odeNetConfigSchema.shape.layer,
  activation: odeNetConfigSchema.shape.activation,
  blocks: posInt,
  time: posNum,
  trainTime: z.boolean(),
  // Image data sets (mnist, fashion-mnist, cifar10)
  dataDir: z.string().min(1),
  subset: posInt,
  downsample: posInt,
  scales: posInt,
  blocksPerScale: posInt,
  width: posInt,
  epochs: posInt,
  warmup: z.number().int().nonnegative(),
  alpha: z.number().nonnegative().lt(0.5),
  /** Stop when the loss explodes: above its early level by this factor (run-shared.ts); 0 turns it off. */
  divergenceFactor: nonNegNum,
});

/** The settings of `rnode train` (flags over a config file), checked by `runConfigSchema`; what `train()` of @rnode/train takes is its own `TrainConfig`. */
export type RunConfig = Partial<z.infer<typeof runConfigSchema>>;
export const TRAIN_KEYS = Object.keys(runConfigSchema.shape) as Array<keyof RunConfig>;

const kebab = (k: string) => k.replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`);
const camel = (k: string) => k.replace(/-([a-z])/g, (_, c: string) => c.toUpperCase());

/** `--hidden 64,64,64` and `"hidden": "64,64,64"` both mean [64, 64, 64]. */
export function parseIntList(s: string): number[] {
  const parts = s.split(',').map((p) => p.trim());
  const nums = parts.map(Number);
  if (parts.length === 0 || nums.some((n, i) => parts[i] === '' || !Number.isInteger(n) || n <= 0)) {
    throw new Error(`expected a comma-separated list of positive integers (e.g. 64,64,64), got "${s}"`);
  }
  return nums;
}

function formatIssues(error: z.ZodError, where: string): string {
  const lines = error.issues.map((issue) => {
    if (issue.code === 'unrecognized_keys') {
      const keys = issue.keys.map((k) => `"${k}"`).join(', ');
      return `unknown key${issue.keys.length > 1 ? 's' : ''} ${keys}; known keys: ${TRAIN_KEYS.join(', ')}`;
    }
    const key = issue.path.map(String).join('.');
    return `key "${key}": ${issue.message}`;
  });
  return `${where}: ${lines.join('; ')}`;
}

/** Validate a config object (from a file): unknown keys are errors naming the key. */
export function parseRunConfig(raw: unknown, where: string): RunConfig {
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) {
    throw new UsageError(`${where}: the config must be a JSON object`);
  }
  const normalized: Record<string, unknown> = Object.create(null) as Record<string, unknown>;
  for (const [k, v] of Object.entries(raw)) {
    const key = camel(k);
    if (FORBIDDEN_KEYS.has(k) || FORBIDDEN_KEYS.has(key)) {
      throw new UsageError(`${where}: key "${k}" is not allowed (it would reach JavaScript's object prototype); known keys: ${TRAIN_KEYS.join(', ')}`);
    }
    if (Object.hasOwn(normalized, key)) throw new UsageError(`${where}: key "${k}" is given twice (as "${kebab(key)}" and "${key}")`);
    normalized[key] = key === 'hidden' && typeof v === 'string' ? safeList(v, where) : v;
  }
  const r = runConfigSchema.partial().safeParse(normalized);
  if (!r.success) throw new UsageError(formatIssues(r.error, where));
  return r.data as RunConfig;
}

function safeList(v: string, where: string): number[] {
  try {
    return parseIntList(v);
  } catch (e) {
    throw new UsageError(`${where}: key "hidden": ${(e as Error).message}`);
  }
}

/** Keys that name JavaScript's prototype machinery: refused wherever they appear in a config file. */
const FORBIDDEN_KEYS = new Set(['__proto__', 'constructor', 'prototype']);

/**
 * Keys given twice in one object, and prototype keys, at any depth: JSON.parse keeps the last
 * duplicate silently, and a reviver only sees the surviving value, so the text is parsed with
 * momoa (ESLint's JSON parser), whose AST keeps every member with its line.
 */
function checkJsonKeys(text: string, path: string, what: string): void {
  let ast;
  try {
    ast = parseJsonAst(text, { mode: 'json' });
  } catch {
    return; // JSON.parse reports the syntax error
  }
  const walk = (node: AnyNode, at: string): void => {
    if (node.type === 'Object') {
      const seen = new Map<string, number>();
      for (const m of node.members) {
        const name = m.name.type === 'String' ? m.name.value : m.name.name;
        const line = m.name.loc.start.line;
        const here = at ? `${at}.${name}` : name;
        if (FORBIDDEN_KEYS.has(name)) throw new UsageError(`${what} ${path}, line ${line}: key "${here}" is not allowed (it would reach JavaScript's object prototype)`);
        const first = seen.get(name);
        if (first !== undefined) throw new UsageError(`${what} ${path}, line ${line}: key "${here}" is given twice (first on line ${first}); give it once`);
        seen.set(name, line);
        walk(m.value, here);
      }
    } else if (node.type === 'Array') node.elements.forEach((e, i) => walk(e.value, `${at}[${i}]`));
  };
  walk(ast.body, '');
}

/**
 * A JSON settings file (`what`: 'config file', 'grid file'): read, parsed, and refused when a key
 * is given twice or is a prototype key; every error names the file (and the key and line).
 */
export function readJsonFile(path: string, what: string): unknown {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (e) {
    throw new UsageError(`cannot read ${what} ${path}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`);
  }
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch (e) {
    throw new UsageError(`${what} ${path} is not valid JSON: ${(e as Error).message}`);
  }
  checkJsonKeys(text, path, what);
  return raw;
}

/** Read and validate `--config file.json`. */
export function readConfigFile(path: string): RunConfig {
  return parseRunConfig(readJsonFile(path, 'config file'), `config file ${path}`);
}

/** The shorthands of `regularizers`: --lambda-k and --lambda-j. */
const SHORTHANDS = { lambdaK: 'kinetic-energy', lambdaJ: 'jacobian-frobenius' } as const;

/** lambdaK/lambdaJ folded into `regularizers` (one source of config; giving a weight twice is an error naming `where`). */
export function foldRegularizers(c: RunConfig, where: string): RunConfig {
  const { lambdaK, lambdaJ, ...rest } = c;
  const regularizers = { ...c.regularizers };
  for (const [key, name] of Object.entries(SHORTHANDS)) {
    const w = key === 'lambdaK' ? lambdaK : lambdaJ;
    if (w === undefined) continue;
    if (name in regularizers) throw new UsageError(`${where}: the weight of ${name} is given twice (${kebab(key)} and regularizers ${name}); give it once`);
    regularizers[name] = w;
  }
  return Object.keys(regularizers).length ? { ...rest, regularizers } : rest;
}

/** File values, then flags on top (only flags the user actually gave); regularizers merge by name, plugin modules add up. */
export function mergeConfig(file: RunConfig, flags: RunConfig): RunConfig {
  const out: Record<string, unknown> = { ...file };
  for (const [k, v] of Object.entries(flags)) if (v !== undefined) out[k] = v;
  if (file.regularizers && flags.regularizers) out['regularizers'] = { ...file.regularizers, ...flags.regularizers };
  if (file.plugins && flags.plugins) out['plugins'] = [...new Set([...file.plugins, ...flags.plugins])];
  return out as RunConfig;
}
