import { configureWatch } from '../watch.js';
import { foldRegularizers, mergeConfig, readConfigFile, parseTrainConfig, TRAIN_KEYS, type TrainConfig } from '../config.js';
import { parseRegularizers } from '../flags.js';
import { checkBackendName, checkPluginName, loadPluginModules, registeredNames } from '../plugins.js';
import { dataLabel, resolveData } from '../data.js';
import { Progress } from '../progress.js';
import { runTraining, type TrainHooks, type TrainSummary } from '../engine.js';
import type { CommandContext } from '../context.js';
import type { TrainFlags } from '../commands/train.js';
import { checkImageFlags, isImageDataset, runImageTraining, type ImageDatasetName, type ImageSummary } from '../images.js';

/** The training hooks of a run: the progress line, and evaluations/checkpoints as JSON lines with --json. */
function progressHooks(progress: Progress, ctx: CommandContext, json: boolean): TrainHooks {
  return {
    start: (total, from) => progress.start(total, from),
    iteration: (it, v) => progress.update(it, v),
    log: (line) => progress.log(line),
    event: (e) => {
      if (json) ctx.io.stdout.write(`${JSON.stringify(e)}\n`);
    },
  };
}

async function trainImages(cfg: TrainConfig & { data: ImageDatasetName }, ctx: CommandContext, o: { json: boolean; quiet: boolean }): Promise<ImageSummary> {
  const preset = cfg.preset ?? 'rnode';
  const out = cfg.out ?? `out/${cfg.data}-${preset}`;
  const progress = new Progress(ctx.io, { every: cfg.logEvery ?? 1, quiet: o.quiet, label: 'train' });
  try {
    return await runImageTraining({ ...cfg, preset, out, backend: cfg.backend ?? 'wasm' }, progressHooks(progress, ctx, o.json));
  } finally {
    progress.stop();
  }
}

/**
 * The run's configuration: the config file, then the flags. Plugin modules (the file's, then
 * --plugin) are loaded first, so that every name below may be a plugin's.
 */
async function resolveTrainConfig(flags: TrainFlags): Promise<TrainConfig> {
  const fromFlags: TrainConfig = {};
  for (const k of TRAIN_KEYS) if (flags[k] !== undefined) (fromFlags as Record<string, unknown>)[k] = flags[k];
  const where = `config file ${flags.config}`;
  const fromFile = flags.config ? readConfigFile(flags.config) : {};
  const modules = [
    ...(await loadPluginModules(fromFile.plugins ?? [], { flag: `${where}: "plugins":` })),
    ...(await loadPluginModules(flags.plugin ?? [])),
  ];
  for (const name of Object.keys(fromFile.regularizers ?? {})) checkPluginName('regularizer', name, `${where}: key "regularizers"`);
  if (flags.regularizer) fromFlags.regularizers = parseRegularizers(flags.regularizer, registeredNames('regularizer'));
  const merged = mergeConfig(foldRegularizers(fromFile, where), foldRegularizers(fromFlags, 'options'));
  return { ...parseTrainConfig(merged, 'options'), plugins: [...new Set(modules.map((m) => m.record))] };
}

export async function runTrain(flags: TrainFlags, ctx: CommandContext): Promise<void> {
  configureWatch(flags, ctx.io);
  const cfg = await resolveTrainConfig(flags);
  const summary = await train(cfg, ctx, { json: flags.json === true, quiet: flags.quiet === true });
  const s0 = summary;
  const out = ctx.io.stdout;
  if (flags.json) out.write(`${JSON.stringify(summary)}\n`);
  else if ('curve' in summary) {
    const s = summary as ImageSummary;
    out.write(
      [
        `trained ${s.preset} on ${s.data} (${(s.config.imageShape as number[]).join('×')}, ${s.config.trainImages} training images): ${s.iterations} iterations (${s.epochs.toFixed(2)} epochs) in ${s.seconds.toFixed(1)} s on ${s.backend}`,
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
    const summary = s0 as TrainSummary;
    out.write(
      [
        `trained ${summary.preset} on ${summary.data}: ${summary.iterations} iterations in ${summary.seconds.toFixed(1)} s on ${summary.backend}`,
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

async function train(cfg: TrainConfig, ctx: CommandContext, o: { json: boolean; quiet: boolean }): Promise<TrainSummary | ImageSummary> {
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
    return await runTraining({ ...cfg, preset, iterations, out, backend: cfg.backend ?? 'wasm' }, data, progressHooks(progress, ctx, o.json));
  } finally {
    progress.stop();
  }
}
