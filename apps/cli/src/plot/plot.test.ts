import { mkdtempSync, readFileSync, readdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { isRnodeError } from '@rnode/core';
import sharp from 'sharp';
import { describe, expect, it } from 'vitest';
import { curvePlot, densityPlot, histogram2d, samplesPlot, trajectoryPlot, writePng } from './index.js';

/** Set RNODE_PLOT_DUMP=dir to keep the figures for a look. */
const dump = process.env.RNODE_PLOT_DUMP;
async function keep(name: string, png: Buffer) {
  if (dump) await writePng(join(dump, name), png);
}

async function decode(png: Buffer) {
  const meta = await sharp(png).metadata();
  const { data, info } = await sharp(png).removeAlpha().raw().toBuffer({ resolveWithObject: true });
  const at = (fx: number, fy: number) => {
    const x = Math.round(fx * (info.width - 1));
    const y = Math.round(fy * (info.height - 1));
    const o = (y * info.width + x) * info.channels;
    return [data[o]!, data[o + 1]!, data[o + 2]!] as const;
  };
  return { meta, info, at };
}
const colourDistance = (a: readonly number[], b: readonly number[]) => Math.hypot(a[0]! - b[0]!, a[1]! - b[1]!, a[2]! - b[2]!);

/** A Gaussian bump at (cx, cy) on an n×n grid over [-4, 4]². */
function bump(n: number, cx: number, cy: number): Float32Array {
  const g = new Float32Array(n * n);
  for (let j = 0; j < n; j++) {
    for (let i = 0; i < n; i++) {
      const x = -4 + ((i + 0.5) * 8) / n;
      const y = -4 + ((j + 0.5) * 8) / n;
      g[j * n + i] = Math.exp(-((x - cx) ** 2 + (y - cy) ** 2) / 2);
    }
  }
  return g;
}

function ring(n: number, r: number, seed = 1): Float32Array {
  let s = seed;
  const u = () => ((s = (s * 16807) % 2147483647) / 2147483647);
  const a = new Float32Array(2 * n);
  for (let i = 0; i < n; i++) {
    const t = 2 * Math.PI * u();
    const rr = r + 0.2 * (u() - 0.5);
    a[2 * i] = rr * Math.cos(t);
    a[2 * i + 1] = rr * Math.sin(t);
  }
  return a;
}

describe('plots', () => {
  it('densityPlot: a PNG whose pixels are bright where the density is high, dark where low', async () => {
    const n = 40;
    // Density high on the left half of the extent (centre x = −2.5), low on the right.
    const png = await densityPlot({ grid: bump(n, -2.5, 0), nx: n, ny: n, extent: [-4, 4, -4, 4], title: 'density', scale: 1 });
    await keep('density-single.png', png);
    const { meta, at } = await decode(png);
    expect(meta.format).toBe('png');
    expect(meta.width).toBeGreaterThan(300);
    expect(meta.height).toBeGreaterThan(300);
    expect(meta.channels).toBeGreaterThanOrEqual(3);
    // Sample the plot area along its middle row: the hot spot is yellow (high R+G), the far side dark purple.
    const rowY = 0.5;
    const xs = Array.from({ length: 60 }, (_, k) => 0.1 + (k * 0.8) / 59);
    const px = xs.map((fx) => at(fx, rowY));
    const brightness = px.map(([r, g]) => r + g);
    const iMax = brightness.indexOf(Math.max(...brightness));
    const iMin = brightness.indexOf(Math.min(...brightness));
    expect(xs[iMax]).toBeLessThan(0.5); // hot spot on the left
    expect(xs[iMin]).toBeGreaterThan(0.5);
    expect(colourDistance(px[iMax]!, px[iMin]!)).toBeGreaterThan(150);
  });

  it('densityPlot with data: two panels side by side (wider image), histogram of the data', async () => {
    const n = 50;
    const grid = bump(n, 0, 0);
    const single = await densityPlot({ grid, nx: n, ny: n, extent: [-4, 4, -4, 4], title: 't', scale: 1 });
    const both = await densityPlot({ grid, nx: n, ny: n, extent: [-4, 4, -4, 4], data: ring(5000, 2.5), title: 'pinwheel', scale: 1 });
    await keep('density-data.png', both);
    const a = await sharp(single).metadata();
    const b = await sharp(both).metadata();
    expect(b.width!).toBeGreaterThan(1.7 * a.width!);
    expect(Math.abs(b.height! - a.height!)).toBeLessThan(20);
    // Right panel: the data ring (radius 2.5) is bright, its centre is dark.
    const { at, info } = await decode(both);
    const half = info.width / 2;
    let maxB = 0;
    let minB = 999;
    for (let k = 0; k < 80; k++) {
      const fx = (half + ((k + 0.5) / 80) * (info.width - half)) / info.width;
      const [r, g] = at(fx, 0.5);
      maxB = Math.max(maxB, r + g);
      minB = Math.min(minB, r + g);
    }
    expect(maxB - minB).toBeGreaterThan(150);
  });

  it('histogram2d is a density: integrates to the fraction of points inside', () => {
    const pts = Float32Array.of(0.5, 0.5, 1.5, 0.5, 9, 9);
    const h = histogram2d(pts, 2, [0, 2, 0, 2]);
    expect(Array.from(h)).toEqual([1 / 3, 1 / 3, 0, 0].map(Math.fround));
  });

  it('samplesPlot, trajectoryPlot (two panels), curvePlot render PNGs', async () => {
    const s = await samplesPlot({ samples: ring(2000, 2), data: ring(2000, 2.2, 7), title: 'samples vs data', scale: 1 });
    await keep('samples.png', s);
    const T = 6;
    const base = ring(150, 2.5, 3);
    const paths = (twist: number) =>
      Array.from({ length: T }, (_, k) => {
        const t = k / (T - 1);
        const a = new Float32Array(base.length);
        for (let i = 0; i < base.length; i += 2) {
          const ang = twist * t;
          const sc = 1 - 0.6 * t;
          a[i] = sc * (base[i]! * Math.cos(ang) - base[i + 1]! * Math.sin(ang));
          a[i + 1] = sc * (base[i]! * Math.sin(ang) + base[i + 1]! * Math.cos(ang));
        }
        return a;
      });
    const tr = await trajectoryPlot({
      title: 'trajectories',
      panels: [
        { title: 'RNODE', paths: paths(0) },
        { title: 'FFJORD', paths: paths(2) },
      ],
      scale: 1,
    });
    await keep('trajectories.png', tr);
    const c = await curvePlot({
      series: [
        { name: 'RNODE', x: [1, 2, 3, 4], y: [3, 2.5, 2.2, 2.1] },
        { name: 'FFJORD', x: [2, 4, 6, 8], y: [3, 2.6, 2.3, 2.15] },
      ],
      xLabel: 'wall-clock time (s)',
      yLabel: 'NLL (nats)',
      title: 'NLL vs time',
      scale: 1,
    });
    await keep('curve.png', c);
    for (const png of [s, tr, c]) {
      const m = await sharp(png).metadata();
      expect(m.format).toBe('png');
      expect(m.width).toBeGreaterThan(300);
      expect(m.height).toBeGreaterThan(200);
      const st = await sharp(png).stats();
      expect(st.isOpaque).toBe(true);
      // Not blank: some channel varies.
      expect(Math.max(...st.channels.map((ch) => ch.stdev))).toBeGreaterThan(5);
    }
    const trMeta = await sharp(tr).metadata();
    expect(trMeta.width!).toBeGreaterThan(1.7 * trMeta.height! * 0.8);
    // Trajectory end points are red (data) and blue (base).
    const { data, info } = await sharp(tr).removeAlpha().raw().toBuffer({ resolveWithObject: true });
    let red = 0;
    let blue = 0;
    for (let i = 0; i < data.length; i += info.channels) {
      const [r, g, b] = [data[i]!, data[i + 1]!, data[i + 2]!];
      if (r > 180 && g < 90 && b < 90) red++;
      if (b > 160 && r < 80 && g < 130) blue++;
    }
    expect(red).toBeGreaterThan(200);
    expect(blue).toBeGreaterThan(200);
  });

  it('rejects bad input with clear errors', async () => {
    await expect(densityPlot({ grid: new Float32Array(3), nx: 2, ny: 2, extent: [-1, 1, -1, 1], title: '' })).rejects.toThrow(
      /grid must hold nx·ny = 4 values, got 3/,
    );
    await expect(densityPlot({ grid: new Float32Array(4), nx: 2, ny: 2, extent: [1, -1, -1, 1], title: '' })).rejects.toThrow(/extent/);
    await expect(samplesPlot({ samples: new Float32Array(3), title: '' })).rejects.toThrow(/n×2/);
    await expect(trajectoryPlot({ title: '', paths: [new Float32Array(4), new Float32Array(2)] })).rejects.toThrow(/particles/);
    const e = await curvePlot({ series: [{ name: 'a', x: [1, 2], y: [1] }], xLabel: '', yLabel: '', title: '' }).catch((x: unknown) => x);
    expect(isRnodeError(e, 'INVALID_ARGUMENT')).toBe(true);
  });

  it('writePng writes atomically (no temp file left) and reports IO_ERROR with the path', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'rnode-plot-'));
    const p = join(dir, 'sub', 'a.png');
    await writePng(p, Buffer.from([1, 2, 3]));
    await writePng(p, Buffer.from([4, 5]));
    expect([...readFileSync(p)]).toEqual([4, 5]);
    expect(readdirSync(join(dir, 'sub'))).toEqual(['a.png']);
    const bad = join(p, 'x.png'); // a file is in the way of the directory
    const e = await writePng(bad, Buffer.from([1])).catch((x: unknown) => x);
    expect(isRnodeError(e, 'IO_ERROR')).toBe(true);
    expect((e as Error).message).toContain(bad);
  });
});
