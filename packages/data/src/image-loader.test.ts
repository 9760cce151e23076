import * as tf from '@tensorflow/tfjs-core';
import { Random } from '@rnode/core';
import { describe, expect, it } from 'vitest';
import { createImageLoader, type ImageBatch } from './index.js';

const n = 10;
const images = Uint8Array.from({ length: n * 4 * 4 }, (_, i) => Math.floor(i / 16) * 20 + (i % 16)); // image i has levels 20i..20i+15
const labels = Uint8Array.from({ length: n }, (_, i) => i % 10);
const base = { images, labels, height: 4, width: 4, channels: 1, count: n };

const take = async (l: { next(): Promise<ImageBatch> }, k: number) => {
  const out: ImageBatch[] = [];
  for (let i = 0; i < k; i++) out.push(await l.next());
  return out;
};

describe('createImageLoader', () => {
  it('covers every image once per epoch, dequantised into [0, 1), labels follow the images', async () => {
    const l = createImageLoader({ ...base, batchSize: 4, rng: new Random(0) });
    expect(l.batchesPerEpoch).toBe(3);
    const bs = await take(l, 3);
    expect(bs.map((b) => b.size)).toEqual([4, 4, 2]);
    const seen = bs.flatMap((b) => Array.from(b.indices)).sort((a, b) => a - b);
    expect(seen).toEqual([...Array(n).keys()]);
    for (const b of bs) {
      expect(b.shape).toEqual([b.size, 4, 4, 1]);
      b.indices.forEach((src, i) => {
        expect(b.labels![i]).toBe(labels[src]);
        for (let k = 0; k < 16; k++) {
          const lev = images[src * 16 + k]!;
          const v = b.data[i * 16 + k]!;
          expect(v >= lev / 256 && v < (lev + 1) / 256).toBe(true);
        }
      });
    }
    expect(l.state()).toMatchObject({ epoch: 1, position: 0 });
  });

  it('is deterministic given the seed; a saved state resumes bit for bit (JSON round trip)', async () => {
    const a = createImageLoader({ ...base, batchSize: 3, rng: new Random(5), flip: true });
    const first = await take(a, 5);
    const saved = JSON.parse(JSON.stringify(a.state()));
    const rest = await take(a, 4);
    const b = createImageLoader({ ...base, batchSize: 3, rng: new Random(5), flip: true });
    expect((await take(b, 5)).map((x) => Array.from(x.data))).toEqual(first.map((x) => Array.from(x.data)));
    const c = createImageLoader({ ...base, batchSize: 3, rng: new Random(99), flip: true, state: saved });
    expect((await take(c, 4)).map((x) => Array.from(x.data))).toEqual(rest.map((x) => Array.from(x.data)));
    const d = createImageLoader({ ...base, batchSize: 3, rng: new Random(6) });
    d.restore(saved);
    expect((await d.next()).indices).toEqual(rest[0]!.indices);
    // each epoch has its own order
    const e = createImageLoader({ ...base, batchSize: 10, rng: new Random(5) });
    const [e0, e1] = await take(e, 2);
    expect(Array.from(e0!.indices)).not.toEqual(Array.from(e1!.indices));
  });

  it('prefetches: the next batch is prepared before next() is called again', async () => {
    const l = createImageLoader({ ...base, batchSize: 5, rng: new Random(1), shuffle: false, dequantize: 'center' });
    const b0 = await l.next();
    expect(Array.from(b0.indices)).toEqual([0, 1, 2, 3, 4]);
    expect(b0.data[0]).toBe(0.5 / 256);
    // let the event loop run (as a solver step would); the prefetched batch is then ready at once
    await new Promise((r) => setTimeout(r, 5));
    let resolved = false;
    const p = l.next().then((b) => { resolved = true; return b; });
    await Promise.resolve();
    await Promise.resolve();
    expect(resolved).toBe(true);
    expect(Array.from((await p).indices)).toEqual([5, 6, 7, 8, 9]);
  });

  it('drop_last, subsets, downsampling and tensors (no leaks)', async () => {
    const l = createImageLoader({ ...base, batchSize: 4, rng: new Random(2), drop_last: true });
    expect(l.batchesPerEpoch).toBe(2);
    const s = createImageLoader({ ...base, batchSize: 3, rng: new Random(2), subset: 3, shuffle: false, dequantize: 'none' });
    expect(s.count).toBe(3);
    expect(Array.from((await s.next()).labels!)).toEqual([0, 1, 2]);
    const r = createImageLoader({ ...base, batchSize: 4, rng: new Random(2), subset: { count: 4, random: true } });
    expect(r.count).toBe(4);
    const ds = createImageLoader({ ...base, batchSize: 2, rng: new Random(2), downsample: 2, shuffle: false, dequantize: 'none' });
    const b = await ds.next();
    expect([ds.height, ds.width, ds.dim]).toEqual([2, 2, 4]);
    // image 0: levels 0..15 on a 4×4 grid → 2×2 means 2.5, 4.5, 10.5, 12.5 → 3, 5, 11, 13
    expect(Array.from(b.data.subarray(0, 4)).map((v) => v * 256)).toEqual([3, 5, 11, 13]);
    const before = tf.memory().numTensors;
    const t = b.tensor();
    const f = b.tensor(true);
    expect(t.shape).toEqual([2, 2, 2, 1]);
    expect(f.shape).toEqual([2, 4]);
    tf.dispose([t, f]);
    expect(tf.memory().numTensors).toBe(before);
    expect(() => createImageLoader({ ...base, batchSize: 11, rng: new Random(0), dropLast: true })).toThrow(/leaves no batch/);
    expect(() => createImageLoader({ ...base, batchSize: 2, rng: new Random(0), shufle: true } as never)).toThrow(/unknown option "shufle"/);
  });
});
