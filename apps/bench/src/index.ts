/**
 * @rnode/bench: the benchmark harness. `runBench(argv)` is what `rnode-bench` and `rnode bench`
 * run; the rest is exported for tests and for tools built on the harness.
 */
export { runBench, formatTable, childEntry, type BenchIo } from './harness.js';
export { parseArgs, helpText, UsageError, KNOWN_BACKENDS, DEFAULT_BACKENDS, DEFAULT_OUT, type BenchConfig, type ParsedArgs } from './config.js';
export { WORKLOADS, findWorkload } from './workloads/index.js';
export {
  createToyTraining,
  checkWorkers,
  evaluateToy,
  toySettings,
  toyTrainingOptions,
  type IterationContext,
  type IterationResult,
  type IterationRunner,
  type ToyTraining,
  type ToyTrainingOptions,
  type ToyPreset,
} from './runner.js';
export type { BenchJob, BenchResult, Workload, WorkloadFigures, ParamDef, RunEnv } from './types.js';
