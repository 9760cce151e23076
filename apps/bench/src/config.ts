/**
 * Command line of the bench: `rnode-bench <workload> [flags]`. Resolves the flags against the
 * workload's spec values (WORKLOADS.md): any difference makes the run `spec: false` and is listed
 * in `modified`. Everything here is checked in the parent process, before any backend starts.
 */
import { isRnodeError } from '@rnode/core';
import { checkWorkers } from './runner.js';
import type { ParamDef, Workload } from './types.js';
import { WORKLOADS, findWorkload } from './workloads/index.js';

/** The backends the harness knows (the built-in backend plugins of @rnode/core). */
export const KNOWN_BACKENDS = ['cpu', 'wasm', 'webgpu', 'tensorflow', 'tensorflow-gpu'] as const;
/** The best CPU backend available everywhere. */
export const DEFAULT_BACKENDS = ['wasm'];
export const DEFAULT_OUT = 'bench-out';

/** A mistake on the command line: exit status 2. */
export class UsageError extends Error {
  override readonly name = 'UsageError';
}

export interface BenchConfig {
  workload: Workload;
  params: Record<string, number>;
  backends: string[];
  json: boolean;
  out: string;
  workers: number;
  spec: boolean;
  /** One entry per setting that differs from the spec, e.g. "iterations 2 (spec 50)". */
  modified: string[];
}

export type ParsedArgs = { help: true; workload?: Workload } | ({ help: false } & BenchConfig);

const GLOBAL_FLAGS = ['backends', 'json', 'help', 'out', 'workers'] as const;
const BOOLEAN_FLAGS = new Set(['json', 'help']);

function allParamFlags(): Map<string, Workload[]> {
  const m = new Map<string, Workload[]>();
  for (const w of WORKLOADS) {
    for (const p of w.params) {
      for (const f of [p.flag, ...(p.aliases ?? [])]) m.set(f, [...(m.get(f) ?? []), w]);
    }
  }
  return m;
}

function paramFor(w: Workload, flag: string): ParamDef | undefined {
  return w.params.find((p) => p.flag === flag || (p.aliases ?? []).includes(flag));
}

function flagsOf(w: Workload): string[] {
  return [
    ...w.params.map((p) => `--${p.flag}`),
    '--backends',
    ...(w.workers ? ['--workers'] : []),
    ...(w.writesFiles ? ['--out'] : []),
    '--json',
  ];
}

function parseNumber(raw: string, p: ParamDef): number {
  const v = raw.trim() === '' ? Number.NaN : Number(raw);
  const bad = (what: string) => new UsageError(`--${p.flag} must be ${what}, got "${raw}"`);
  if (!Number.isFinite(v)) throw bad('a number');
  if (p.kind === 'int>0' && !(Number.isInteger(v) && v > 0)) throw bad('a positive integer');
  if (p.kind === 'int>=0' && !(Number.isInteger(v) && v >= 0)) throw bad('a non-negative integer');
  if (p.kind === 'positive' && !(v > 0)) throw bad('a positive number');
  return v;
}

/** Parse and check the arguments (without the program name). Throws UsageError. */
export function parseArgs(argv: readonly string[]): ParsedArgs {
  const positionals: string[] = [];
  const given = new Map<string, { raw: string; as: string }>();
  const known = allParamFlags();
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    if (a === '-h') {
      given.set('help', { raw: 'true', as: '-h' });
      continue;
    }
    if (!a.startsWith('--') || a === '--') {
      if (a.startsWith('-') && a !== '-') throw new UsageError(`unknown flag "${a}" (flags start with --; see --help)`);
      positionals.push(a);
      continue;
    }
    const eq = a.indexOf('=');
    const name = eq >= 0 ? a.slice(2, eq) : a.slice(2);
    if (!(GLOBAL_FLAGS as readonly string[]).includes(name) && !known.has(name)) {
      throw new UsageError(`unknown flag "--${name}"; flags: ${[...new Set([...GLOBAL_FLAGS, ...known.keys()])].map((f) => `--${f}`).join(', ')}`);
    }
    let raw: string;
    if (BOOLEAN_FLAGS.has(name)) {
      if (eq >= 0) throw new UsageError(`--${name} takes no value`);
      raw = 'true';
    } else if (eq >= 0) raw = a.slice(eq + 1);
    else {
      const next = argv[i + 1];
      if (next === undefined || (next.startsWith('--') && next.length > 2)) throw new UsageError(`--${name} needs a value`);
      raw = next;
      i++;
    }
    if (given.has(name)) throw new UsageError(`--${name} is given twice`);
    given.set(name, { raw, as: `--${name}` });
  }

  const names = WORKLOADS.map((w) => w.name).join(', ');
  if (positionals.length > 1) throw new UsageError(`one workload at a time; got ${positionals.map((p) => `"${p}"`).join(', ')}`);
  const wname = positionals[0];
  const workload = wname === undefined ? undefined : findWorkload(wname);
  if (wname !== undefined && !workload) throw new UsageError(`unknown workload "${wname}"; workloads: ${names}`);
  if (given.has('help')) return workload ? { help: true, workload } : { help: true };
  if (!workload) throw new UsageError(`no workload given; workloads: ${names} (see --help)`);

  const params: Record<string, number> = {};
  const modified: string[] = [];
  for (const p of workload.params) params[p.key] = p.spec;
  let backends = DEFAULT_BACKENDS;
  let out = DEFAULT_OUT;
  let workers = 1;
  for (const [name, { raw, as }] of given) {
    if (name === 'json') continue;
    if (name === 'backends') {
      const list = raw.split(',').map((s) => s.trim()).filter(Boolean);
      if (list.length === 0) throw new UsageError('--backends needs a comma-separated list of backends');
      for (const b of list) {
        if (!(KNOWN_BACKENDS as readonly string[]).includes(b)) throw new UsageError(`unknown backend "${b}"; backends: ${KNOWN_BACKENDS.join(', ')}`);
      }
      backends = [...new Set(list)];
      continue;
    }
    if (name === 'out') {
      if (!workload.writesFiles) throw new UsageError(`--out does not apply to workload ${workload.name} (it writes no files); its flags: ${flagsOf(workload).join(', ')}`);
      if (raw === '') throw new UsageError('--out needs a directory');
      out = raw;
      continue;
    }
    if (name === 'workers') {
      if (!workload.workers) throw new UsageError(`--workers does not apply to workload ${workload.name}; its flags: ${flagsOf(workload).join(', ')}`);
      const n = Number(raw);
      if (!Number.isInteger(n) || n < 1) throw new UsageError(`--workers must be a positive integer, got "${raw}"`);
      try {
        checkWorkers(n);
      } catch (e) {
        throw new UsageError(isRnodeError(e) ? e.message.replace(/^\[rnode\]\s*(\[[^\]]*\]\s*)?/, '') : String(e));
      }
      workers = n;
      continue;
    }
    const p = paramFor(workload, name);
    if (!p) throw new UsageError(`${as} does not apply to workload ${workload.name}; its flags: ${flagsOf(workload).join(', ')}`);
    const v = parseNumber(raw, { ...p, flag: name });
    params[p.key] = v;
    if (v !== p.spec) modified.push(`${p.flag} ${v} (spec ${p.spec})`);
  }
  return { help: false, workload, params, backends, json: given.has('json'), out, workers, spec: modified.length === 0, modified };
}

const num = (v: number): string => (v !== 0 && Math.abs(v) < 1e-3 ? v.toExponential() : String(v));

/** The --help text: workloads, their flags with the spec values, the common flags. */
export function helpText(only?: Workload): string {
  const lines = [
    'Usage: rnode-bench <workload> [flags]      (also: rnode bench <workload> [flags])',
    '',
    'Runs a benchmark workload once per backend, each backend in its own child process (peak RSS',
    'and crashes are per backend). Workloads named in shared/bench/WORKLOADS.md run exactly that',
    'configuration; any flag that changes it marks the result "spec": false and prints "modified: …".',
    '',
    'Workloads:',
  ];
  const ws = only ? [only] : WORKLOADS;
  for (const w of WORKLOADS) lines.push(`  ${w.name.padEnd(15)} ${w.summary}`);
  lines.push('', 'Flags:');
  lines.push(`  --backends <list>   comma-separated: ${KNOWN_BACKENDS.join(', ')} (default ${DEFAULT_BACKENDS.join(',')}); unavailable ones are skipped with the reason`);
  lines.push('  --json              one JSON object per line per backend on stdout (progress and warnings on stderr)');
  lines.push('  --workers <n>       toy2d workloads, mnist-iter and cifar-iter: threads of a data-parallel step (default 1; 2 uses both cores here: this thread + 1 worker thread, same training up to float32 rounding)');
  lines.push(`  --out <dir>         toy2d-quality: where the chart (SVG, PNG) and the rows (JSON, CSV) go (default ${DEFAULT_OUT}/)`);
  lines.push('  -h, --help          this help');
  for (const w of ws) {
    lines.push('', `${w.name} flags (spec value in brackets):`);
    for (const p of w.params) {
      const names = [p.flag, ...(p.aliases ?? [])].map((f) => `--${f}`).join(', ');
      lines.push(`  ${`${names} <n>`.padEnd(28)} ${p.help} [${num(p.spec)}]`);
    }
  }
  lines.push(
    '',
    'Output: a table (workload, backend, median s/iter, spread, NFE forward/backward, peak RSS MiB, spec);',
    'with --json, per backend: workload, backend, median_s_per_iter, spread, nfe_forward, nfe_backward,',
    'peak_rss_mib, spec, modified, iterations, warmup, batch, times_s, node, cpu, date, config, …;',
    'on webgpu also the GPU work per iteration (dispatches, submits, uploads, upload_bytes, readbacks,',
    'readback_bytes) and gpu_adapter.',
    'Exit status: 0 ok, 1 a backend failed (or none ran), 2 usage errors.',
    '',
    'Examples:',
    '  rnode-bench toy2d-rnode                          # the spec, on wasm',
    '  rnode-bench toy2d-ffjord --backends cpu,wasm --json',
    '  rnode-bench toy2d-quality --out bench-out',
    '  rnode-bench mnist-iter --iterations 1 --warmup 0 --batch 4 --downsample 2 --scales 1 --width 8   # a smoke run (spec: false)',
    '  rnode-bench cifar-iter --batch 20 --workers 2     # the CIFAR-10 model, a quick check (spec: false)',
    '  rnode-bench solvers --backends cpu,wasm --repeats 5',
  );
  return `${lines.join('\n')}\n`;
}
