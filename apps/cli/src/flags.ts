import { InvalidArgumentError, Option, type Command } from 'commander';
import { parseIntList } from './config.js';
import { UsageError } from './errors.js';

/** Argument parsers: a bad value is a usage error that names the flag (commander adds the flag). */
export function num(constraint: 'positive' | 'non-negative' | 'any' = 'any') {
  return (s: string): number => {
    const v = Number(s);
    const ok = s.trim() !== '' && Number.isFinite(v) && (constraint === 'any' || (constraint === 'positive' ? v > 0 : v >= 0));
    if (!ok) throw new InvalidArgumentError(`expected a ${constraint === 'any' ? 'finite' : constraint} number.`);
    return v;
  };
}

export function int(constraint: 'positive' | 'non-negative' | 'any' = 'positive') {
  return (s: string): number => {
    const v = Number(s);
    const ok = /^[+-]?\d+$/.test(s.trim()) && (constraint === 'any' || (constraint === 'positive' ? v > 0 : v >= 0));
    if (!ok) throw new InvalidArgumentError(`expected a ${constraint === 'any' ? '' : `${constraint} `}integer.`);
    return v;
  };
}

/** A non-negative integer or the word `epoch` (`--checkpoint-every`). */
export function intOrEpoch(s: string): number | 'epoch' {
  if (s.trim() === 'epoch') return 'epoch';
  try {
    return int('non-negative')(s);
  } catch {
    throw new InvalidArgumentError('expected a non-negative integer or "epoch".');
  }
}

export function intList(s: string): number[] {
  try {
    return parseIntList(s);
  } catch (e) {
    throw new InvalidArgumentError(`${(e as Error).message}.`);
  }
}

/** Flags every command takes. */
export function addCommonFlags(cmd: Command, o: { backend?: boolean } = {}): Command {
  if (o.backend !== false) {
    cmd.option('--backend <name>', 'compute backend: wasm, cpu, webgpu, tensorflow, tensorflow-gpu or auto (default: wasm)');
  }
  cmd
    .option('--json', 'machine-readable output: JSON lines on stdout')
    .option('--quiet', 'no progress output on stderr')
    .option('--debug', 'print stack traces of errors');
  return cmd;
}

/** Flags of the evaluation solve, shared by train/eval/sample/plot. */
export function addSolveFlags(cmd: Command): Command {
  cmd
    .option('--solver <name>', 'ODE solver (euler, midpoint, heun, rk4, rk38, dopri5, bosh3, tsit5, or a registered plugin)')
    .option('--step-size <h>', 'step size of a fixed-grid solver', num('positive'))
    .option('--rtol <x>', 'relative tolerance of an adaptive solver', num('positive'))
    .option('--atol <x>', 'absolute tolerance of an adaptive solver', num('positive'));
  return addBudgetFlags(cmd);
}

/** The evaluation budget (watch.ts). */
export function addBudgetFlags(cmd: Command): Command {
  return cmd
    .option('--max-steps <n>', 'evaluation budget: step attempts per evaluation solve before it stops with an error (default: 10000); fixed grids are counted before they are built', int())
    .option('--max-eval-seconds <s>', 'evaluation budget: wall-clock seconds of one evaluation (test solve, eval, sample, plot) before it stops with an error (default: 600)', num('positive'));
}

/** Repeatable flags: every value, in order. */
export const collect = (v: string, prev: string[] | undefined): string[] => [...(prev ?? []), v];

/** `--plugin <module>` (repeatable): ES modules that register plugins, loaded before the other flags are checked. */
export function addPluginFlag(cmd: Command, o: { recorded?: boolean } = {}): Command {
  return cmd.option(
    '--plugin <module>',
    `ES module that registers solvers, regularizers, estimators or datasets: a file path (from the working directory) or a package name; repeatable${o.recorded ? " (default: the modules recorded in the checkpoint's run.json)" : ''}`,
    collect,
  );
}

/**
 * `--regularizer name=weight` (repeatable) as weights by name. `known`: the registered
 * regularizers (after --plugin); a bad value is a UsageError naming the flag and listing them.
 */
export function parseRegularizers(values: readonly string[], known: readonly string[]): Record<string, number> {
  const out: Record<string, number> = {};
  const fail = (v: string, why: string) =>
    new UsageError(`--regularizer ${v}: ${why}; expected name=weight with a registered regularizer (${known.join(', ') || 'none'}) and a non-negative weight`);
  for (const v of values) {
    const m = /^([^=]*)=(.*)$/.exec(v);
    if (!m) throw fail(v, 'no weight');
    const name = m[1]!.trim();
    const w = m[2]!.trim();
    if (!known.includes(name)) throw fail(v, `unknown regularizer "${name}"`);
    const weight = Number(w);
    if (w === '' || !Number.isFinite(weight) || weight < 0) throw fail(v, `weight "${w}" is not a non-negative number`);
    if (name in out) throw fail(v, `"${name}" is given twice`);
    out[name] = weight;
  }
  return out;
}

export const choice = (flags: string, description: string, choices: string[]) => new Option(flags, description).choices(choices);
