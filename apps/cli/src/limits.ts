// Limits checked before anything is allocated: model sizes, fixed-grid step counts, sample and
// test-set sizes, from flags, config files, run.json and checkpoints alike. A request beyond them
// is a UsageError (exit 2) that says how much memory it would need, instead of a native crash
// ("invalid size error", "memory access out of bounds") or minutes of swapping.
import { totalmem } from 'node:os';
import { resolve } from '@rnode/core';
import type { SolverPlugin, SolverRef } from '@rnode/solvers';
import { UsageError } from './errors.js';

/** Step attempts of one solve before it is stopped (odeint's default); fixed grids are counted before they are built. */
export const DEFAULT_MAX_STEPS = 100_000;
/** Rows per evaluation solve (toy-run.ts, checkpoint-read.ts). */
export const EVAL_BATCH = 10_000;
const GiB = 1024 ** 3;

/** float32 copies of the widest activation kept per row by a solve (RK stages, divergence, adjoint), a generous bound. */
const ACTIVATION_COPIES = 32;
/** float32 copies of each parameter while training (value, gradient, Adam m and v, best/last checkpoints, slack). */
const PARAM_COPIES = 8;

/** The memory a run may plan for: RNODE_MAX_MEMORY (bytes, or with k/M/G), else half the RAM up to 2 GiB (wasm's heap is 4 GiB at most). */
export function memoryBudget(env: NodeJS.ProcessEnv = process.env): number {
  const raw = env['RNODE_MAX_MEMORY'];
  if (raw !== undefined && raw.trim() !== '') {
    const m = /^\s*(\d+(?:\.\d+)?)\s*([kKmMgGtT]?)i?[bB]?\s*$/.exec(raw);
    if (!m) throw new UsageError(`RNODE_MAX_MEMORY=${raw}: expected a size such as 4G, 512M or 1000000000`);
    const scale = { '': 1, k: 1024, m: 1024 ** 2, g: GiB, t: 1024 ** 4 }[m[2]!.toLowerCase() as '' | 'k' | 'm' | 'g' | 't'];
    return Number(m[1]) * scale;
  }
  return Math.min(totalmem() / 2, 2 * GiB);
}

/** 1.5 GB, 230 MB, 4.0e+16 TB… */
export function formatBytes(b: number): string {
  if (!Number.isFinite(b)) return 'unboundedly much memory';
  const units = ['bytes', 'kB', 'MB', 'GB', 'TB'];
  let v = b;
  let i = 0;
  while (v >= 1000 && i < units.length - 1) {
    v /= 1000;
    i++;
  }
  return i === 0 ? `${Math.round(v)} bytes` : v >= 1e6 ? `${v.toExponential(1)} ${units[i]}` : `${v.toFixed(1)} ${units[i]}`;
}

function refuse(what: string, bytes: number, budget: number, detail: string): never {
  throw new UsageError(
    `${what} would need about ${formatBytes(bytes)} of memory (${detail}); the limit is ${formatBytes(budget)}. Use smaller values, or set RNODE_MAX_MEMORY (e.g. RNODE_MAX_MEMORY=8G) if the machine has the memory`,
  );
}

/** The parts of a dense ODE-net flow that decide its size. */
export interface FlowShape {
  dim: number;
  /** Hidden widths of each block's net. */
  hidden: readonly number[][];
  /** End time of each block. */
  T: readonly number[];
}

/** Parameters of a dense net dim → hidden… → dim (concatsquash: weight, bias and the two time gates per layer). */
export function netParams(dim: number, hidden: readonly number[]): number {
  const widths = [dim, ...hidden, dim];
  let p = 0;
  for (let i = 1; i < widths.length; i++) p += (widths[i - 1]! + 1) * widths[i]! + 2 * widths[i]!;
  return p;
}

/** Bytes to hold (and train) the flow's parameters, and the activations of `rows` rows in one solve. */
export function flowBytes(shape: FlowShape, rows: number, o: { training: boolean }): { bytes: number; params: number } {
  let params = 0;
  let widest = shape.dim;
  for (const h of shape.hidden) {
    params += netParams(shape.dim, h);
    for (const w of h) widest = Math.max(widest, w);
  }
  const sumWidths = Math.max(...shape.hidden.map((h) => h.reduce((a, b) => a + b, 0) + shape.dim));
  const paramBytes = params * 4 * (o.training ? PARAM_COPIES : 2);
  // Exact divergence (dim ≤ 8) runs one backward pass per dimension: Σ widths per row, per copy.
  const actBytes = rows * (sumWidths + widest) * 4 * ACTIVATION_COPIES;
  return { bytes: paramBytes + actBytes, params };
}

/** A model (its shape from flags, a config file or a checkpoint) with `rows` rows per solve must fit the budget. */
export function checkFlowMemory(shape: FlowShape, rows: number, where: string, o: { training: boolean; budget?: number }): void {
  const budget = o.budget ?? memoryBudget();
  for (const h of shape.hidden) {
    for (const w of h) if (!(Number.isSafeInteger(w) && w > 0)) throw new UsageError(`${where}: hidden width ${w} is not a positive integer`);
  }
  if (!(Number.isSafeInteger(shape.dim) && shape.dim > 0)) throw new UsageError(`${where}: dimension ${shape.dim} is not a positive integer`);
  const { bytes, params } = flowBytes(shape, rows, o);
  if (bytes > budget) {
    const widths = shape.hidden.map((h) => `[${h.join(',')}]`).join(' ');
    refuse(`${where}: the model (hidden ${widths}, ${params.toExponential(2)} parameters) with ${rows} rows per solve`, bytes, budget, `${formatBytes(params * 4)} of parameters`);
  }
}

/** `n` points of dimension `dim` held at once (a test set, samples), plus one solve over them in batches of `batch`. */
export function checkRows(n: number, dim: number, shape: FlowShape | null, where: string, o: { batch: number; budget?: number }): void {
  const budget = o.budget ?? memoryBudget();
  if (!(Number.isSafeInteger(n) && n > 0)) throw new UsageError(`${where}: ${n} is not a positive integer`);
  // The points as float64 while generated and float32 after, the output copy, and a batch's solve.
  const data = n * dim * (8 + 4 + 4);
  const solve = shape ? flowBytes(shape, Math.min(n, o.batch), { training: false }).bytes : 0;
  if (data + solve > budget) refuse(`${where}: ${n} points of dimension ${dim}`, data + solve, budget, `${formatBytes(data)} for the points`);
}

function solverPlugin(name: string): SolverPlugin | null {
  try {
    return resolve<SolverPlugin>('solver', name as SolverRef);
  } catch {
    return null; // an unknown name is reported where names are checked
  }
}

/**
 * Step counts: a fixed-grid solver makes ceil(T/stepSize) steps per block and solve, which must not
 * exceed `maxSteps` (checked before the grid is built). T must be finite in float32 (the time
 * enters the network as a float32 input).
 */
export function checkSteps(a: { solver: string; stepSize: number | undefined; T: readonly number[]; maxSteps: number; where: string }): void {
  for (const T of a.T) {
    if (!(Number.isFinite(T) && T > 0 && Number.isFinite(Math.fround(T)))) {
      throw new UsageError(`${a.where}: integration time T = ${T} is not a positive float32 number (at most 3.4e38)`);
    }
  }
  const plugin = solverPlugin(a.solver);
  if (!plugin || plugin.adaptive) return;
  const stepSize = a.stepSize;
  if (stepSize === undefined) return; // one step per block
  const steps = a.T.reduce((s, T) => s + Math.max(1, Math.ceil(T / stepSize - 1e-10)), 0);
  if (!(steps <= a.maxSteps)) {
    throw new UsageError(
      `${a.where}: the fixed-grid solver ${a.solver} with step size ${stepSize} over T = ${a.T.join(', ')} needs ${Number.isFinite(steps) ? steps.toLocaleString('en-US') : 'infinitely many'} steps per solve, more than the limit of ${a.maxSteps.toLocaleString('en-US')} (--max-steps); use a larger --step-size`,
    );
  }
}

/** A flow's shape from a checkpoint's model config (FlowConfig, or the CreateFlowOptions a resume carries); null when it is not a dense flow. */
export function shapeOfModelConfig(config: unknown, dimHint?: number): FlowShape | null {
  if (typeof config !== 'object' || config === null) return null;
  const c = config as { kind?: unknown; dim?: unknown; blocks?: unknown; hidden?: unknown; T?: unknown };
  if (c.kind === 'image') return null;
  const dim = typeof c.dim === 'number' ? c.dim : dimHint;
  if (dim === undefined) return null;
  if (Array.isArray(c.blocks)) {
    const hidden: number[][] = [];
    const T: number[] = [];
    for (const b of c.blocks as Array<{ net?: { hidden?: unknown }; T?: unknown }>) {
      const h = b?.net?.hidden;
      hidden.push(Array.isArray(h) ? (h as number[]) : [64, 64, 64]);
      T.push(typeof b?.T === 'number' ? b.T : 1);
    }
    return hidden.length ? { dim, hidden, T } : null;
  }
  const n = typeof c.blocks === 'number' ? c.blocks : 1;
  if (!(Number.isSafeInteger(n) && n > 0 && n <= 1000)) return { dim, hidden: [[Infinity]], T: [1] };
  const h = Array.isArray(c.hidden) ? (c.hidden as number[]) : [64, 64, 64];
  const T = typeof c.T === 'number' ? c.T : 1;
  return { dim, hidden: Array.from({ length: n }, () => h), T: Array.from({ length: n }, () => T) };
}

/**
 * float32 copies of one evaluation's conv activations (each block's H·W·(C + Σ hidden) per image)
 * that the tape keeps for every evaluation when training backpropagates through the solver: the
 * net, its Hutchinson VJP and their derivatives. Measured: MNIST's paper model (10 blocks), batch
 * 4, 4 RK4 steps (16 evaluations per block) needs 2.8 GB on wasm, i.e. 22 copies; 8 steps ran out
 * of wasm's 4 GiB heap as "memory access out of bounds".
 */
const BACKPROP_IMAGE_COPIES = 24;
/** The wasm backend's heap: a wasm32 memory. */
const WASM_HEAP = 4 * GiB;

/**
 * An image run with `--adjoint backprop` keeps every evaluation of the fixed-grid solve on the
 * tape, so its memory grows with the steps; refused before training when it would not fit the
 * budget (or wasm's 4 GiB heap, whatever the budget), naming the flags that bring it down. The
 * adjoint (backsolve) keeps memory flat in the steps and is not checked here.
 */
export function checkImageBackpropMemory(o: {
  blocks: ReadonlyArray<{ shape: readonly number[] }>;
  hidden: readonly number[];
  batch: number;
  solver: string;
  stepSize: number | undefined;
  T: number;
  backend: string;
  where: string;
  budget?: number;
}): void {
  const plugin = solverPlugin(o.solver);
  if (!plugin || plugin.adaptive) return; // an adaptive solve's steps are unknown in advance
  const steps = o.stepSize === undefined ? 1 : Math.max(1, Math.ceil(o.T / o.stepSize - 1e-10));
  const evaluations = steps * (plugin.stages ?? 4);
  const perImage = o.blocks.reduce((s, b) => s + b.shape[0]! * b.shape[1]! * (b.shape[2]! + o.hidden.reduce((a, h) => a + h, 0)), 0);
  const bytes = perImage * evaluations * o.batch * 4 * BACKPROP_IMAGE_COPIES;
  const budget = o.budget ?? memoryBudget();
  const what = `${o.where}: backprop through the solver (--adjoint backprop) over ${steps} ${o.solver} steps per block (${evaluations} evaluations kept on the tape) at batch ${o.batch}`;
  const fix = 'use the adjoint (--adjoint backsolve: memory flat in the steps), a smaller --batch-size or a larger --step-size';
  if (o.backend === 'wasm' && bytes > WASM_HEAP) {
    throw new UsageError(`${what} would need about ${formatBytes(bytes)} of memory; the wasm backend's heap is ${formatBytes(WASM_HEAP)} at most: ${fix}`);
  }
  if (bytes > budget) refuse(what, bytes, budget, fix);
}
