import { readFile } from 'node:fs/promises';
import { basename, extname } from 'node:path';
import * as z from 'zod/mini';
import { RnodeError, parseOptions } from '@rnode/core';
import { parseCsv, parseCsvOptionsSchema, parseNpy, type TabularData } from '../tabular.js';

const FORMATS = ['csv', 'tsv', 'txt', 'npy'] as const;

/** The options of `readTabularFile` (type and run-time check). */
export const readTabularOptionsSchema = z.object({
  /** Overrides the choice by extension. */
  format: z.optional(z.enum(FORMATS)),
  /** CSV/TSV/TXT only: see `parseCsv`. */
  header: parseCsvOptionsSchema.shape.header,
  /** CSV/TSV/TXT only: overrides the delimiter the extension implies. */
  delimiter: parseCsvOptionsSchema.shape.delimiter,
});

export type ReadTabularOptions = z.input<typeof readTabularOptionsSchema>;

/**
 * Read a numeric table from disk, choosing the parser by extension: `.csv` (comma), `.tsv`
 * (tab), `.txt` (detected: comma, tab, `;` or whitespace, as numpy.savetxt writes), `.npy`.
 * Errors name the file: IO_ERROR for a missing/unreadable file, INVALID_DATA for bad content.
 */
export async function readTabularFile(path: string, options: ReadTabularOptions = {}): Promise<TabularData> {
  const o = parseOptions(readTabularOptionsSchema, options, 'readTabularFile');
  if (typeof path !== 'string' || path === '') {
    throw new RnodeError('INVALID_ARGUMENT', 'readTabularFile needs a file path', { source: 'readTabularFile' });
  }
  const ext = extname(path).slice(1).toLowerCase();
  const format = o.format ?? ext;
  if (!(FORMATS as readonly string[]).includes(format)) {
    throw new RnodeError(
      'INVALID_OPTIONS',
      `cannot tell the format of ${path} from its extension ${ext ? `".${ext}"` : '(none)'}; use .csv, .tsv, .txt or .npy, or pass { format }`,
      { source: `file:${path}` },
    );
  }
  let bytes: Uint8Array;
  try {
    bytes = await readFile(path);
  } catch (e) {
    const code = (e as { code?: string }).code;
    const why = code === 'ENOENT' ? 'no such file' : code === 'EISDIR' ? 'is a directory' : code === 'EACCES' ? 'permission denied' : String((e as Error).message);
    throw new RnodeError('IO_ERROR', `cannot read ${path}: ${why}`, { source: `file:${path}`, cause: e, details: { path, code } });
  }
  const source = basename(path);
  if (format === 'npy') {
    if (o.header !== undefined || o.delimiter !== undefined) {
      throw new RnodeError('INVALID_OPTIONS', 'header and delimiter apply to text files only', { source: `file:${path}` });
    }
    return parseNpy(bytes, { source });
  }
  const text = new TextDecoder('utf-8').decode(bytes);
  const delimiter = o.delimiter ?? (format === 'csv' ? ',' : format === 'tsv' ? '\t' : 'auto');
  return parseCsv(text, { source, delimiter, ...(o.header !== undefined ? { header: o.header } : {}) });
}

export type { TabularData, Matrix } from '../tabular.js';
export {
  FASHION_MNIST_DIR,
  EMBEDDED_MNIST_TOLERANCE,
  type LoadMnistFilesOptions,
  readIdxFile,
  loadMnistFiles,
  loadFashionMnist,
  loadCifar10,
  loadEmbeddedMnist,
} from './images.js';
export {
  DATASET_SOURCES,
  type DownloadableDataset,
  type DownloadOptions,
  type DownloadProgress,
  type DownloadResult,
  downloadDataset,
} from './download.js';
