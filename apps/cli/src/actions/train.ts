import { mergeConfig, readConfigFile, parseTrainConfig, TRAIN_KEYS, type TrainConfig } from '../config.js';
import { checkBackendName, checkPluginName } from '../plugins.js';
import { dataLabel, resolveData } from '../data.js';
import { Progress } from '../progress.js';
import { runTraining, type TrainSummary } from '../engine.js';
import type { CommandContext } from '../context.js';
import type { TrainFlags } from '../commands/train.js';

export async function runTrain(flags: TrainFlags, ctx: CommandContext): Promise<void> {
  const fromFlags: TrainConfig = {};
  for (const k of TRAIN_KEYS) if (flags[k] !== undefined) (fromFlags as Record<string, unknown>)[k] = flags[k];
  const fromFile = flags.config ? readConfigFile(flags.config) : {};
  const cfg = parseTrainConfig(mergeConfig(fromFile, fromFlags), 'options');
  const summary = await train(cfg, ctx, { json: flags.json === true, quiet: flags.quiet === true });
  const out = ctx.io.stdout;
  if (flags.json) out.write(`${JSON.stringify(summary)}\n`);
  else {
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

async function train(cfg: TrainConfig, ctx: CommandContext, o: { json: boolean; quiet: boolean }): Promise<TrainSummary> {
  checkPluginName('solver', cfg.solver, '--solver');
  checkPluginName('estimator', cfg.estimator, '--estimator');
  checkPluginName('adjoint', cfg.adjoint, '--adjoint');
  checkBackendName(cfg.backend ?? 'wasm');
  const data = resolveData(cfg.data ?? 'pinwheel');
  const preset = cfg.preset ?? 'rnode';
  const iterations = cfg.iterations ?? 1000;
  const out = cfg.out ?? `out/${dataLabel(data).replace(/^.*[\\/]/, '').replace(/\.[^.]*$/, '')}-${preset}`;
  const progress = new Progress(ctx.io, { every: cfg.logEvery ?? Math.max(1, Math.round(iterations / 20)), quiet: o.quiet, label: 'train' });
  try {
    return await runTraining({ ...cfg, preset, iterations, out, backend: cfg.backend ?? 'wasm' }, data, {
      start: (total, from) => progress.start(total, from),
      iteration: (it, v) => progress.update(it, v),
      log: (line) => progress.log(line),
      event: (e) => {
        if (o.json) ctx.io.stdout.write(`${JSON.stringify(e)}\n`);
      },
    });
  } finally {
    progress.stop();
  }
}
