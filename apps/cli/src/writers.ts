import { writeFileAtomic } from '@rnode/core/node';

/** Rows of a row-major matrix as CSV (a header x0,x1,…). */
export function toCsv(data: Float32Array, rows: number, cols: number): string {
  const lines = [Array.from({ length: cols }, (_, j) => `x${j}`).join(',')];
  for (let i = 0; i < rows; i++) {
    const row: string[] = [];
    for (let j = 0; j < cols; j++) row.push(String(data[i * cols + j]));
    lines.push(row.join(','));
  }
  return `${lines.join('\n')}\n`;
}

/** A float32 little-endian .npy file (format version 1.0), shape [rows, cols]. */
export function toNpy(data: Float32Array, rows: number, cols: number): Buffer {
  let header = `{'descr': '<f4', 'fortran_order': False, 'shape': (${rows}, ${cols}), }`;
  const total = 10 + header.length + 1;
  header += ' '.repeat((64 - (total % 64)) % 64) + '\n';
  const pre = Buffer.alloc(10);
  pre.write('\x93NUMPY', 0, 'latin1');
  pre[6] = 1;
  pre[7] = 0;
  pre.writeUInt16LE(header.length, 8);
  const body = Buffer.alloc(rows * cols * 4);
  for (let i = 0; i < rows * cols; i++) body.writeFloatLE(data[i] ?? 0, i * 4);
  return Buffer.concat([pre, Buffer.from(header, 'latin1'), body]);
}

/** Write an output file (samples, figures) atomically and verified; IO_ERROR naming it on failure. */
export function writeOutput(path: string, bytes: string | Uint8Array): void {
  writeFileAtomic(path, bytes);
}
