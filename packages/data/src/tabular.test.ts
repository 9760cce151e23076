import * as tf from '@tensorflow/tfjs-core';
import { Random, isRnodeError } from '@rnode/core';
import { describe, expect, it } from 'vitest';
import { matrixToTensor, parseCsv, parseNpy, splitTabular, standardize, type Matrix } from './index.js';
import { encodeNpy } from './testing/index.js';

function catchError(fn: () => unknown): Error & { code?: string; details?: Record<string, unknown> } {
  try {
    fn();
  } catch (e) {
    return e as Error;
  }
  throw new Error('expected an error');
}

describe('parseCsv', () => {
  it('parses a headed CSV (auto header), CRLF, blank and # comment lines, quoted cells', () => {
    const m = parseCsv('# made by hand\r\na,"b, c",d\r\n1,2,3\r\n\r\n"4.5", -5e-1 ,+6\r\n', { source: 'x.csv' });
    expect(m.columns).toEqual(['a', 'b, c', 'd']);
    expect(m.rows).toBe(2);
    expect(m.cols).toBe(3);
    expect(Array.from(m.data)).toEqual([1, 2, 3, 4.5, -0.5, 6]);
  });

  it('parses headerless data, tabs, semicolons and whitespace (numpy.savetxt)', () => {
    expect(parseCsv('1,2\n3,4\n', { source: 's' }).columns).toBeUndefined();
    expect(Array.from(parseCsv('1\t2\n3\t4', { source: 's' }).data)).toEqual([1, 2, 3, 4]);
    expect(Array.from(parseCsv('1;2\n3;4', { source: 's' }).data)).toEqual([1, 2, 3, 4]);
    const ws = parseCsv('  1.000000000000000000e+00 2.5e+00\n3   4  \n', { source: 's.txt' });
    expect([ws.rows, ws.cols]).toEqual([2, 2]);
    expect(Array.from(ws.data)).toEqual([1, 2.5, 3, 4]);
    expect(parseCsv('.5,1.\n', { source: 's' }).data[0]).toBe(0.5);
  });

  it('header: true skips a numeric first row; header: false makes a text first row an error', () => {
    const m = parseCsv('1,2\n3,4\n', { source: 's', header: true });
    expect(m.columns).toEqual(['1', '2']);
    expect(m.rows).toBe(1);
    const e = catchError(() => parseCsv('x,y\n3,4\n', { source: 'h.csv', header: false }));
    expect(e.message).toMatch(/h\.csv: line 1, column 1: not a number: "x"/);
  });

  const bad: Array<[string, string, RegExp, { line?: number; column?: number }]> = [
    ['ragged row', 'a,b\n1,2\n3,4,5\n', /bad\.csv: line 3: expected 2 columns \(as on line 1\), found 3/, { line: 3 }],
    ['short row', '1,2\n3\n', /line 2: expected 2 columns \(as on line 1\), found 1/, { line: 2 }],
    ['non-numeric cell', 'a,b\n1,2\n3,abc\n', /bad\.csv: line 3, column 2: not a number: "abc"/, { line: 3, column: 2 }],
    ['NaN', '1,2\nNaN,4\n', /line 2, column 1: non-finite value "NaN"/, { line: 2, column: 1 }],
    ['Inf', '1,2\n3,-inf\n', /line 2, column 2: non-finite value "-inf"/, { line: 2, column: 2 }],
    ['float32 overflow', '1,2\n3,1e39\n', /line 2, column 2: "1e39" overflows float32/, { line: 2, column: 2 }],
    ['empty cell', '1,2\n3,\n', /line 2, column 2: empty cell/, { line: 2, column: 2 }],
    ['empty file', '', /bad\.csv: empty file/, {}],
    ['only comments', '# nothing\n\n', /empty file/, {}],
    ['header only', 'x,y\n', /bad\.csv: no data rows \(only a header on line 1\)/, { line: 1 }],
    ['unterminated quote', '1,"2\n', /line 1: unterminated quoted cell/, { line: 1 }],
  ];
  it.each(bad)('%s → INVALID_DATA naming file, line and column', (_k, text, re, where) => {
    const e = catchError(() => parseCsv(text, { source: 'bad.csv' }));
    expect(isRnodeError(e, 'INVALID_DATA')).toBe(true);
    expect(e.message).toMatch(re);
    expect((e as { source?: string }).source).toBe('file:bad.csv');
    if (where.line !== undefined) expect(e.details?.line).toBe(where.line);
    if (where.column !== undefined) expect(e.details?.column).toBe(where.column);
  });

  it('rejects unknown options and bad delimiters', () => {
    expect(() => parseCsv('1', { source: 's', delim: ',' } as never)).toThrow(/unknown option "delim"/);
    expect(() => parseCsv('1', { source: 's', delimiter: '::' })).toThrow(/delimiter/);
  });
});

describe('parseNpy', () => {
  const rows = 3;
  const cols = 2;
  const vals = [1, -2, 3.5, 4, 5, -6.25];

  for (const descr of ['<f4', '<f8', '<i4', '<i8', '|u1', '<u2', '>f4', '>i4', '<i2', '|i1']) {
    for (const fortranOrder of [false, true]) {
      it(`${descr} ${fortranOrder ? 'fortran' : 'C'} order`, () => {
        const v = descr.includes('u') ? vals.map((x) => Math.abs(Math.trunc(x))) : descr.includes('i') ? vals.map(Math.trunc) : vals;
        const m = parseNpy(encodeNpy(v, rows, cols, { descr, fortranOrder }), { source: 'a.npy' });
        expect([m.rows, m.cols]).toEqual([rows, cols]);
        expect(Array.from(m.data)).toEqual(v);
      });
    }
  }

  it('reads format versions 2 and 3, and a 1-D array as one column', () => {
    for (const version of [2, 3] as const) {
      const m = parseNpy(encodeNpy(vals, rows, cols, { version }), { source: 'v.npy' });
      expect(Array.from(m.data)).toEqual(vals);
    }
    const col = parseNpy(encodeNpy([1, 2, 3], 3, 1, { shape: [3] }), { source: 'c.npy' });
    expect([col.rows, col.cols]).toEqual([3, 1]);
    expect(Array.from(col.data)).toEqual([1, 2, 3]);
  });

  it('errors: bad magic, truncated data and header, unsupported dtype/version/rank, NaN, empty', () => {
    const good = encodeNpy(vals, rows, cols);
    const cases: Array<[Uint8Array, RegExp]> = [
      [new TextEncoder().encode('1,2,3\n4,5,6\n'), /b\.npy: not a \.npy file \(bad magic/],
      [good.subarray(0, good.length - 3), /b\.npy: truncated data: shape \(3, 2\) of '<f4' needs 24 bytes, found 21/],
      [good.subarray(0, 40), /truncated \.npy header/],
      [patchDescr(good, '<f4', '<c8'), /unsupported dtype '<c8'/],
      [patchVersion(good, 4), /unsupported \.npy format version 4/],
      [encodeNpy([1, 2, 3, 4, 5, 6, 7, 8], 2, 4, { shape: [2, 2, 2] }), /expected a 1-D or 2-D array, got shape \(2, 2, 2\)/],
      [encodeNpy([1, Number.NaN, 3, 4], 2, 2), /row 1, column 2: NaN/],
      [encodeNpy([1, 2, 3, Infinity], 2, 2, { descr: '<f8' }), /row 2, column 2: Infinity/],
      [encodeNpy([], 0, 2), /no data \(shape \(0, 2\)\)/],
    ];
    for (const [bytes, re] of cases) {
      const e = catchError(() => parseNpy(bytes, { source: 'b.npy' }));
      expect(isRnodeError(e, 'INVALID_DATA'), e.message).toBe(true);
      expect(e.message).toMatch(re);
    }
  });
});

function patchDescr(bytes: Uint8Array, from: string, to: string): Uint8Array {
  const s = Array.from(bytes.subarray(0, 128), (b) => String.fromCharCode(b)).join('');
  const i = s.indexOf(from);
  const out = bytes.slice();
  for (let k = 0; k < to.length; k++) out[i + k] = to.charCodeAt(k);
  return out;
}
function patchVersion(bytes: Uint8Array, v: number): Uint8Array {
  const out = bytes.slice();
  out[6] = v;
  return out;
}

describe('splitTabular and standardize', () => {
  const n = 1000;
  const cols = 3;
  const m: Matrix = {
    rows: n,
    cols,
    data: Float32Array.from({ length: n * cols }, (_, k) => (k % cols === 0 ? Math.floor(k / cols) : k % cols === 1 ? 7 : (k % 17) - 3)),
  };

  it('MAF sizes (10 % test, 10 % of the rest validation), disjoint, covering, seeded', () => {
    const s = splitTabular(m, new Random(5));
    expect([s.train.rows, s.validation.rows, s.test.rows]).toEqual([810, 90, 100]);
    const ids = [...s.indices.train, ...s.indices.validation, ...s.indices.test];
    expect(new Set(ids).size).toBe(n);
    // Column 0 holds the row index: the rows moved with their indices.
    for (const [part, idx] of [[s.train, s.indices.train], [s.test, s.indices.test]] as const) {
      for (let i = 0; i < idx.length; i++) expect(part.data[i * cols]).toBe(idx[i]);
    }
    expect(splitTabular(m, new Random(5)).indices.test).toEqual(s.indices.test);
    expect(splitTabular(m, new Random(6)).indices.test).not.toEqual(s.indices.test);
    const s2 = splitTabular(m, new Random(5), { test: 0.2, validation: 0 });
    expect([s2.train.rows, s2.validation.rows, s2.test.rows]).toEqual([800, 0, 200]);
    expect(() => splitTabular(m, new Random(5), { test: 1 })).toThrow(/fraction in \[0, 1\)/);
    expect(() => splitTabular({ rows: 1, cols: 1, data: new Float32Array(1) }, new Random(0), { test: 0.5, validation: 0.9 })).not.toThrow();
  });

  it('standardize uses the training split only; constant columns get std 1; invert round-trips', () => {
    const s = splitTabular(m, new Random(5));
    const st = standardize(s.train);
    // Statistics from train only (not the full matrix).
    const col0 = Array.from(s.indices.train);
    const mu0 = col0.reduce((a, b) => a + b, 0) / col0.length;
    const sd0 = Math.sqrt(col0.reduce((a, b) => a + (b - mu0) ** 2, 0) / col0.length);
    expect(st.mean[0]).toBeCloseTo(mu0, 2);
    expect(st.std[0]).toBeCloseTo(sd0, 2);
    expect(st.mean[0]).not.toBeCloseTo((n - 1) / 2, 1);
    expect(st.constantColumns).toEqual([1]);
    expect(st.std[1]).toBe(1);
    const z = st.apply(s.train);
    for (let c = 0; c < cols; c++) {
      let sum = 0;
      let sq = 0;
      for (let r = 0; r < z.rows; r++) (sum += z.data[r * cols + c]!, (sq += z.data[r * cols + c]! ** 2));
      expect(sum / z.rows).toBeCloseTo(0, 4);
      expect(sq / z.rows).toBeCloseTo(c === 1 ? 0 : 1, 3);
    }
    const zt = st.apply(s.test);
    const back = st.invert(zt);
    for (let i = 0; i < back.data.length; i++) expect(back.data[i]).toBeCloseTo(s.test.data[i]!, 2);
    expect(() => st.apply({ rows: 1, cols: 2, data: new Float32Array(2) })).toThrow(/expected 3 columns/);
  });

  it('matrixToTensor uploads [rows, cols]', () => {
    const before = tf.memory().numTensors;
    const t = matrixToTensor({ rows: 2, cols: 2, data: Float32Array.of(1, 2, 3, 4) });
    expect(t.shape).toEqual([2, 2]);
    t.dispose();
    expect(tf.memory().numTensors).toBe(before);
  });
});
