/**
 * Figures of `rnode plot` and `rnode sample --out x.png`: this file reads the
 * tensors (density on a grid, samples, trajectories) and hands plain arrays to
 * the plotting functions of ./plot.
 */
import { join, dirname } from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import { Random, useBackend, type BackendChoice } from '@rnode/core';
import { densityPlot, samplesPlot, trajectoryPlot, writePng, type Extent, type FigureFormat } from './plot/index.js';
import { loadCheckpoint, type LoadedCheckpoint, type RunFile } from './checkpoint-read.js';
import { evalSolve } from './eval-solve.js';
import { prepareData } from './toy-run.js';
import { dataLabel, resolveData } from './data.js';
import { UsageError } from './errors.js';

export async function samplesPng(s: { data: Float32Array; rows: number; cols: number; run: RunFile | null }): Promise<Uint8Array> {
  if (s.cols !== 2) throw new UsageError(`a PNG shows 2-D samples; this model has dimension ${s.cols} (write .csv or .npy)`);
  let data: Float32Array | undefined;
  if (s.run?.data.kind === 'toy') data = (await prepareData(s.run.data, s.run.seed, undefined)).points(s.rows);
  return samplesPlot({ samples: s.data, ...(data ? { data } : {}), title: `${s.rows} samples${s.run ? ` (${s.run.preset}, ${dataLabel(s.run.data)})` : ''}` });
}

export interface PlotRequest {
  checkpoint: string;
  backend: string;
  seed: number;
  grid: number;
  samples: number;
  particles: number;
  out?: string;
  compare?: string;
  data?: string;
  /** Also write each figure as SVG beside its PNG. */
  svg?: boolean;
}

const title = (ck: LoadedCheckpoint, path: string): string => {
  const preset = ck.run?.preset ?? (typeof ck.checkpoint.config.preset === 'string' ? ck.checkpoint.config.preset : undefined);
  return preset ? preset.toUpperCase() : path;
};

/** Write density.png, samples.png and trajectories.png; returns their paths. */
export async function plotFigures(r: PlotRequest): Promise<string[]> {
  await useBackend(r.backend as BackendChoice);
  const main = loadCheckpoint(r.checkpoint);
  const other = r.compare !== undefined ? loadCheckpoint(r.compare) : undefined;
  try {
    for (const [ck, path] of [[main, r.checkpoint], ...(other ? [[other, r.compare!] as const] : [])] as const) {
      if (ck.flow.dim !== 2) throw new UsageError(`rnode plot draws 2-D flows; ${path} has dimension ${ck.flow.dim}`);
    }
    const src = r.data !== undefined ? resolveData(r.data) : main.run?.data;
    if (!src) throw new UsageError(`${r.checkpoint} has no run.json beside it to say what data it was trained on: pass --data`);
    const prepared = await prepareData(src, main.run?.seed ?? r.seed, undefined);
    const data = prepared.points(Math.max(r.samples, r.particles));
    const extent = extentOf(data, src.kind === 'toy');
    const solve = evalSolve({});
    const out = r.out ?? dirname(r.checkpoint);
    const files: string[] = [];
    const label = dataLabel(src);

    // Density on an n×n grid of cell centres, row-major by y from the bottom.
    const n = r.grid;
    const pts = new Float32Array(n * n * 2);
    for (let j = 0; j < n; j++) {
      for (let i = 0; i < n; i++) {
        pts[2 * (j * n + i)] = extent[0] + ((i + 0.5) * (extent[1] - extent[0])) / n;
        pts[2 * (j * n + i) + 1] = extent[2] + ((j + 0.5) * (extent[3] - extent[2])) / n;
      }
    }
    const grid = new Float32Array(n * n);
    const B = 5000;
    for (let s = 0; s < n * n; s += B) {
      const rows = Math.min(B, n * n - s);
      const x = tf.tensor2d(pts.subarray(2 * s, 2 * (s + rows)), [rows, 2]);
      const lp = await main.flow.logProbAsync(x, { ...solve, estimator: 'exact' });
      const p = tf.tidy(() => tf.exp(lp));
      grid.set((await p.data()) as Float32Array, s);
      tf.dispose([x, lp, p]);
    }
    // Each figure as PNG, and as SVG with --svg.
    const write = async (name: string, render: (format: FigureFormat) => Promise<Buffer>): Promise<void> => {
      for (const format of r.svg ? (['png', 'svg'] as const) : (['png'] as const)) {
        const file = join(out, `${name}.${format}`);
        await writePng(file, await render(format));
        files.push(file);
      }
    };
    await write('density', (format) => densityPlot({ grid, nx: n, ny: n, extent, data: data.slice(0, 2 * r.samples), title: `${title(main, r.checkpoint)} on ${label}: learned density`, format }));

    // Samples beside the data.
    const z = await main.flow.sampleAsync(r.samples, new Random(`${r.seed}:sample`), solve);
    const samples = (await z.data()) as Float32Array;
    z.dispose();
    await write('samples', (format) => samplesPlot({ samples, data: data.slice(0, 2 * r.samples), extent, title: `${title(main, r.checkpoint)} on ${label}: samples`, format }));

    // Particle trajectories, data (t = 0) to base (t = T): the paper's Figure 1.
    const particles = data.slice(0, 2 * r.particles);
    const panels = [{ title: title(main, r.checkpoint), paths: trajectories(main, particles) }];
    if (other) panels.push({ title: title(other, r.compare!), paths: trajectories(other, particles) });
    await write('trajectories', (format) => trajectoryPlot({ title: `${label}: trajectories from data to base`, panels, format }));
    return files;
  } finally {
    main.flow.dispose();
    other?.flow.dispose();
  }
}

function trajectories(ck: LoadedCheckpoint, particles: Float32Array): Float32Array[] {
  const total = ck.flow.blocks.reduce((a, b) => a + b.endTime(), 0);
  const steps = 24;
  const times = Array.from({ length: steps + 1 }, (_, i) => (i === steps ? total : (total * i) / steps));
  const x = tf.tensor2d(particles, [particles.length / 2, 2]);
  try {
    const ys = ck.flow.trajectories(x, times, { ...evalSolve({}), estimator: 'exact' });
    const out = ys.map((y) => y.dataSync() as Float32Array);
    tf.dispose(ys);
    return out;
  } finally {
    x.dispose();
  }
}

/** FFJORD's toy plots use [-4, 4]²; other data: its range, padded. */
function extentOf(data: Float32Array, toy: boolean): Extent {
  if (toy) return [-4, 4, -4, 4];
  let x0 = Infinity, x1 = -Infinity, y0 = Infinity, y1 = -Infinity;
  for (let i = 0; i < data.length; i += 2) {
    x0 = Math.min(x0, data[i]!); x1 = Math.max(x1, data[i]!);
    y0 = Math.min(y0, data[i + 1]!); y1 = Math.max(y1, data[i + 1]!);
  }
  const px = 0.1 * (x1 - x0 || 1), py = 0.1 * (y1 - y0 || 1);
  return [x0 - px, x1 + px, y0 - py, y1 + py];
}
