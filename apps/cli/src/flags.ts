import { InvalidArgumentError, Option, type Command } from 'commander';
import { parseIntList } from './config.js';

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
  return cmd
    .option('--solver <name>', 'ODE solver (euler, midpoint, heun, rk4, rk38, dopri5, bosh3, tsit5, or a registered plugin)')
    .option('--step-size <h>', 'step size of a fixed-grid solver', num('positive'))
    .option('--rtol <x>', 'relative tolerance of an adaptive solver', num('positive'))
    .option('--atol <x>', 'absolute tolerance of an adaptive solver', num('positive'));
}

export const choice = (flags: string, description: string, choices: string[]) => new Option(flags, description).choices(choices);
