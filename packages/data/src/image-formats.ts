/**
 * Readers for image data sets, bytes in (browser-safe): MNIST-style IDX files (gzipped or not)
 * and the CIFAR-10 binary version (single batches or the whole `cifar-10-binary.tar.gz`).
 * Every malformed input is `RnodeError('INVALID_DATA')` with source `file:<name>`, saying what
 * is wrong; nothing is read past a bad header.
 */
import * as z from 'zod/mini';
import { RnodeError, numberOption, parseOptions } from '@rnode/core';
import { sourceOption } from './options.js';
import { Gunzip } from 'fflate';
import { parseTar } from 'nanotar';

/** Images as 8-bit levels, NHWC row-major: image i, row y, column x, channel c at ((i·H + y)·W + x)·C + c. */
export interface ImageSet {
  images: Uint8Array;
  /** One class per image (0–9 for MNIST, Fashion-MNIST and CIFAR-10); null when unlabeled. */
  labels: Uint8Array | null;
  count: number;
  height: number;
  width: number;
  channels: number;
}

/** A parsed IDX array; only the unsigned-byte type (0x08), which MNIST-style files use, is supported. */
export interface IdxArray {
  data: Uint8Array;
  shape: number[];
  dtype: 'uint8';
}

/** The options of `parseIdx` (type and run-time check). */
export const parseIdxOptionsSchema = z.object({
  /** The file name, used in error messages. */
  source: sourceOption,
  /** Required rank (1 for labels, 3 for images); any rank 1–4 when absent. */
  rank: z.optional(numberOption('integer>0')),
});

export type ParseIdxOptions = z.input<typeof parseIdxOptionsSchema>;

const IDX_TYPES: Record<number, string> = { 0x08: 'uint8', 0x09: 'int8', 0x0b: 'int16', 0x0c: 'int32', 0x0d: 'float32', 0x0e: 'float64' };

function invalid(source: string, message: string, details?: Record<string, unknown>, cause?: unknown): RnodeError {
  return new RnodeError('INVALID_DATA', `${source}: ${message}`, {
    source: `file:${source}`,
    ...(details ? { details } : {}),
    ...(cause !== undefined ? { cause } : {}),
  });
}

function hex(n: number, width = 2): string {
  return `0x${n.toString(16).padStart(width, '0')}`;
}

/** True when the bytes start with the gzip magic 1f 8b. */
export function isGzip(bytes: Uint8Array): boolean {
  return bytes.length >= 2 && bytes[0] === 0x1f && bytes[1] === 0x8b;
}

/**
 * The most bytes a gzipped data file may inflate to (256 MiB): CIFAR-10's binary tar is 185 MB,
 * MNIST's largest IDX file 47 MB. A larger output is a gzip bomb or the wrong file.
 */
export const MAX_GUNZIP_BYTES = 256 * 1024 * 1024;

/**
 * Gunzip when the bytes carry the gzip magic, else return them as they are. Corrupt gzip →
 * INVALID_DATA. The input is inflated in 16 KB pieces (at most ~17 MB of output each, deflate's
 * ratio being ≤ 1032:1), so output beyond `maxBytes` is refused before it is held.
 */
export function maybeGunzip(bytes: Uint8Array, source: string, maxBytes: number = MAX_GUNZIP_BYTES): Uint8Array {
  if (!isGzip(bytes)) return bytes;
  const chunks: Uint8Array[] = [];
  let total = 0;
  let over = false;
  const g = new Gunzip((chunk) => {
    total += chunk.length;
    if (total > maxBytes) {
      over = true;
      throw new Error('cap');
    }
    chunks.push(chunk);
  });
  try {
    const piece = 16 * 1024;
    for (let at = 0; at < bytes.length; at += piece) g.push(bytes.subarray(at, Math.min(at + piece, bytes.length)), at + piece >= bytes.length);
  } catch (e) {
    if (over) {
      throw invalid(source, `gzip data inflates to more than ${maxBytes} bytes (the limit; ${bytes.length} compressed bytes): a gzip bomb or not the expected file; stopped at the limit`, { limit: maxBytes });
    }
    throw invalid(source, `corrupt or truncated gzip data (${(e as Error).message})`, undefined, e);
  }
  const out = new Uint8Array(total);
  let at = 0;
  for (const c of chunks) {
    out.set(c, at);
    at += c.length;
  }
  return out;
}

/**
 * Parse an IDX file (http://yann.lecun.com/exdb/mnist/ format): magic 00 00 <dtype> <rank>, then
 * `rank` big-endian uint32 dimensions, then the data. Gzipped input is detected by its magic.
 * The data must be exactly the product of the dimensions: a short file or trailing bytes are errors.
 */
export function parseIdx(bytes: Uint8Array, options: ParseIdxOptions): IdxArray {
  const o = parseOptions(parseIdxOptionsSchema, options, 'parseIdx');
  const source = o.source ?? 'idx';
  if (!(bytes instanceof Uint8Array)) throw invalid(source, 'expected the file contents as a Uint8Array');
  const raw = maybeGunzip(bytes, source);
  if (raw.length === 0) throw invalid(source, 'empty file');
  if (raw.length < 4) throw invalid(source, `truncated header: ${raw.length} bytes, the magic number alone is 4`);
  const magic = ((raw[0]! << 24) | (raw[1]! << 16) | (raw[2]! << 8) | raw[3]!) >>> 0;
  if (raw[0] !== 0 || raw[1] !== 0 || !(raw[2]! in IDX_TYPES)) {
    throw invalid(source, `bad magic number ${hex(magic, 8)}: not an IDX file (expected 0x000008NN, e.g. 0x00000803 for images, 0x00000801 for labels)`, { magic });
  }
  const dtype = raw[2]!;
  if (dtype !== 0x08) {
    throw invalid(source, `IDX data type ${hex(dtype)} (${IDX_TYPES[dtype]}) is not supported; expected ${hex(8)} (unsigned byte)`, { dtype });
  }
  const rank = raw[3]!;
  if (rank < 1 || rank > 4) throw invalid(source, `IDX rank ${rank} is not supported (1–4)`, { rank });
  if (o.rank !== undefined && rank !== o.rank) {
    throw invalid(source, `wrong rank: the header says ${rank} dimension${rank === 1 ? '' : 's'} (magic ${hex(magic, 8)}), expected ${o.rank} (magic ${hex(0x800 + o.rank, 8)})`, { rank });
  }
  const headerSize = 4 + 4 * rank;
  if (raw.length < headerSize) {
    throw invalid(source, `truncated header: ${raw.length} bytes, a rank-${rank} header needs ${headerSize}`);
  }
  const dv = new DataView(raw.buffer, raw.byteOffset, raw.byteLength);
  const shape: number[] = [];
  let size = 1;
  for (let k = 0; k < rank; k++) {
    const d = dv.getUint32(4 + 4 * k, false);
    shape.push(d);
    size *= d;
  }
  if (rank > 1 && shape.slice(1).some((d) => d === 0)) throw invalid(source, `zero-sized dimension in [${shape.join(', ')}]`);
  const have = raw.length - headerSize;
  if (have < size) {
    throw invalid(source, `truncated data: the header [${shape.join(', ')}] needs ${size} bytes after the ${headerSize}-byte header, the file has ${have}`, { expected: size, actual: have });
  }
  if (have > size) {
    throw invalid(source, `${have - size} trailing bytes after the ${size} bytes of data the header [${shape.join(', ')}] describes`, { expected: size, actual: have });
  }
  return { data: raw.subarray(headerSize, headerSize + size), shape, dtype: 'uint8' };
}

/** The options of `readMnistPair` (type and run-time check). */
export const readMnistPairOptionsSchema = z.object({
  /** Names for error messages; default 'images' and 'labels'. */
  imagesSource: z.optional(z.string()),
  labelsSource: z.optional(z.string()),
  /** Required image size [height, width]; default [28, 28]; null accepts any size. */
  size: z.optional(z.nullable(z.tuple([numberOption('integer>0'), numberOption('integer>0')]))),
  /** Number of classes; labels must lie in [0, classes). Default 10. */
  classes: z.optional(numberOption('integer>0')),
});

export type ReadMnistPairOptions = z.input<typeof readMnistPairOptionsSchema>;

function checkLabels(labels: Uint8Array, classes: number, source: string): void {
  for (let i = 0; i < labels.length; i++) {
    if (labels[i]! >= classes) {
      throw invalid(source, `label ${labels[i]} at index ${i} is out of range 0–${classes - 1}`, { index: i, label: labels[i] });
    }
  }
}

/**
 * Read an images file (idx3) and its labels file (idx1), gzipped or not, into an `ImageSet`
 * (channels 1). The counts must match, the images must be 28×28 unless `size` says otherwise,
 * and labels must be 0–9.
 */
export function readMnistPair(images: Uint8Array | IdxArray, labels: Uint8Array | IdxArray, options: ReadMnistPairOptions = {}): ImageSet {
  const o = parseOptions(readMnistPairOptionsSchema, options, 'readMnistPair');
  const is = o.imagesSource ?? 'images';
  const ls = o.labelsSource ?? 'labels';
  const im = images instanceof Uint8Array ? parseIdx(images, { source: is, rank: 3 }) : images;
  const lb = labels instanceof Uint8Array ? parseIdx(labels, { source: ls, rank: 1 }) : labels;
  if (im.shape.length !== 3) throw invalid(is, `wrong rank: images need 3 dimensions [count, height, width], got [${im.shape.join(', ')}]`);
  if (lb.shape.length !== 1) throw invalid(ls, `wrong rank: labels need 1 dimension [count], got [${lb.shape.join(', ')}]`);
  const [n, h, w] = im.shape as [number, number, number];
  const size = o.size === undefined ? [28, 28] : o.size;
  if (size && (h !== size[0] || w !== size[1])) {
    throw invalid(is, `images are ${h}×${w}, expected ${size[0]}×${size[1]}`, { height: h, width: w });
  }
  if (lb.shape[0] !== n) {
    throw invalid(ls, `count mismatch: ${lb.shape[0]} labels for ${n} images in ${is}`, { images: n, labels: lb.shape[0] });
  }
  checkLabels(lb.data, o.classes ?? 10, ls);
  return { images: im.data, labels: lb.data, count: n, height: h, width: w, channels: 1 };
}

export const CIFAR_RECORD_BYTES = 1 + 3 * 32 * 32;

/** The options of `parseCifarBatch` and `readCifarArchive`. */
export const cifarOptionsSchema = z.object({
  /** The file name, used in error messages. */
  source: z.optional(z.string()),
});

/**
 * Parse one CIFAR-10 binary batch: records of 1 label byte (0–9) and 3072 pixel bytes
 * (red, green, blue planes of 32×32, row-major). Returned as NHWC (channels last).
 */
export function parseCifarBatch(bytes: Uint8Array, options: { source: string }): ImageSet {
  const o = parseOptions(cifarOptionsSchema, options, 'parseCifarBatch');
  const source = o.source ?? 'cifar';
  const raw = maybeGunzip(bytes, source);
  if (raw.length === 0) throw invalid(source, 'empty file');
  if (raw.length % CIFAR_RECORD_BYTES !== 0) {
    const n = Math.floor(raw.length / CIFAR_RECORD_BYTES);
    throw invalid(source, `size ${raw.length} is not a multiple of the ${CIFAR_RECORD_BYTES}-byte record (1 label + 3×32×32 pixels): ${n} whole records and ${raw.length - n * CIFAR_RECORD_BYTES} bytes over (truncated or not a CIFAR-10 binary batch)`, { size: raw.length });
  }
  const n = raw.length / CIFAR_RECORD_BYTES;
  const labels = new Uint8Array(n);
  const images = new Uint8Array(n * 3072);
  for (let i = 0; i < n; i++) {
    const r = i * CIFAR_RECORD_BYTES;
    const label = raw[r]!;
    if (label > 9) throw invalid(source, `record ${i}: label ${label} is out of range 0–9`, { record: i, label });
    labels[i] = label;
    const out = i * 3072;
    for (let p = 0; p < 1024; p++) {
      images[out + 3 * p] = raw[r + 1 + p]!;
      images[out + 3 * p + 1] = raw[r + 1 + 1024 + p]!;
      images[out + 3 * p + 2] = raw[r + 1 + 2048 + p]!;
    }
  }
  return { images, labels, count: n, height: 32, width: 32, channels: 3 };
}

/** Concatenate image sets of equal image shape. */
export function concatImageSets(sets: readonly ImageSet[]): ImageSet {
  const first = sets[0];
  if (!first) throw new RnodeError('INVALID_ARGUMENT', 'concatImageSets needs at least one set');
  let count = 0;
  for (const s of sets) {
    if (s.height !== first.height || s.width !== first.width || s.channels !== first.channels) {
      throw new RnodeError('SHAPE_MISMATCH', `cannot concatenate ${s.height}×${s.width}×${s.channels} images with ${first.height}×${first.width}×${first.channels}`);
    }
    count += s.count;
  }
  const per = first.height * first.width * first.channels;
  const images = new Uint8Array(count * per);
  const labeled = sets.every((s) => s.labels);
  const labels = labeled ? new Uint8Array(count) : null;
  let at = 0;
  for (const s of sets) {
    images.set(s.images, at * per);
    if (labels) labels.set(s.labels!, at);
    at += s.count;
  }
  return { images, labels, count, height: first.height, width: first.width, channels: first.channels };
}

export const CIFAR_TRAIN_FILES = ['data_batch_1.bin', 'data_batch_2.bin', 'data_batch_3.bin', 'data_batch_4.bin', 'data_batch_5.bin'] as const;
export const CIFAR_TEST_FILE = 'test_batch.bin';

export interface CifarData {
  train: ImageSet;
  test: ImageSet;
}

/**
 * Read CIFAR-10 (binary version) from `cifar-10-binary.tar.gz` (or the plain .tar), finding
 * `cifar-10-batches-bin/data_batch_{1..5}.bin` and `test_batch.bin`, or from the extracted
 * files given as a record of file name → bytes (names may carry directories).
 */
export function readCifarArchive(archive: Uint8Array | Readonly<Record<string, Uint8Array>>, options: { source?: string } = {}): CifarData {
  const o = parseOptions(cifarOptionsSchema, options, 'readCifarArchive');
  const source = o.source ?? 'cifar-10-binary.tar.gz';
  let files: Map<string, Uint8Array>;
  if (archive instanceof Uint8Array) {
    const tar = maybeGunzip(archive, source);
    if (tar.length === 0) throw invalid(source, 'empty file');
    if (tar.length < 512 || String.fromCharCode(...tar.subarray(257, 262)) !== 'ustar') {
      throw invalid(source, 'not a tar archive (no ustar header); expected cifar-10-binary.tar.gz');
    }
    let entries;
    try {
      entries = parseTar(tar);
    } catch (e) {
      throw invalid(source, `corrupt tar archive (${(e as Error).message})`, undefined, e);
    }
    files = new Map();
    for (const e of entries) {
      if (e.data && (e.type === 'file' || e.type === undefined)) files.set(e.name, e.data);
    }
  } else {
    files = new Map(Object.entries(archive));
  }
  const find = (name: string): [string, Uint8Array] => {
    const hits = [...files.entries()].filter(([k]) => k === name || k.endsWith(`/${name}`));
    const preferred = hits.find(([k]) => k.endsWith(`cifar-10-batches-bin/${name}`)) ?? hits[0];
    if (!preferred) {
      throw invalid(source, `missing ${name} (expected cifar-10-batches-bin/${name}; found ${files.size ? [...files.keys()].slice(0, 8).join(', ') : 'no files'})`, { missing: name });
    }
    return preferred;
  };
  const batch = (name: string) => {
    const [path, bytes] = find(name);
    const set = parseCifarBatch(bytes, { source: `${source}:${path}` });
    return set;
  };
  const train = concatImageSets(CIFAR_TRAIN_FILES.map(batch));
  const test = batch(CIFAR_TEST_FILE);
  return { train, test };
}
