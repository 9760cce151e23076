import { existsSync, statSync } from 'node:fs';
import { list, type KnownNames } from '@rnode/core';
import { registerBuiltinDatasets } from '@rnode/data';
import { UsageError } from './errors.js';

export type DataSpec = { kind: 'toy'; name: KnownNames['dataset'] } | { kind: 'file'; path: string };

export function toyNames(): string[] {
  registerBuiltinDatasets();
  return list('dataset').map((p) => p.name);
}

/** `--data`: a registered toy dataset, or a .csv / .npy file. */
export function resolveData(spec: string): DataSpec {
  const names = toyNames();
  if (names.includes(spec)) return { kind: 'toy', name: spec as KnownNames['dataset'] };
  const looksLikeFile = /\.(csv|npy|txt)$/i.test(spec) || spec.includes('/') || spec.includes('\\');
  if (!looksLikeFile) {
    throw new UsageError(`--data "${spec}" is neither a toy dataset (${names.join(', ')}) nor a .csv/.npy file`);
  }
  if (!existsSync(spec)) throw new IoError(`cannot read data file ${spec}: no such file`);
  if (!statSync(spec).isFile()) throw new IoError(`cannot read data file ${spec}: not a regular file`);
  return { kind: 'file', path: spec };
}

export const dataLabel = (d: DataSpec): string => (d.kind === 'toy' ? d.name : d.path);

/** A runtime I/O failure (exit status 1) with a message that names the file. */
export class IoError extends Error {
  override readonly name = 'IoError';
}
