// `rnode plot` — the action (what the command does with its parsed flags), like every file in actions/; its commander definition is commands/plot.ts.
import { configureWatch, evalWatch } from '../watch.js';
import { checkBackendName } from '../plugins.js';
import { plotFigures } from '../figures.js';
import { loadCheckpointPlugins } from '../checkpoint-read.js';
import type { CommandContext } from '../context.js';
import type { PlotFlags } from '../commands/plot.js';

export async function runPlot(f: PlotFlags, ctx: CommandContext): Promise<void> {
  configureWatch(f, ctx.io);
  await loadCheckpointPlugins(f.plugin, f.compare !== undefined ? [f.checkpoint, f.compare] : [f.checkpoint]);
  const backend = f.backend ?? 'wasm';
  checkBackendName(backend);
  evalWatch.begin('plot');
  const files = await evalWatch.guard(() => plotFigures({
    checkpoint: f.checkpoint,
    backend,
    seed: f.seed ?? 0,
    grid: f.grid ?? 100,
    samples: f.samples ?? 2000,
    particles: f.particles ?? 200,
    ...(f.out !== undefined ? { out: f.out } : {}),
    ...(f.compare !== undefined ? { compare: f.compare } : {}),
    ...(f.data !== undefined ? { data: f.data } : {}),
    ...(f.svg ? { svg: true } : {}),
  }));
  if (f.json) ctx.io.stdout.write(`${JSON.stringify({ files })}\n`);
  else ctx.io.stdout.write(files.map((p) => `wrote ${p}\n`).join(''));
}
