/**
 * Figures for `rnode plot`, as pure functions of plain arrays: each builds a Vega-Lite spec,
 * renders it to SVG with Vega (no canvas, no DOM) and rasterises the SVG with sharp. Nothing
 * here touches TensorFlow.js; the caller reads its tensors first. vega, vega-lite and sharp are
 * optional peers of @rnode/cli, imported when a figure is rendered (not by the other commands).
 *
 * Point arrays are row-major n×2 `Float32Array`s (x0, y0, x1, y1, …).
 */
import { RnodeError } from '@rnode/core';
import { writeFileAtomic } from '@rnode/core/node';
import type { TopLevelSpec } from 'vega-lite';
import { importOptional } from '../optional.js';

/** What a PNG figure needs: `rnode plot` and `rnode sample --out x.png`. */
export const FIGURE_PACKAGES = 'sharp vega vega-lite';

/** Common rendering options. */
export interface RenderOptions {
  /** Width and height of one panel's plotting area in CSS pixels (default 320). */
  panelSize?: number;
  /** Pixel density of the PNG relative to the CSS size (default 2). */
  scale?: number;
  /** 'png' (default) or 'svg' (the same figure as SVG text, UTF-8 bytes). */
  format?: FigureFormat;
}

export type FigureFormat = 'png' | 'svg';

export type Extent = readonly [xmin: number, xmax: number, ymin: number, ymax: number];

export interface DensityPlotOptions extends RenderOptions {
  /**
   * Density values on an nx × ny grid of cells covering `extent`, row-major by y:
   * `grid[j * nx + i]` is the cell centred at x = xmin + (i + ½)·(xmax − xmin)/nx,
   * y = ymin + (j + ½)·(ymax − ymin)/ny (j = 0 is the bottom row).
   */
  grid: Float32Array | readonly number[];
  nx: number;
  ny: number;
  extent: Extent;
  /** Data points (n×2); drawn as a 2-D histogram on the same extent in a second panel. */
  data?: Float32Array;
  /** Bins per axis of the data histogram (default min(nx, 80)). */
  dataBins?: number;
  title: string;
  /** Panel titles (default 'model density', 'data'). */
  panelTitles?: readonly [string, string];
}

export interface SamplesPlotOptions extends RenderOptions {
  samples: Float32Array;
  data?: Float32Array;
  title: string;
  /** Shared axis extent; default: the 0.5 %–99.5 % range of all points, padded. */
  extent?: Extent;
  panelTitles?: readonly [string, string];
}

export interface TrajectoryPanel {
  title: string;
  /** One n×2 array per time, from data (first) to base (last); the same particles in each. */
  paths: readonly Float32Array[];
}

export interface TrajectoryPlotOptions extends RenderOptions {
  title: string;
  /** One panel (…`paths`) or several side by side (`panels`, e.g. RNODE vs FFJORD). */
  paths?: readonly Float32Array[];
  panels?: readonly TrajectoryPanel[];
  /** Legend names of the first and last time (default 'data (t = 0)', 'base (t = T)'). */
  labels?: readonly [string, string];
  extent?: Extent;
}

export interface CurveSeries {
  name: string;
  x: ArrayLike<number>;
  y: ArrayLike<number>;
}

export interface CurvePlotOptions extends RenderOptions {
  series: readonly CurveSeries[];
  /** 'line' (default) or 'point' (a scatter plot, e.g. NFE against ‖J‖_F, the paper's Figure 3). */
  mark?: 'line' | 'point';
  xLabel: string;
  yLabel: string;
  title: string;
  /** Logarithmic axes (default false). */
  logX?: boolean;
  logY?: boolean;
}

const SOURCE = 'plot';

function invalid(message: string): never {
  throw new RnodeError('INVALID_ARGUMENT', message, { source: SOURCE });
}

function checkPoints(a: unknown, name: string): Float32Array {
  if (!(a instanceof Float32Array) || a.length % 2 !== 0) invalid(`${name} must be a Float32Array of n×2 values`);
  return a;
}

function checkExtent(e: unknown, name = 'extent'): Extent {
  if (
    !Array.isArray(e) ||
    e.length !== 4 ||
    !e.every((v) => typeof v === 'number' && Number.isFinite(v)) ||
    !(e[1] > e[0]) ||
    !(e[3] > e[2])
  ) {
    invalid(`${name} must be [xmin, xmax, ymin, ymax] with xmin < xmax and ymin < ymax`);
  }
  return e as unknown as Extent;
}

const BASE_CONFIG = {
  background: 'white',
  view: { stroke: '#888' },
  axis: { grid: false, labelFontSize: 10, titleFontSize: 11 },
  title: { fontSize: 14, anchor: 'middle' },
  legend: { labelFontSize: 10, titleFontSize: 11 },
  font: 'sans-serif',
} as const;

/** Render a Vega-Lite spec to PNG bytes, or to SVG (UTF-8 bytes). */
export async function renderVegaLite(spec: TopLevelSpec, scale = 2, format: FigureFormat = 'png'): Promise<Buffer> {
  const needs = 'a figure (rnode plot, rnode sample --out x.png, rnode sweep, rnode reproduce)';
  const { compile } = await importOptional<typeof import('vega-lite')>('vega-lite', needs, FIGURE_PACKAGES);
  const vega = await importOptional<typeof import('vega')>('vega', needs, FIGURE_PACKAGES);
  const { default: sharp } = await importOptional<typeof import('sharp')>('sharp', needs, FIGURE_PACKAGES);
  const vgSpec = compile(spec).spec;
  const view = new vega.View(vega.parse(vgSpec), { renderer: 'none' });
  try {
    if (format === 'svg') return Buffer.from(await view.toSVG(), 'utf8');
    const svg = await view.toSVG(scale);
    return await sharp(Buffer.from(svg)).png().toBuffer();
  } finally {
    view.finalize();
  }
}

/** Cells of a grid as rect records (x, x2, y, y2, v). */
function gridCells(grid: ArrayLike<number>, nx: number, ny: number, extent: Extent): Array<Record<string, number>> {
  const [x0, x1, y0, y1] = extent;
  const dx = (x1 - x0) / nx;
  const dy = (y1 - y0) / ny;
  const out: Array<Record<string, number>> = [];
  for (let j = 0; j < ny; j++) {
    for (let i = 0; i < nx; i++) {
      out.push({ x: x0 + i * dx, x2: x0 + (i + 1) * dx, y: y0 + j * dy, y2: y0 + (j + 1) * dy, v: grid[j * nx + i]! });
    }
  }
  return out;
}

/** Counts of points in an nb × nb histogram over `extent`, normalised to a density (integrates to the fraction inside). */
export function histogram2d(points: Float32Array, nb: number, extent: Extent): Float32Array {
  const [x0, x1, y0, y1] = extent;
  const h = new Float32Array(nb * nb);
  const n = points.length / 2;
  for (let k = 0; k < n; k++) {
    const i = Math.floor(((points[2 * k]! - x0) / (x1 - x0)) * nb);
    const j = Math.floor(((points[2 * k + 1]! - y0) / (y1 - y0)) * nb);
    if (i >= 0 && i < nb && j >= 0 && j < nb) h[j * nb + i]! += 1;
  }
  const cell = ((x1 - x0) / nb) * ((y1 - y0) / nb);
  if (n > 0) for (let i = 0; i < h.length; i++) h[i] = h[i]! / (n * cell);
  return h;
}

function heatLayer(values: Array<Record<string, number>>, extent: Extent, title: string, size: number, legendTitle: string) {
  return {
    title,
    width: size,
    height: size,
    data: { values },
    // A hairline stroke in the fill colour hides the anti-aliasing seams between cells.
    mark: { type: 'rect', strokeWidth: 0.6 },
    encoding: {
      x: { field: 'x', type: 'quantitative', scale: { domain: [extent[0], extent[1]], nice: false, zero: false }, title: 'x₁' },
      x2: { field: 'x2' },
      y: { field: 'y', type: 'quantitative', scale: { domain: [extent[2], extent[3]], nice: false, zero: false }, title: 'x₂' },
      y2: { field: 'y2' },
      color: { field: 'v', type: 'quantitative', scale: { scheme: 'viridis' }, title: legendTitle, legend: null },
      stroke: { field: 'v', type: 'quantitative', scale: { scheme: 'viridis' }, legend: null },
    },
  };
}

/**
 * The learned density as a heat map, beside a 2-D histogram of the data on the same extent
 * (when `data` is given). Each panel uses its own viridis colour scale (low = dark purple,
 * high = yellow).
 */
export async function densityPlot(o: DensityPlotOptions): Promise<Buffer> {
  const { nx, ny } = o;
  if (!Number.isInteger(nx) || !Number.isInteger(ny) || nx < 1 || ny < 1) invalid('nx and ny must be positive integers');
  if (!o.grid || o.grid.length !== nx * ny) invalid(`grid must hold nx·ny = ${nx * ny} values, got ${o.grid?.length}`);
  const extent = checkExtent(o.extent);
  const size = o.panelSize ?? 320;
  const [t1, t2] = o.panelTitles ?? ['model density', 'data'];
  const grid = Array.from(o.grid, (v) => (Number.isFinite(v) ? v : 0));
  const panels: object[] = [heatLayer(gridCells(grid, nx, ny, extent), extent, t1, size, 'density')];
  if (o.data) {
    const data = checkPoints(o.data, 'data');
    const nb = o.dataBins ?? Math.min(nx, 80);
    panels.push(heatLayer(gridCells(histogram2d(data, nb, extent), nb, nb, extent), extent, t2, size, 'count density'));
  }
  const spec = {
    $schema: 'https://vega.github.io/schema/vega-lite/v6.json',
    title: o.title,
    config: BASE_CONFIG,
    hconcat: panels,
    resolve: { scale: { color: 'independent', stroke: 'independent' } },
  } as unknown as TopLevelSpec;
  return renderVegaLite(spec, o.scale ?? 2, o.format);
}

function quantileExtent(arrays: readonly Float32Array[], q = 0.005, pad = 0.1): Extent {
  const xs: number[] = [];
  const ys: number[] = [];
  for (const a of arrays) {
    for (let i = 0; i + 1 < a.length; i += 2) {
      if (Number.isFinite(a[i]!) && Number.isFinite(a[i + 1]!)) (xs.push(a[i]!), ys.push(a[i + 1]!));
    }
  }
  if (xs.length === 0) return [-1, 1, -1, 1];
  const cut = (v: number[]) => {
    v.sort((a, b) => a - b);
    const lo = v[Math.floor(q * (v.length - 1))]!;
    const hi = v[Math.ceil((1 - q) * (v.length - 1))]!;
    const w = Math.max(hi - lo, 1e-6);
    return [lo - pad * w, hi + pad * w] as const;
  };
  const [x0, x1] = cut(xs);
  const [y0, y1] = cut(ys);
  // Square, so circles stay circles.
  const cx = (x0 + x1) / 2;
  const cy = (y0 + y1) / 2;
  const h = Math.max(x1 - x0, y1 - y0) / 2;
  return [cx - h, cx + h, cy - h, cy + h];
}

function pointRecords(a: Float32Array, extent: Extent, extra: Record<string, string | number> = {}) {
  const out: Array<Record<string, string | number>> = [];
  for (let i = 0; i + 1 < a.length; i += 2) {
    const x = a[i]!;
    const y = a[i + 1]!;
    if (x >= extent[0] && x <= extent[1] && y >= extent[2] && y <= extent[3]) out.push({ x, y, ...extra });
  }
  return out;
}

function axes(extent: Extent) {
  return {
    x: { field: 'x', type: 'quantitative', scale: { domain: [extent[0], extent[1]], nice: false, zero: false }, title: 'x₁' },
    y: { field: 'y', type: 'quantitative', scale: { domain: [extent[2], extent[3]], nice: false, zero: false }, title: 'x₂' },
  };
}

function scatterPanel(points: Float32Array, extent: Extent, title: string, size: number, color: string) {
  const n = points.length / 2;
  return {
    title,
    width: size,
    height: size,
    data: { values: pointRecords(points, extent) },
    mark: { type: 'circle', size: n > 5000 ? 2 : n > 1000 ? 4 : 8, opacity: n > 5000 ? 0.35 : 0.6, color, clip: true },
    encoding: axes(extent),
  };
}

/** Model samples as a scatter plot, beside the data (when given) on the same axes. */
export async function samplesPlot(o: SamplesPlotOptions): Promise<Buffer> {
  const samples = checkPoints(o.samples, 'samples');
  const data = o.data ? checkPoints(o.data, 'data') : undefined;
  const extent = o.extent ? checkExtent(o.extent) : quantileExtent(data ? [samples, data] : [samples]);
  const size = o.panelSize ?? 320;
  const [t1, t2] = o.panelTitles ?? ['samples', 'data'];
  const panels: object[] = [scatterPanel(samples, extent, t1, size, '#3b6fb6')];
  if (data) panels.push(scatterPanel(data, extent, t2, size, '#333333'));
  const spec = {
    title: o.title,
    config: BASE_CONFIG,
    hconcat: panels,
  } as unknown as TopLevelSpec;
  return renderVegaLite(spec, o.scale ?? 2, o.format);
}

function trajectoryPanel(p: TrajectoryPanel, extent: Extent, size: number, labels: readonly [string, string]) {
  const T = p.paths.length;
  if (T < 2) invalid(`trajectory panel "${p.title}" needs at least two times`);
  const n = checkPoints(p.paths[0], 'paths[0]').length / 2;
  p.paths.forEach((a, k) => {
    if (checkPoints(a, `paths[${k}]`).length !== 2 * n) invalid(`paths[${k}] has ${a.length / 2} particles, paths[0] has ${n}`);
  });
  const lines: Array<Record<string, number>> = [];
  for (let i = 0; i < n; i++) {
    for (let k = 0; k < T; k++) lines.push({ id: i, k, x: p.paths[k]![2 * i]!, y: p.paths[k]![2 * i + 1]! });
  }
  const ends: Array<Record<string, string | number>> = [
    ...pointRecords(p.paths[0]!, extent, { which: labels[0] }),
    ...pointRecords(p.paths[T - 1]!, extent, { which: labels[1] }),
  ];
  return {
    title: p.title,
    width: size,
    height: size,
    layer: [
      {
        data: { values: lines },
        mark: { type: 'line', strokeWidth: 0.7, opacity: 0.45, color: '#888', clip: true },
        encoding: { ...axes(extent), detail: { field: 'id', type: 'nominal' }, order: { field: 'k', type: 'quantitative' } },
      },
      {
        data: { values: ends },
        mark: { type: 'circle', size: 12, opacity: 0.9, clip: true },
        encoding: {
          ...axes(extent),
          color: {
            field: 'which',
            type: 'nominal',
            scale: { domain: [labels[0], labels[1]], range: ['#d62728', '#1f5fbf'] },
            legend: { title: null, orient: 'bottom' },
          },
        },
      },
    ],
  };
}

/**
 * Particle paths from data (t = 0, red) to base (t = T, blue), the paper's Figure 1 style;
 * several panels side by side share one extent (e.g. RNODE vs FFJORD).
 */
export async function trajectoryPlot(o: TrajectoryPlotOptions): Promise<Buffer> {
  const panels: readonly TrajectoryPanel[] = o.panels ?? (o.paths ? [{ title: '', paths: o.paths }] : []);
  if (panels.length === 0) invalid('trajectoryPlot needs paths or panels');
  if (o.panels && o.paths) invalid('trajectoryPlot takes paths or panels, not both');
  const labels = o.labels ?? ['data (t = 0)', 'base (t = T)'];
  const extent = o.extent ? checkExtent(o.extent) : quantileExtent(panels.flatMap((p) => [...p.paths]), 0, 0.05);
  const size = o.panelSize ?? 320;
  const spec = {
    title: o.title,
    config: BASE_CONFIG,
    hconcat: panels.map((p) => trajectoryPanel(p, extent, size, labels)),
  } as unknown as TopLevelSpec;
  return renderVegaLite(spec, o.scale ?? 2, o.format);
}

/** Line chart of one or more series (e.g. NLL against wall-clock time for RNODE and FFJORD). */
export async function curvePlot(o: CurvePlotOptions): Promise<Buffer> {
  if (!Array.isArray(o.series) || o.series.length === 0) invalid('curvePlot needs at least one series');
  const values: Array<Record<string, string | number>> = [];
  for (const s of o.series) {
    if (s.x.length !== s.y.length) invalid(`series "${s.name}": x has ${s.x.length} values, y has ${s.y.length}`);
    for (let i = 0; i < s.x.length; i++) {
      const x = s.x[i]!;
      const y = s.y[i]!;
      if (Number.isFinite(x) && Number.isFinite(y)) values.push({ series: s.name, x, y });
    }
  }
  const size = o.panelSize ?? 320;
  const spec = {
    title: o.title,
    config: BASE_CONFIG,
    width: Math.round(size * 1.5),
    height: size,
    data: { values },
    mark: o.mark === 'point' ? { type: 'point', filled: true, opacity: 0.6, size: 18 } : { type: 'line', point: values.length <= 200, strokeWidth: 1.8 },
    encoding: {
      x: { field: 'x', type: 'quantitative', title: o.xLabel, scale: o.logX ? { type: 'log' } : { type: 'linear', zero: false } },
      y: { field: 'y', type: 'quantitative', title: o.yLabel, scale: o.logY ? { type: 'log' } : { type: 'linear', zero: false } },
      color: { field: 'series', type: 'nominal', title: null, sort: o.series.map((s) => s.name) },
    },
  } as unknown as TopLevelSpec;
  return renderVegaLite(spec, o.scale ?? 2, o.format);
}

/**
 * Write bytes atomically and verified (`writeFileAtomic` of `@rnode/core/node`), so readers never
 * see a half-written PNG. Creates the directory. Errors are IO_ERROR naming the path.
 */
export async function writePng(path: string, buf: Uint8Array): Promise<void> {
  writeFileAtomic(path, buf);
}
