// The summary figure of a sweep: the test NLL (or bits/dim) of every finished job, one column
// per combination of the varying settings other than the seed, a point per seed and a tick at
// their mean. Drawn with the CLI's Vega-Lite helpers (vega, vega-lite and sharp: optional peers).
import { join } from 'node:path';
import type { TopLevelSpec } from 'vega-lite';
import { MissingPackageError } from '../errors.js';
import { renderVegaLite, writePng } from '../plot/index.js';
import { summaryNumber, varyingKeys, type JobResult } from './results.js';

const kebab = (k: string) => k.replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`);
const show = (v: unknown): string => (Array.isArray(v) ? v.join(',') : typeof v === 'string' ? v : JSON.stringify(v));

/** The Vega-Lite spec of the figure, or null when no job has a test result. */
export function summarySpec(name: string, results: readonly JobResult[]): TopLevelSpec | null {
  const done = results.filter((r) => r.status === 'done' && r.summary !== null);
  const bpd = done.length > 0 && done.every((r) => summaryNumber(r, 'test_bits_per_dim') !== null);
  const metric = bpd ? 'test_bits_per_dim' : 'test_nll';
  const keys = varyingKeys(results).filter((k) => k !== 'seed');
  const values = done
    .map((r) => ({
      group: keys.map((k) => `${kebab(k)}=${show((r.config as Record<string, unknown>)[k])}`).join(', ') || name,
      seed: r.config.seed ?? 0,
      id: r.id,
      y: summaryNumber(r, metric),
    }))
    .filter((v) => v.y !== null && Number.isFinite(v.y));
  if (values.length === 0) return null;
  const title = bpd ? 'test bits/dim' : 'test NLL (nats)';
  return {
    title: `${name}: ${title} per job`,
    config: { background: 'white', view: { stroke: '#888' }, axis: { grid: true, labelFontSize: 10, titleFontSize: 11, labelLimit: 240 }, font: 'sans-serif' },
    width: Math.max(240, 48 * new Set(values.map((v) => v.group)).size),
    height: 280,
    data: { values },
    encoding: {
      x: { field: 'group', type: 'nominal', title: keys.map(kebab).join(', ') || null, sort: null, axis: { labelAngle: -30 } },
      y: { field: 'y', type: 'quantitative', title, scale: { zero: false } },
    },
    layer: [
      { mark: { type: 'point', filled: true, size: 50, opacity: 0.8 }, encoding: { color: { field: 'seed', type: 'nominal', title: 'seed' }, tooltip: [{ field: 'id' }, { field: 'y', title }] } },
      { mark: { type: 'tick', thickness: 2, size: 28, color: '#333' }, encoding: { y: { aggregate: 'mean', field: 'y', type: 'quantitative' } } },
    ],
  } as unknown as TopLevelSpec;
}

/**
 * Write `<out>/summary.svg` and `<out>/summary.png`; returns their paths, or a one-line note
 * saying why there is no figure (no finished job, or the figure packages are not installed).
 */
export async function writeSummaryFigure(out: string, name: string, results: readonly JobResult[]): Promise<{ files: string[] } | { note: string }> {
  const spec = summarySpec(name, results);
  if (spec === null) return { note: 'no summary figure: no job has a test result' };
  try {
    const files = [join(out, 'summary.svg'), join(out, 'summary.png')];
    await writePng(files[0]!, await renderVegaLite(spec, 2, 'svg'));
    await writePng(files[1]!, await renderVegaLite(spec));
    return { files };
  } catch (e) {
    if (e instanceof MissingPackageError) return { note: `no summary figure: ${e.message}` };
    throw e;
  }
}
