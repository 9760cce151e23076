import { extname } from 'node:path';
import { checkBackendName, checkPluginName } from '../plugins.js';
import { pick, sampleCheckpoint } from '../engine.js';
import { toCsv, toNpy, writeOutput } from '../writers.js';
import { samplesPng } from '../figures.js';
import { UsageError } from '../errors.js';
import type { CommandContext } from '../context.js';
import type { SampleFlags } from '../commands/sample.js';

export async function runSample(f: SampleFlags, ctx: CommandContext): Promise<void> {
  const ext = f.out === undefined ? '.csv' : extname(f.out).toLowerCase();
  if (!['.csv', '.npy', '.png'].includes(ext)) throw new UsageError(`--out ${f.out}: the file must end in .csv, .npy or .png`);
  checkPluginName('solver', f.solver, '--solver');
  const backend = f.backend ?? 'wasm';
  checkBackendName(backend);
  const t0 = performance.now();
  const s = await sampleCheckpoint({ checkpoint: f.checkpoint, backend, seed: f.seed ?? 0, solve: pick(f), n: f.num ?? 1000 });
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
