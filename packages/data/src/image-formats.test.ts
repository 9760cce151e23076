import { isRnodeError } from '@rnode/core';
import { gzipSync } from 'fflate';
import { describe, expect, it } from 'vitest';
import { parseCifarBatch, parseIdx, readCifarArchive, readMnistPair } from './index.js';
import { encodeCifarBatch, encodeIdx, makeCifarArchive } from './testing/index.js';

function catchError(fn: () => unknown): Error & { code?: string; source?: string } {
  try {
    fn();
  } catch (e) {
    return e as Error;
  }
  throw new Error('expected an error');
}

const pixels = (n: number, h = 28, w = 28) => Uint8Array.from({ length: n * h * w }, (_, i) => (i * 31) & 255);

describe('parseIdx / readMnistPair', () => {
  it('reads images and labels, plain and gzipped, into NHWC levels', () => {
    const img = pixels(3);
    for (const gzip of [false, true]) {
      const set = readMnistPair(encodeIdx(img, [3, 28, 28], { gzip }), encodeIdx([7, 0, 9], [3], { gzip }));
      expect([set.count, set.height, set.width, set.channels]).toEqual([3, 28, 28, 1]);
      expect(set.images).toEqual(img);
      expect(Array.from(set.labels!)).toEqual([7, 0, 9]);
    }
  });

  it('generic IDX: any rank 1–4 and size; readMnistPair accepts other sizes with size: null', () => {
    const a = parseIdx(encodeIdx([1, 2, 3, 4, 5, 6], [2, 3]), { source: 'm.idx' });
    expect(a.shape).toEqual([2, 3]);
    expect(Array.from(a.data)).toEqual([1, 2, 3, 4, 5, 6]);
    const s = readMnistPair(encodeIdx(pixels(2, 5, 4), [2, 5, 4]), encodeIdx([1, 2], [2]), { size: null });
    expect([s.height, s.width]).toEqual([5, 4]);
  });

  const img2 = encodeIdx(pixels(2), [2, 28, 28]);
  const lab2 = encodeIdx([1, 2], [2]);
  const cases: Array<[string, () => unknown, RegExp, string]> = [
    ['empty file', () => parseIdx(new Uint8Array(0), { source: 'x.idx' }), /x\.idx: empty file/, 'x.idx'],
    ['bad magic', () => parseIdx(Uint8Array.from([0x12, 0x34, 0x08, 0x01, 0, 0, 0, 0]), { source: 'x.idx' }), /bad magic number 0x12340801/, 'x.idx'],
    ['wrong dtype code', () => parseIdx(encodeIdx([1, 2], [2], { dtype: 0x0c }), { source: 'x.idx' }), /data type 0x0c \(int32\) is not supported; expected 0x08/, 'x.idx'],
    ['wrong rank (labels file given as images)', () => readMnistPair(lab2, lab2, { imagesSource: 'imgs' }), /imgs: wrong rank: the header says 1 dimension \(magic 0x00000801\), expected 3 \(magic 0x00000803\)/, 'imgs'],
    ['truncated header', () => parseIdx(encodeIdx(pixels(1), [1, 28, 28]).subarray(0, 10), { source: 'x.idx' }), /truncated header: 10 bytes, a rank-3 header needs 16/, 'x.idx'],
    ['truncated data', () => parseIdx(img2.subarray(0, img2.length - 5), { source: 'x.idx' }), /truncated data: .*needs 1568 bytes .* has 1563/, 'x.idx'],
    ['trailing bytes', () => parseIdx(Uint8Array.from([...lab2, 0, 0]), { source: 'x.idx' }), /2 trailing bytes after the 2 bytes/, 'x.idx'],
    ['count mismatch images/labels', () => readMnistPair(img2, encodeIdx([1, 2, 3], [3]), { labelsSource: 'l.gz' }), /l\.gz: count mismatch: 3 labels for 2 images/, 'l.gz'],
    ['label out of range', () => readMnistPair(img2, encodeIdx([1, 10], [2])), /labels: label 10 at index 1 is out of range 0–9/, 'labels'],
    ['wrong image size', () => readMnistPair(encodeIdx(pixels(2, 32, 32), [2, 32, 32]), lab2), /images are 32×32, expected 28×28/, 'images'],
    ['corrupt gzip', () => parseIdx(gzipSync(img2).subarray(0, 40), { source: 'x.gz' }), /x\.gz: corrupt or truncated gzip data/, 'x.gz'],
    ['CIFAR size not a multiple of 3073', () => parseCifarBatch(encodeCifarBatch([1, 2]).subarray(0, 5000), { source: 'b.bin' }), /b\.bin: size 5000 is not a multiple of the 3073-byte record.*1 whole records and 1927 bytes over/, 'b.bin'],
    ['CIFAR label > 9', () => parseCifarBatch(encodeCifarBatch([1, 12]), { source: 'b.bin' }), /record 1: label 12 is out of range 0–9/, 'b.bin'],
    ['CIFAR empty batch', () => parseCifarBatch(new Uint8Array(0), { source: 'b.bin' }), /b\.bin: empty file/, 'b.bin'],
    ['tar missing a batch', () => readCifarArchive(makeCifarArchive({ 'data_batch_1.bin': encodeCifarBatch([1]), 'test_batch.bin': encodeCifarBatch([2]) })), /missing data_batch_2\.bin/, 'cifar-10-binary.tar.gz'],
    ['not a tar archive', () => readCifarArchive(gzipSync(new Uint8Array(2000))), /not a tar archive/, 'cifar-10-binary.tar.gz'],
    ['corrupt gzip archive', () => readCifarArchive(makeCifarArchive({ 'x.bin': encodeCifarBatch([1]) }).subarray(0, 60)), /corrupt or truncated gzip/, 'cifar-10-binary.tar.gz'],
  ];
  it.each(cases)('%s → INVALID_DATA naming the file', (_k, fn, re, file) => {
    const e = catchError(fn);
    expect(isRnodeError(e, 'INVALID_DATA')).toBe(true);
    expect(e.message).toMatch(re);
    expect(e.source).toBe(`file:${file}`);
  });
});

describe('CIFAR-10 binary', () => {
  it('parses channel-major records into NHWC', () => {
    const img = Uint8Array.from({ length: 2 * 3072 }, (_, i) => (i * 13 + 5) & 255);
    const set = parseCifarBatch(encodeCifarBatch([3, 9], img), { source: 'b.bin' });
    expect([set.count, set.height, set.width, set.channels]).toEqual([2, 32, 32, 3]);
    expect(set.images).toEqual(img);
    expect(Array.from(set.labels!)).toEqual([3, 9]);
    // record layout: byte 1 + c·1024 + p is channel c of pixel p
    const rec = encodeCifarBatch([0], img.subarray(0, 3072));
    expect(rec[1 + 1024 + 33]).toBe(img[3 * 33 + 1]);
  });

  it('reads the 5 training batches and the test batch from a .tar.gz, a .tar or extracted files', () => {
    const batches: Record<string, Uint8Array> = {};
    for (let b = 1; b <= 5; b++) batches[`data_batch_${b}.bin`] = encodeCifarBatch([b, b - 1]);
    batches['test_batch.bin'] = encodeCifarBatch([9, 8, 7]);
    batches['batches.meta.txt'] = new TextEncoder().encode('airplane\n');
    for (const input of [makeCifarArchive(batches), makeCifarArchive(batches, { gzip: false }), batches]) {
      const { train, test } = readCifarArchive(input);
      expect(train.count).toBe(10);
      expect(Array.from(train.labels!)).toEqual([1, 0, 2, 1, 3, 2, 4, 3, 5, 4]);
      expect(Array.from(test.labels!)).toEqual([9, 8, 7]);
      expect(test.images.length).toBe(3 * 3072);
    }
  });

  it('an error inside the archive names the archive and the member', () => {
    const batches: Record<string, Uint8Array> = {};
    for (let b = 1; b <= 5; b++) batches[`data_batch_${b}.bin`] = encodeCifarBatch([1]);
    batches['test_batch.bin'] = encodeCifarBatch([1]).subarray(0, 3000);
    const e = catchError(() => readCifarArchive(makeCifarArchive(batches), { source: 'c.tgz' }));
    expect(e.message).toMatch(/c\.tgz:cifar-10-batches-bin\/test_batch\.bin: size 3000/);
  });
});
