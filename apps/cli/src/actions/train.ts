// `rnode train` — the action (what the command does with its parsed flags), like every file in actions/; its commander definition is commands/train.ts.
// The training runs themselves are toy-run.ts (2-D/tabular) and image-run.ts; what they share is run-shared.ts.
import { configureWatch } from '../watch.js';
import { foldRegularizers, mergeConfig, readConfigFile, parseRunConfig, TRAIN_KEYS, type RunConfig } from '../config.js';
import { parseRegularizers } from '../flags.js';
import { checkBackendName, checkPluginName, loadPluginModules, registeredNames } from '../plugins.js';
import { dataLabel, resolveData } from '../data.js';
import { UsageError } from '../errors.js';
import { readCheckpoint } from '@rnode/train/node';
import { identityFromRunFile, sourceKey, warnStderr } from '../run-folder.js';
import { readRunFile } from '../checkpoint-read.js';
import { Progress } from '../progress.js';
import { runToyTraining, type ToyRunSummary } from '../toy-run.js';
import type { TrainHooks } from '../run-shared.js';
import type { CommandContext } from '../context.js';
import type { TrainFlags } from '../commands/train.js';
import { Interrupted, SIGNAL_EXIT, TrainingAborted, resumeCommand, watchSignals, type SignalWatch } from '../interrupt.js';
import { checkImageFlags, isImageDataset, runImageTraining, type ImageDatasetName, type ImageRunSummary } from '../image-run.js';

interface RunOutput {
  json: boolean;
  quiet: boolean;
  signals: SignalWatch;
  /** --force: archive another run's files in --out instead of refusing. */
  force: boolean;
}

/** The training hooks of a run: the progress line, evaluations/checkpoints as JSON lines with --json, the signals. */
function progressHooks(progress: Progress, ctx: CommandContext, o: RunOutput): TrainHooks {
  return {
    start: (total, from) => progress.start(total, from),
    iteration: (it, v) => progress.update(it, v),
    log: (line) => progress.log(line),
    event: (e) => {
      if (e['type'] === 'done') o.signals.trainingDone(); // its last checkpoint is written: a signal now exits at once
      if (o.json) ctx.io.stdout.write(`${JSON.stringify(e)}\n`);
    },
    signal: o.signals.signal,
  };
}

async function trainImages(cfg: RunConfig & { data: ImageDatasetName }, ctx: CommandContext, o: RunOutput): Promise<ImageRunSummary> {
  const preset = cfg.preset ?? 'rnode';
  const out = cfg.out ?? `out/${cfg.data}-${preset}`;
  const progress = new Progress(ctx.io, { every: cfg.logEvery ?? 1, quiet: o.quiet, label: 'train' });
  try {
    return await runImageTraining({ ...cfg, preset, out, backend: cfg.backend ?? 'wasm', force: o.force }, progressHooks(progress, ctx, o));
  } finally {
    progress.stop();
  }
}

/**
 * The run's configuration: the config file, then the flags. Plugin modules (the file's, then
 * --plugin) are loaded first, so that every name below may be a plugin's.
 */
async function resolveTrainConfig(flags: TrainFlags): Promise<RunConfig> {
  const fromFlags: RunConfig = {};
  for (const k of TRAIN_KEYS) if (flags[k] !== undefined) (fromFlags as Record<string, unknown>)[k] = flags[k];
  const where = `config file ${flags.config}`;
  const fromFile = flags.config ? readConfigFile(flags.config) : {};
  const modules = [
    ...(await loadPluginModules(fromFile.plugins ?? [], { flag: `${where}: "plugins":` })),
    ...(await loadPluginModules(flags.plugin ?? [])),
  ];
  for (const name of Object.keys(fromFile.regularizers ?? {})) checkPluginName('regularizer', name, `${where}: key "regularizers"`);
  for (const [i, name] of (fromFile.monitor ?? []).entries()) checkPluginName('regularizer', name, `${where}: key "monitor[${i}]"`);
  for (const name of flags.monitor ?? []) checkPluginName('regularizer', name, '--monitor');
  if (flags.regularizer) fromFlags.regularizers = parseRegularizers(flags.regularizer, registeredNames('regularizer'));
  const merged = mergeConfig(foldRegularizers(fromFile, where), foldRegularizers(fromFlags, 'options'));
  return { ...parseRunConfig(merged, 'options'), plugins: [...new Set(modules.map((m) => m.record))] };
}

/**
 * SIGINT/SIGTERM while training: the first stops the run after its current step (the library
 * writes last.json), the second exits at once. Handlers live only while `fn` runs.
 */
async function withSignals<T>(ctx: CommandContext, json: boolean, fn: (signals: SignalWatch) => Promise<T>): Promise<T> {
  const signals = watchSignals({
    stopping: (s) =>
      ctx.io.stderr.write(`\nrnode: ${s}: stopping after the current step and writing a checkpoint (${s === 'SIGINT' ? 'Ctrl-C' : 'SIGTERM'} again exits at once)\n`),
    exiting: (s, code) => {
      if (json) ctx.io.stdout.write(`${JSON.stringify({ type: 'interrupted', signal: s, forced: true, exit_code: code })}\n`);
      ctx.io.stderr.write(`\nrnode: ${s}: exiting at once (status ${code}); the last checkpoint written is intact\n`);
    },
  });
  try {
    return await fn(signals);
  } catch (e) {
    const s = signals.received;
    if (!(e instanceof TrainingAborted) || s === null) throw e;
    const code = SIGNAL_EXIT[s];
    const resume = resumeCommand(ctx.argv ?? [], e.checkpoint);
    if (json) {
      const event = { type: 'interrupted', signal: s, iteration: e.iteration, iterations: e.target, checkpoint: e.checkpoint, exit_code: code, resume };
      ctx.io.stdout.write(`${JSON.stringify(event)}\n`);
    }
    throw new Interrupted(`interrupted by ${s} at iteration ${e.iteration} of ${e.target}, checkpoint ${e.checkpoint}; resume with: ${resume}`, code);
  } finally {
    signals.dispose();
  }
}

export async function runTrain(flags: TrainFlags, ctx: CommandContext): Promise<void> {
  configureWatch(flags, ctx.io);
  const cfg = await resolveTrainConfig(flags);
  const json = flags.json === true;
  const summary = await withSignals(ctx, json, (signals) =>
    train(resumeIdentity(cfg), ctx, { json, quiet: flags.quiet === true, signals, force: flags.force === true }),
  );
  const s0 = summary;
  const out = ctx.io.stdout;
  if (flags.json) out.write(`${JSON.stringify(summary)}\n`);
  else if ('curve' in summary) {
    const s = summary as ImageRunSummary;
    out.write(
      [
        s['nothing_to_train']
          ? `${s.checkpoint} is already at iteration ${s.iterations} of ${s['target_iterations']}; nothing to train (raise --iterations or --epochs to train further)`
          : `trained ${s.preset} on ${s.data} (${(s.config.imageShape as number[]).join('×')}, ${s.config.trainImages} training images): ${s.iterations} iterations (${s.epochs.toFixed(2)} epochs) in ${s.seconds.toFixed(1)} s on ${s.backend}`,
        `  test bits/dim   ${s.test_bits_per_dim === null ? '- (no evaluation)' : `${s.test_bits_per_dim.toFixed(4)} on ${s.config.testImages} images (+0.5 shift, dopri5 1e-5, Hutchinson)`}`,
        ...(s.curve.length > 1 ? [`  curve           ${s.curve.map((c) => c.bits_per_dim.toFixed(3)).join(' → ')}`] : []),
        `  test NFE        ${s.test_nfe ?? '-'} per solve`,
        `  train NFE total ${s.train_nfe_total} (forward + backward, all iterations)`,
        `  checkpoint      ${s.checkpoint}`,
        `  metrics         ${s.metrics}`,
        `next: rnode sample --checkpoint ${s.checkpoint} --out samples.png`,
      ].join('\n') + '\n',
    );
  } else {
    const summary = s0 as ToyRunSummary;
    out.write(
      [
        summary['nothing_to_train']
          ? `${summary.checkpoint} is already at iteration ${summary.iterations} of ${summary['target_iterations']}; nothing to train (raise --iterations to train further)`
          : `trained ${summary.preset} on ${summary.data}: ${summary.iterations} iterations in ${summary.seconds.toFixed(1)} s on ${summary.backend}`,
        `  test NLL        ${summary.test_nll.toFixed(4)} nats${summary.test_bits_per_dim === undefined ? '' : ` (${summary.test_bits_per_dim.toFixed(4)} bits/dim)`}`,
        `  test NFE        ${summary.test_nfe} (final adaptive test solve)`,
        `  train NFE total ${summary.train_nfe_total} (forward + backward, all iterations)`,
        `  checkpoint      ${summary.checkpoint}`,
        `  metrics         ${summary.metrics}`,
        ...(summary.dim === 2 ? [`next: rnode plot --checkpoint ${summary.checkpoint}   (density, samples, trajectories as PNG)`] : []),
      ].join('\n') + '\n',
    );
  }
}

/**
 * `--resume`: the run continues with the checkpoint's data, preset and seed (its own record, or
 * the run.json beside an older one). Given flags that disagree are a usage error naming both.
 */
function resumeIdentity(cfg: RunConfig): RunConfig {
  if (cfg.resume === undefined) return cfg;
  const ck = readCheckpoint(cfg.resume, { warn: warnStderr });
  const id = ck.run ?? identityFromRunFile(readRunFile(cfg.resume).run);
  if (!id) return cfg;
  const out = { ...cfg };
  const conflict = (flag: string, theirs: string, ours: string): never => {
    throw new UsageError(
      `--resume ${cfg.resume} continues a run ${flag === 'data' ? `on ${theirs}` : `with --${flag} ${theirs}`}, but --${flag} is ${ours}; leave --${flag} out (it is taken from the checkpoint), or start a new run without --resume`,
    );
  };
  if (cfg.data !== undefined) {
    const key = isImageDataset(cfg.data) ? cfg.data : sourceKey(resolveData(cfg.data));
    if (key !== id.data) conflict('data', id.data, cfg.data);
  } else {
    out.data = id.data;
  }
  if (cfg.preset !== undefined && cfg.preset !== id.preset) conflict('preset', id.preset, cfg.preset);
  if (id.preset === 'rnode' || id.preset === 'ffjord') out.preset = id.preset;
  if (cfg.seed !== undefined && cfg.seed !== id.seed) conflict('seed', String(id.seed), String(cfg.seed));
  if (Number.isInteger(id.seed)) out.seed = id.seed;
  return out;
}

async function train(cfg: RunConfig, ctx: CommandContext, o: RunOutput): Promise<ToyRunSummary | ImageRunSummary> {
  checkPluginName('solver', cfg.solver, '--solver');
  checkPluginName('estimator', cfg.estimator, '--estimator');
  checkPluginName('adjoint', cfg.adjoint, '--adjoint');
  checkBackendName(cfg.backend ?? 'wasm');
  const image = isImageDataset(cfg.data);
  checkImageFlags(cfg, image);
  if (isImageDataset(cfg.data)) return trainImages({ ...cfg, data: cfg.data }, ctx, o);
  const data = resolveData(cfg.data ?? 'pinwheel');
  const preset = cfg.preset ?? 'rnode';
  const iterations = cfg.iterations ?? 1000;
  const out = cfg.out ?? `out/${dataLabel(data).replace(/^.*[\\/]/, '').replace(/\.[^.]*$/, '')}-${preset}`;
  const progress = new Progress(ctx.io, { every: cfg.logEvery ?? Math.max(1, Math.round(iterations / 20)), quiet: o.quiet, label: 'train' });
  try {
    return await runToyTraining({ ...cfg, preset, iterations, out, backend: cfg.backend ?? 'wasm', force: o.force }, data, progressHooks(progress, ctx, o));
  } finally {
    progress.stop();
  }
}
