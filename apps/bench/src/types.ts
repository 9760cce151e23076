import type { Spread } from './stats.js';

/** How a numeric flag is checked. */
export type ParamKind = 'int>0' | 'int>=0' | 'positive' | 'number';

/** A numeric setting of a workload, set by a flag; `spec` is the value WORKLOADS.md fixes. */
export interface ParamDef {
  /** camelCase key in the resolved config and the JSON output's `config`. */
  key: string;
  /** The flag, without dashes (kebab-case). */
  flag: string;
  /** Other flag names accepted for it (e.g. `repeats` for the solvers' iterations). */
  aliases?: readonly string[];
  kind: ParamKind;
  spec: number;
  help: string;
}

/** What the parent hands a child process: one workload on one backend. */
export interface BenchJob {
  workload: string;
  backend: string;
  params: Record<string, number>;
  spec: boolean;
  modified: string[];
  /** Directory for files (charts, CSV, JSON) of workloads that write them. */
  out: string;
  /** Data-parallel workers for the iteration runner (toy2d workloads). */
  workers: number;
}

/** Lines of progress and notes: the child writes them to stderr. */
export interface RunEnv {
  log(line: string): void;
  /** Whether synchronous host reads work on the active backend (false: WebGPU in Node). */
  syncRead: boolean;
}

/** The figures a workload measured (the child adds the common fields). */
export interface WorkloadFigures {
  /** Measured iterations (samples in times_s) and warm-up iterations. */
  iterations: number;
  warmup: number;
  batch: number | null;
  /** Seconds of each measured iteration. */
  times_s: number[];
  warmup_times_s: number[];
  /** NFE of the forward / backward solves per iteration (mean over the measured iterations), null when not applicable. */
  nfe_forward: number | null;
  nfe_backward: number | null;
  /** How one iteration was run (e.g. 'trainer', 'async-adjoint'). */
  runner?: string;
  /** Workload-specific fields, merged into the JSON object. */
  extra?: Record<string, unknown>;
  /** Human-readable detail printed after the summary table (not with --json). */
  details?: string[];
  /** A summary per sub-run (toy2d-quality: one per preset), printed as extra table rows. */
  rows?: Array<{ label: string; times_s: number[]; nfe_forward: number | null; nfe_backward: number | null }>;
}

/** One JSON line of the output: a workload on a backend. */
export interface BenchResult {
  workload: string;
  backend: string;
  spec: boolean;
  modified: string[];
  median_s_per_iter: number | null;
  spread: Spread | null;
  nfe_forward: number | null;
  nfe_backward: number | null;
  peak_rss_mib: number | null;
  iterations: number;
  warmup: number;
  batch: number | null;
  workers: number;
  runner: string | null;
  times_s: number[];
  warmup_times_s: number[];
  config: Record<string, number>;
  node: string;
  cpu: string;
  cpus: number;
  date: string;
  error?: string;
  [k: string]: unknown;
}

export interface Workload {
  name: string;
  /** One line for --help. */
  summary: string;
  params: readonly ParamDef[];
  /** Accepts --workers (passed to the iteration runner). */
  workers?: boolean;
  /** Accepts --out (writes files). */
  writesFiles?: boolean;
  /** Run in the child process, after the backend is active. */
  run(job: BenchJob, env: RunEnv): Promise<WorkloadFigures>;
}
