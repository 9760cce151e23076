// `rnode sample` — the action (what the command does with its parsed flags), like every file in actions/; its commander definition is commands/sample.ts.
import { configureWatch } from '../watch.js';
import { extname } from 'node:path';
import { checkBackendName, checkPluginName } from '../plugins.js';
import { loadCheckpointPlugins, sampleCheckpoint, sampleImageCheckpoint } from '../checkpoint-read.js';
import { toCsv, toNpy, writeOutput } from '../writers.js';
import { samplesPng } from '../figures.js';
import { UsageError } from '../errors.js';
import type { CommandContext } from '../context.js';
import type { SampleFlags } from '../commands/sample.js';
import { useBackend, type BackendChoice } from '@rnode/core';
import { readCheckpoint } from '@rnode/train/node';
import { evalSolve, givenSolveFlags } from '../eval-solve.js';
import { imageGridPng } from '../image-run.js';
import { writePng } from '../plot/index.js';

function isImageCheckpoint(path: string): boolean {
  const ck = readCheckpoint(path);
  const c = ck.model.config as { kind?: unknown } | null;
  return typeof c === 'object' && c !== null && c.kind === 'image';
}

/** Image checkpoints: n samples (default 64) as one PNG grid (sharp), or .npy [n, H·W·C] of intensities in [0, 1]. */
async function sampleImages(f: SampleFlags, ext: string, backend: string, ctx: CommandContext): Promise<void> {
  if (f.out === undefined || !['.png', '.npy'].includes(ext)) throw new UsageError('image checkpoints are sampled to a PNG grid: pass --out samples.png (or .npy)');
  const t0 = performance.now();
  await useBackend(backend as BackendChoice);
  const n = f.num ?? 64;
  const { pixels, shape, alpha } = await sampleImageCheckpoint(f.checkpoint, n, f.seed ?? 0, evalSolve(givenSolveFlags(f)));
  const [h, w, c] = shape;
  const seconds = (performance.now() - t0) / 1000;
  let size: [number, number] | null = null;
  if (ext === '.png') {
    const g = await imageGridPng(pixels, n, shape);
    await writePng(f.out, g.png);
    size = [g.width, g.height];
  } else writeOutput(f.out, toNpy(pixels, n, h * w * c));
  const summary = { out: f.out, n, shape: [h, w, c], ...(size ? { width: size[0], height: size[1] } : {}), alpha, seconds, backend };
  if (f.json) ctx.io.stdout.write(`${JSON.stringify(summary)}\n`);
  else ctx.io.stdout.write(`wrote ${n} samples of ${h}×${w}×${c} to ${f.out}${size ? ` (${size[0]}×${size[1]} grid)` : ''} (${seconds.toFixed(1)} s)\n`);
}

export async function runSample(f: SampleFlags, ctx: CommandContext): Promise<void> {
  configureWatch(f, ctx.io);
  const ext = f.out === undefined ? '.csv' : extname(f.out).toLowerCase();
  if (!['.csv', '.npy', '.png'].includes(ext)) throw new UsageError(`--out ${f.out}: the file must end in .csv, .npy or .png`);
  await loadCheckpointPlugins(f.plugin, [f.checkpoint]);
  checkPluginName('solver', f.solver, '--solver');
  const backend = f.backend ?? 'wasm';
  checkBackendName(backend);
  const t0 = performance.now();
  if (isImageCheckpoint(f.checkpoint)) {
    await sampleImages(f, ext, backend, ctx);
    return;
  }
  const s = await sampleCheckpoint({ checkpoint: f.checkpoint, backend, seed: f.seed ?? 0, solve: givenSolveFlags(f), n: f.num ?? 1000 });
  const seconds = (performance.now() - t0) / 1000;
  if (f.out === undefined) {
    ctx.io.stdout.write(toCsv(s.data, s.rows, s.cols));
    return;
  }
  if (ext === '.csv') writeOutput(f.out, toCsv(s.data, s.rows, s.cols));
  else if (ext === '.npy') writeOutput(f.out, toNpy(s.data, s.rows, s.cols));
  else writeOutput(f.out, await samplesPng(s));
  const summary = { out: f.out, n: s.rows, dim: s.cols, seconds, backend };
  if (f.json) ctx.io.stdout.write(`${JSON.stringify(summary)}\n`);
  else ctx.io.stdout.write(`wrote ${s.rows} samples of dimension ${s.cols} to ${f.out} (${seconds.toFixed(1)} s)\n`);
}
