/**
 * Charts of the bench (toy2d-quality): a Vega-Lite spec rendered to SVG by Vega (no canvas, no
 * DOM) and rasterised to PNG by sharp, the way `rnode plot` renders its figures.
 */
import { writeFileAtomic } from '@rnode/core/node';
import sharp from 'sharp';
import * as vega from 'vega';
import { compile, type TopLevelSpec } from 'vega-lite';

export interface Series {
  name: string;
  x: ArrayLike<number>;
  y: ArrayLike<number>;
}

export interface LinePanel {
  title: string;
  xLabel: string;
  yLabel: string;
  series: readonly Series[];
  logY?: boolean;
}

const CONFIG = {
  background: 'white',
  view: { stroke: '#888' },
  axis: { grid: true, gridColor: '#eee', labelFontSize: 10, titleFontSize: 11 },
  title: { fontSize: 13, anchor: 'middle' },
  legend: { labelFontSize: 10, titleFontSize: 11 },
  font: 'sans-serif',
} as const;

function panelSpec(p: LinePanel, width: number, height: number): Record<string, unknown> {
  const values: Array<Record<string, string | number>> = [];
  for (const s of p.series) {
    for (let i = 0; i < s.x.length; i++) {
      const x = s.x[i]!;
      const y = s.y[i]!;
      if (Number.isFinite(x) && Number.isFinite(y)) values.push({ series: s.name, x, y });
    }
  }
  return {
    title: p.title,
    width,
    height,
    data: { values },
    mark: { type: 'line', point: values.length <= 200, strokeWidth: 1.6 },
    encoding: {
      x: { field: 'x', type: 'quantitative', title: p.xLabel, scale: { zero: false } },
      y: { field: 'y', type: 'quantitative', title: p.yLabel, scale: { type: p.logY ? 'log' : 'linear', zero: false } },
      color: { field: 'series', type: 'nominal', title: null, sort: p.series.map((s) => s.name) },
    },
  };
}

/** Panels side by side, one figure: SVG text and PNG bytes. */
export async function renderPanels(title: string, panels: readonly LinePanel[], o: { width?: number; height?: number; scale?: number } = {}): Promise<{ svg: string; png: Buffer }> {
  const spec = {
    title,
    config: CONFIG,
    hconcat: panels.map((p) => panelSpec(p, o.width ?? 320, o.height ?? 240)),
    resolve: { scale: { color: 'shared' } },
  } as unknown as TopLevelSpec;
  const view = new vega.View(vega.parse(compile(spec).spec), { renderer: 'none' });
  try {
    const svg = await view.toSVG();
    const big = await view.toSVG(o.scale ?? 2);
    const png = await sharp(Buffer.from(big)).png().toBuffer();
    return { svg, png };
  } finally {
    view.finalize();
  }
}

/** Write a file atomically and verified (`writeFileAtomic` of `@rnode/core/node`), creating the directory. */
export async function writeAtomic(path: string, data: string | Uint8Array): Promise<void> {
  writeFileAtomic(path, data);
}
