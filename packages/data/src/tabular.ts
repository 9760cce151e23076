import * as tf from '@tensorflow/tfjs-core';
import * as z from 'zod/mini';
import { RnodeError, parseOptions, type Random } from '@rnode/core';
import { sourceOption } from './options.js';

/** A dense numeric matrix, row-major float32. */
export interface Matrix {
  readonly data: Float32Array;
  readonly rows: number;
  readonly cols: number;
}

/** A parsed file: the matrix plus the header's column names when there was one. */
export interface TabularData extends Matrix {
  readonly columns?: readonly string[];
}

function fail(source: string, message: string, details?: Record<string, unknown>): never {
  throw new RnodeError('INVALID_DATA', `${source}: ${message}`, { source: `file:${source}`, ...(details ? { details } : {}) });
}

// ---------------------------------------------------------------- CSV

/** The options of `parseCsv` (type and run-time check). */
export const parseCsvOptionsSchema = z.object({
  /** Name used in error messages (a file name). */
  source: sourceOption,
  /** 'auto' (default): the first row is a header when one of its cells is not a number. */
  header: z.optional(z.union([z.literal('auto'), z.boolean()], { error: "'auto', true or false" })),
  /**
   * A single character, or 'whitespace' (runs of spaces/tabs, numpy.savetxt's default), or
   * 'auto' (default): ',' if the first row has one outside quotes, else tab, else ';', else whitespace.
   */
  delimiter: z.optional(
    z.custom<string>((v) => v === 'auto' || v === 'whitespace' || (typeof v === 'string' && v.length === 1 && v !== '"'), {
      error: "one character, 'whitespace' or 'auto'",
    }),
  ),
});

export type ParseCsvOptions = z.input<typeof parseCsvOptionsSchema>;

const NUMBER_RE = /^[+-]?(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?$/;
const NONFINITE_RE = /^[+-]?(?:nan|inf|infinity)$/i;

/** Split one line into cells. Double quotes may wrap a cell ("" is a literal quote). */
function splitLine(line: string, delim: string, source: string, lineNo: number): string[] {
  if (delim === 'whitespace') {
    const t = line.trim();
    if (!t.includes('"')) return t.split(/[ \t]+/);
  }
  const ws = delim === 'whitespace';
  const cells: string[] = [];
  let cur = '';
  let i = 0;
  let quoted = false;
  let atStart = true;
  const n = line.length;
  while (i < n) {
    const ch = line[i]!;
    if (quoted) {
      if (ch === '"') {
        if (line[i + 1] === '"') {
          cur += '"';
          i += 2;
          continue;
        }
        quoted = false;
        i++;
        continue;
      }
      cur += ch;
      i++;
      continue;
    }
    if (ch === '"' && cur.trim() === '') {
      quoted = true;
      cur = '';
      atStart = false;
      i++;
      continue;
    }
    const isDelim = ws ? ch === ' ' || ch === '\t' : ch === delim;
    if (isDelim) {
      if (ws) {
        while (i + 1 < n && (line[i + 1] === ' ' || line[i + 1] === '\t')) i++;
        if (!atStart) cells.push(cur);
        cur = '';
        atStart = false;
        i++;
        continue;
      }
      cells.push(cur);
      cur = '';
      i++;
      continue;
    }
    cur += ch;
    atStart = false;
    i++;
  }
  if (quoted) fail(source, `line ${lineNo}: unterminated quoted cell`, { line: lineNo });
  if (!(ws && cur === '' && cells.length > 0)) cells.push(cur);
  return cells;
}

function detectDelimiter(line: string): string {
  let quoted = false;
  const seen = new Set<string>();
  for (const ch of line) {
    if (ch === '"') quoted = !quoted;
    else if (!quoted && (ch === ',' || ch === '\t' || ch === ';')) seen.add(ch);
  }
  for (const d of [',', '\t', ';']) if (seen.has(d)) return d;
  return 'whitespace';
}

const isNumericCell = (s: string) => NUMBER_RE.test(s.trim());
const isNumberLike = (s: string) => isNumericCell(s) || NONFINITE_RE.test(s.trim());

function showCell(s: string): string {
  return JSON.stringify(s.length > 40 ? `${s.slice(0, 40)}…` : s);
}

/**
 * Parse delimited text into a float32 matrix. Blank lines and lines starting with `#` are
 * skipped; `\n`, `\r\n` and `\r` end lines; cells are trimmed; a quoted cell may not span lines.
 * Errors (INVALID_DATA) name the source, the 1-based line and column and the cell's text:
 * rows of different lengths, non-numeric or empty cells, NaN/Inf (or values beyond float32),
 * no data rows.
 */
export function parseCsv(text: string, options: ParseCsvOptions): TabularData {
  const o = parseOptions(parseCsvOptionsSchema, options, 'parseCsv');
  const source = typeof o.source === 'string' && o.source ? o.source : '<csv>';
  if (typeof text !== 'string') {
    throw new RnodeError('INVALID_ARGUMENT', `parseCsv expects a string, got ${typeof text}`, { source: `file:${source}` });
  }
  const header = o.header ?? 'auto';
  let delim = o.delimiter ?? 'auto';
  const lines = text.replace(/^\uFEFF/, '').split(/\r\n|\n|\r/);
  let columns: string[] | undefined;
  let cols = -1;
  let firstLine = 0;
  const values: number[] = [];
  let rows = 0;
  for (let li = 0; li < lines.length; li++) {
    const raw = lines[li]!;
    const lineNo = li + 1;
    if (raw.trim() === '' || raw.trimStart().startsWith('#')) continue;
    if (delim === 'auto') delim = detectDelimiter(raw);
    const cells = splitLine(raw, delim, source, lineNo);
    if (cols < 0) {
      firstLine = lineNo;
      const isHeader = header === 'auto' ? !cells.every(isNumberLike) : header;
      cols = cells.length;
      if (isHeader) {
        columns = cells.map((c) => c.trim());
        continue;
      }
    }
    if (cells.length !== cols) {
      fail(
        source,
        `line ${lineNo}: expected ${cols} column${cols === 1 ? '' : 's'} (as on line ${firstLine}), found ${cells.length}`,
        { line: lineNo, column: Math.min(cells.length, cols) + 1 },
      );
    }
    for (let c = 0; c < cells.length; c++) {
      const cell = cells[c]!.trim();
      const where = `line ${lineNo}, column ${c + 1}`;
      if (cell === '') fail(source, `${where}: empty cell`, { line: lineNo, column: c + 1 });
      if (NONFINITE_RE.test(cell)) {
        fail(source, `${where}: non-finite value ${showCell(cell)} (NaN and Inf are not allowed)`, { line: lineNo, column: c + 1 });
      }
      if (!NUMBER_RE.test(cell)) fail(source, `${where}: not a number: ${showCell(cell)}`, { line: lineNo, column: c + 1 });
      const v = Number(cell);
      if (!Number.isFinite(Math.fround(v))) {
        fail(source, `${where}: ${showCell(cell)} overflows float32`, { line: lineNo, column: c + 1 });
      }
      values.push(v);
    }
    rows++;
  }
  if (cols < 0) fail(source, 'empty file (no rows)');
  if (rows === 0) fail(source, `no data rows (only a header on line ${firstLine})`, { line: firstLine });
  const m: TabularData = { data: Float32Array.from(values), rows, cols };
  return columns ? { ...m, columns } : m;
}

// ---------------------------------------------------------------- NPY

/** The options of `parseNpy` (type and run-time check). */
export const parseNpyOptionsSchema = z.object({ source: sourceOption });

export type ParseNpyOptions = z.input<typeof parseNpyOptionsSchema>;

const NPY_MAGIC = [0x93, 0x4e, 0x55, 0x4d, 0x50, 0x59]; // \x93NUMPY

type Reader = (dv: DataView, off: number, le: boolean) => number;
const DTYPES: Record<string, { size: number; read: Reader; float: boolean }> = {
  f4: { size: 4, read: (d, o, le) => d.getFloat32(o, le), float: true },
  f8: { size: 8, read: (d, o, le) => d.getFloat64(o, le), float: true },
  i1: { size: 1, read: (d, o) => d.getInt8(o), float: false },
  u1: { size: 1, read: (d, o) => d.getUint8(o), float: false },
  b1: { size: 1, read: (d, o) => (d.getUint8(o) ? 1 : 0), float: false },
  i2: { size: 2, read: (d, o, le) => d.getInt16(o, le), float: false },
  u2: { size: 2, read: (d, o, le) => d.getUint16(o, le), float: false },
  i4: { size: 4, read: (d, o, le) => d.getInt32(o, le), float: false },
  u4: { size: 4, read: (d, o, le) => d.getUint32(o, le), float: false },
  i8: { size: 8, read: (d, o, le) => Number(d.getBigInt64(o, le)), float: false },
  u8: { size: 8, read: (d, o, le) => Number(d.getBigUint64(o, le)), float: false },
};

/**
 * Parse a NumPy `.npy` file (format versions 1, 2 and 3). Dtypes: f4, f8, i1, i2, i4, i8, u1,
 * u2, u4, u8, b1, little- or big-endian. Shape (n,) is read as one column, (r, c) as a matrix;
 * `fortran_order: True` is transposed into row-major. Values become float32; NaN/Inf and
 * values beyond float32 are errors naming the row and column.
 */
export function parseNpy(bytes: Uint8Array, options: ParseNpyOptions): Matrix {
  const o = parseOptions(parseNpyOptionsSchema, options, 'parseNpy');
  const source = typeof o.source === 'string' && o.source ? o.source : '<npy>';
  if (!(bytes instanceof Uint8Array)) {
    throw new RnodeError('INVALID_ARGUMENT', `parseNpy expects a Uint8Array`, { source: `file:${source}` });
  }
  if (bytes.length < 10 || !NPY_MAGIC.every((b, i) => bytes[i] === b)) {
    fail(source, 'not a .npy file (bad magic: expected \\x93NUMPY)');
  }
  const major = bytes[6]!;
  const dv = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  let headerLen: number;
  let headerStart: number;
  if (major === 1) {
    headerLen = dv.getUint16(8, true);
    headerStart = 10;
  } else if (major === 2 || major === 3) {
    if (bytes.length < 12) fail(source, 'truncated .npy header');
    headerLen = dv.getUint32(8, true);
    headerStart = 12;
  } else {
    fail(source, `unsupported .npy format version ${major}.${bytes[7]} (1, 2 and 3 are supported)`);
  }
  const dataStart = headerStart + headerLen;
  if (bytes.length < dataStart) fail(source, `truncated .npy header (needs ${dataStart} bytes, file has ${bytes.length})`);
  const headerBytes = bytes.subarray(headerStart, dataStart);
  const header = major === 3 ? new TextDecoder('utf-8').decode(headerBytes) : String.fromCharCode(...headerBytes);

  const descrM = /['"]descr['"]\s*:\s*['"]([^'"]+)['"]/.exec(header);
  const fortranM = /['"]fortran_order['"]\s*:\s*(True|False)/.exec(header);
  const shapeM = /['"]shape['"]\s*:\s*\(([^)]*)\)/.exec(header);
  if (!descrM || !fortranM || !shapeM) fail(source, `malformed .npy header ${JSON.stringify(header.trim())}`);
  const descr = descrM[1]!;
  const dm = /^([<>|=])([a-z]\d+)$/.exec(descr);
  const dtype = dm ? DTYPES[dm[2]!] : undefined;
  if (!dm || !dtype) {
    fail(source, `unsupported dtype '${descr}' (supported: ${Object.keys(DTYPES).join(', ')}, either byte order)`);
  }
  const le = dm[1] !== '>';
  const fortran = fortranM[1] === 'True';
  const dims = shapeM[1]!
    .split(',')
    .map((s) => s.trim())
    .filter((s) => s !== '')
    .map(Number);
  if (dims.some((d) => !Number.isInteger(d) || d < 0)) fail(source, `bad shape (${shapeM[1]})`);
  let rows: number;
  let cols: number;
  if (dims.length === 1) [rows, cols] = [dims[0]!, 1];
  else if (dims.length === 2) [rows, cols] = [dims[0]!, dims[1]!];
  else fail(source, `expected a 1-D or 2-D array, got shape (${dims.join(', ')})`);
  if (rows === 0 || cols === 0) fail(source, `no data (shape (${dims.join(', ')}))`);
  const count = rows * cols;
  const need = count * dtype.size;
  if (bytes.length - dataStart < need) {
    fail(source, `truncated data: shape (${dims.join(', ')}) of '${descr}' needs ${need} bytes, found ${bytes.length - dataStart}`);
  }
  if (bytes.length - dataStart > need) {
    fail(source, `${bytes.length - dataStart - need} trailing bytes after the data: shape (${dims.join(', ')}) of '${descr}' is ${need} bytes, the file holds ${bytes.length - dataStart} (a wrong shape in the header, or a corrupt file)`);
  }
  const out = new Float32Array(count);
  for (let k = 0; k < count; k++) {
    const v = dtype.read(dv, dataStart + k * dtype.size, le);
    // Storage index k -> (r, c): C order is row-major, Fortran order column-major.
    const r = fortran ? k % rows : Math.floor(k / cols);
    const c = fortran ? Math.floor(k / rows) : k % cols;
    const f = Math.fround(v);
    if (!Number.isFinite(f)) {
      fail(source, `row ${r + 1}, column ${c + 1}: ${Number.isNaN(v) ? 'NaN' : Number.isFinite(v) ? `${v} overflows float32` : String(v)} (non-finite values are not allowed)`, {
        row: r + 1,
        column: c + 1,
      });
    }
    out[r * cols + c] = f;
  }
  return { data: out, rows, cols };
}

// ---------------------------------------------------------------- splits and standardisation

const fraction = z.custom<number>((v) => typeof v === 'number' && v >= 0 && v < 1, { error: 'a fraction in [0, 1)' });

/** The options of `splitTabular` (type and run-time check). */
export const splitOptionsSchema = z.object({
  /** Fraction of all rows held out for test (default 0.1). */
  test: z.optional(fraction),
  /** Fraction of the remaining rows held out for validation (default 0.1). */
  validation: z.optional(fraction),
});

export type SplitOptions = z.input<typeof splitOptionsSchema>;

export interface TabularSplit {
  readonly train: Matrix;
  readonly validation: Matrix;
  readonly test: Matrix;
  /** Row indices of the input matrix in each split. */
  readonly indices: { readonly train: Int32Array; readonly validation: Int32Array; readonly test: Int32Array };
}

/** Copy the given rows of m into a new matrix. */
export function takeRows(m: Matrix, idx: ArrayLike<number>): Matrix {
  const out = new Float32Array(idx.length * m.cols);
  for (let i = 0; i < idx.length; i++) out.set(m.data.subarray(idx[i]! * m.cols, (idx[i]! + 1) * m.cols), i * m.cols);
  return { data: out, rows: idx.length, cols: m.cols };
}

function checkMatrix(m: Matrix, name: string): void {
  if (
    !m ||
    !(m.data instanceof Float32Array) ||
    !Number.isInteger(m.rows) ||
    !Number.isInteger(m.cols) ||
    m.rows < 0 ||
    m.cols < 1 ||
    m.data.length !== m.rows * m.cols
  ) {
    throw new RnodeError('INVALID_ARGUMENT', `${name} must be { data: Float32Array, rows, cols } with data.length = rows·cols`);
  }
}

/**
 * Shuffle the rows with `rng` and split them as MAF/FFJORD do: ⌊test·N⌋ rows for test, then
 * ⌊validation·(N − test)⌋ of the rest for validation, the remainder for training.
 */
export function splitTabular(m: Matrix, rng: Random, options: SplitOptions = {}): TabularSplit {
  const o = parseOptions(splitOptionsSchema, options, 'splitTabular');
  checkMatrix(m, 'splitTabular: the matrix');
  const test = o.test ?? 0.1;
  const validation = o.validation ?? 0.1;
  const n = m.rows;
  const nTest = Math.floor(test * n);
  const nVal = Math.floor(validation * (n - nTest));
  const nTrain = n - nTest - nVal;
  if (nTrain < 1) {
    throw new RnodeError('INVALID_DATA', `splitTabular: ${n} rows leave no training rows`, { source: 'splitTabular' });
  }
  const perm = rng.permutation(n);
  const idx = {
    train: perm.slice(0, nTrain),
    validation: perm.slice(nTrain, nTrain + nVal),
    test: perm.slice(nTrain + nVal),
  };
  return {
    train: takeRows(m, idx.train),
    validation: takeRows(m, idx.validation),
    test: takeRows(m, idx.test),
    indices: idx,
  };
}

export interface Standardizer {
  /** Column means of the training matrix. */
  readonly mean: Float32Array;
  /** Column standard deviations (population, ddof = 0, as NumPy's `std`); 1 for constant columns. */
  readonly std: Float32Array;
  /** Indices of the columns whose training values are all equal (within 1e-12 relative). */
  readonly constantColumns: readonly number[];
  /** (m − mean) / std, a new matrix. */
  apply(m: Matrix): Matrix;
  /** m·std + mean, a new matrix. */
  invert(m: Matrix): Matrix;
}

/**
 * Column statistics of the training split, to apply to every split (MAF: `(x − μ) / σ`). A
 * constant column (σ ≤ 1e-12·max(1, |μ|)) gets σ = 1: it is centred to 0 rather than divided
 * by zero, and listed in `constantColumns` so callers can drop it.
 */
export function standardize(train: Matrix): Standardizer {
  checkMatrix(train, 'standardize: the training matrix');
  const { rows, cols, data } = train;
  if (rows < 1) throw new RnodeError('INVALID_DATA', 'standardize: the training matrix has no rows', { source: 'standardize' });
  const mean64 = new Float64Array(cols);
  for (let r = 0; r < rows; r++) for (let c = 0; c < cols; c++) mean64[c]! += data[r * cols + c]!;
  for (let c = 0; c < cols; c++) mean64[c]! /= rows;
  const var64 = new Float64Array(cols);
  for (let r = 0; r < rows; r++) {
    for (let c = 0; c < cols; c++) {
      const d = data[r * cols + c]! - mean64[c]!;
      var64[c]! += d * d;
    }
  }
  const mean = new Float32Array(cols);
  const std = new Float32Array(cols);
  const constantColumns: number[] = [];
  for (let c = 0; c < cols; c++) {
    const s = Math.sqrt(var64[c]! / rows);
    mean[c] = mean64[c]!;
    if (s <= 1e-12 * Math.max(1, Math.abs(mean64[c]!))) {
      std[c] = 1;
      constantColumns.push(c);
    } else std[c] = s;
  }
  const check = (m: Matrix, what: string) => {
    checkMatrix(m, what);
    if (m.cols !== cols) {
      throw new RnodeError('SHAPE_MISMATCH', `${what}: expected ${cols} columns (as the training matrix), got ${m.cols}`);
    }
  };
  return {
    mean,
    std,
    constantColumns,
    apply(m) {
      check(m, 'standardize.apply');
      const out = new Float32Array(m.data.length);
      for (let i = 0; i < out.length; i++) out[i] = (m.data[i]! - mean[i % cols]!) / std[i % cols]!;
      return { data: out, rows: m.rows, cols };
    },
    invert(m) {
      check(m, 'standardize.invert');
      const out = new Float32Array(m.data.length);
      for (let i = 0; i < out.length; i++) out[i] = m.data[i]! * std[i % cols]! + mean[i % cols]!;
      return { data: out, rows: m.rows, cols };
    },
  };
}

/** Upload a matrix as a float32 tensor [rows, cols] (the caller owns it). */
export function matrixToTensor(m: Matrix): tf.Tensor2D {
  checkMatrix(m, 'matrixToTensor: the matrix');
  return tf.tensor2d(m.data, [m.rows, m.cols], 'float32');
}
