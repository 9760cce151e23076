// Canvas drawing: the density heat map, scatter plots, and animated trajectories. Plain 2-D
// canvas: thousands of points and a 48×48 lattice per frame need no chart library.
import type { Box, Visuals } from './protocol';

// Viridis at 9 stops (matplotlib's), interpolated linearly.
const VIRIDIS = [
  [68, 1, 84], [71, 44, 122], [59, 81, 139], [44, 113, 142], [33, 144, 141],
  [39, 173, 129], [92, 200, 99], [170, 220, 50], [253, 231, 37],
];

function viridis(u: number): [number, number, number] {
  const x = Math.min(1, Math.max(0, u)) * (VIRIDIS.length - 1);
  const i = Math.min(VIRIDIS.length - 2, Math.floor(x));
  const f = x - i;
  const a = VIRIDIS[i]!;
  const b = VIRIDIS[i + 1]!;
  return [a[0]! + f * (b[0]! - a[0]!), a[1]! + f * (b[1]! - a[1]!), a[2]! + f * (b[2]! - a[2]!)];
}

export function fitCanvas(c: HTMLCanvasElement): CanvasRenderingContext2D {
  const dpr = Math.min(2, globalThis.devicePixelRatio || 1);
  const w = Math.max(1, Math.round(c.clientWidth * dpr));
  const h = Math.max(1, Math.round(c.clientHeight * dpr));
  if (c.width !== w || c.height !== h) [c.width, c.height] = [w, h];
  return c.getContext('2d')!;
}

const toPx = (box: Box, w: number, h: number) => (x: number, y: number): [number, number] => [
  ((x - box[0]) / (box[1] - box[0])) * w,
  ((box[3] - y) / (box[3] - box[2])) * h,
];

/** p = exp(log p) on the lattice, scaled to its maximum. */
export function drawDensity(c: HTMLCanvasElement, v: Visuals): void {
  const ctx = fitCanvas(c);
  const g = v.grid;
  const img = new ImageData(g, g);
  let max = -Infinity;
  for (const l of v.logp) if (Number.isFinite(l) && l > max) max = l;
  for (let i = 0; i < g * g; i++) {
    const l = v.logp[i]!;
    const [r, gg, b] = viridis(Number.isFinite(l) ? Math.exp(l - max) : 0);
    img.data.set([r, gg, b, 255], i * 4);
  }
  const off = new OffscreenCanvas(g, g);
  off.getContext('2d')!.putImageData(img, 0, 0);
  ctx.imageSmoothingEnabled = true;
  ctx.drawImage(off, 0, 0, c.width, c.height);
}

export function drawPoints(c: HTMLCanvasElement, box: Box, pts: Float32Array, color = '#1f6feb', clear = true): void {
  const ctx = fitCanvas(c);
  if (clear) {
    ctx.fillStyle = '#fff';
    ctx.fillRect(0, 0, c.width, c.height);
  }
  const px = toPx(box, c.width, c.height);
  const r = Math.max(1, c.width / 220);
  ctx.fillStyle = color;
  for (let i = 0; i < pts.length; i += 2) {
    const [x, y] = px(pts[i]!, pts[i + 1]!);
    ctx.fillRect(x - r / 2, y - r / 2, r, r);
  }
}

/** Particles at time fraction u ∈ [0, 1] of the trajectories, with their paths up to it. */
export function drawTrajectories(c: HTMLCanvasElement, v: Visuals, u: number): void {
  const ctx = fitCanvas(c);
  ctx.fillStyle = '#fff';
  ctx.fillRect(0, 0, c.width, c.height);
  const k = v.paths.length - 1;
  if (k < 1) return;
  const px = toPx(v.box, c.width, c.height);
  const pos = u * k;
  const i0 = Math.min(k - 1, Math.floor(pos));
  const f = pos - i0;
  const n = v.paths[0]!.length / 2;
  ctx.strokeStyle = 'rgba(120,120,120,0.35)';
  ctx.lineWidth = Math.max(1, c.width / 400);
  for (let p = 0; p < n; p++) {
    ctx.beginPath();
    for (let t = 0; t <= i0; t++) {
      const [x, y] = px(v.paths[t]![2 * p]!, v.paths[t]![2 * p + 1]!);
      if (t === 0) ctx.moveTo(x, y);
      else ctx.lineTo(x, y);
    }
    ctx.stroke();
  }
  ctx.fillStyle = '#d1242f';
  const r = Math.max(2, c.width / 120);
  const a = v.paths[i0]!;
  const b = v.paths[i0 + 1]!;
  for (let p = 0; p < n; p++) {
    const [x, y] = px(a[2 * p]! + f * (b[2 * p]! - a[2 * p]!), a[2 * p + 1]! + f * (b[2 * p + 1]! - a[2 * p + 1]!));
    ctx.beginPath();
    ctx.arc(x, y, r / 2, 0, 2 * Math.PI);
    ctx.fill();
  }
  ctx.fillStyle = '#333';
  ctx.font = `${Math.round(c.width / 18)}px system-ui, sans-serif`;
  ctx.fillText(`t = ${(u * (v.times[k] ?? 1)).toFixed(2)}`, c.width * 0.03, c.height * 0.08);
}
