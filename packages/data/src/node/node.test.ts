import { mkdtempSync, mkdirSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { isRnodeError } from '@rnode/core';
import { describe, expect, it } from 'vitest';
import { encodeNpy } from '../testing/index.js';
import { readTabularFile } from './index.js';

const dir = mkdtempSync(join(tmpdir(), 'rnode-data-'));
const file = (name: string, content: string | Uint8Array) => {
  const p = join(dir, name);
  writeFileSync(p, content);
  return p;
};

describe('readTabularFile', () => {
  it('reads .csv, .tsv, .txt and .npy by extension', async () => {
    expect(Array.from((await readTabularFile(file('a.csv', 'x,y\n1,2\n3,4\n'))).data)).toEqual([1, 2, 3, 4]);
    expect(Array.from((await readTabularFile(file('a.tsv', '1\t2\n3\t4\n'))).data)).toEqual([1, 2, 3, 4]);
    expect(Array.from((await readTabularFile(file('a.txt', '1 2\n3 4\n'))).data)).toEqual([1, 2, 3, 4]);
    const m = await readTabularFile(file('a.npy', encodeNpy([1, 2, 3, 4], 2, 2, { descr: '<f8', fortranOrder: true })));
    expect([m.rows, m.cols, ...m.data]).toEqual([2, 2, 1, 2, 3, 4]);
    expect((await readTabularFile(file('data.bin', '1,2\n'), { format: 'csv' })).cols).toBe(2);
  });

  it('a missing file is IO_ERROR with the path', async () => {
    const p = join(dir, 'missing.csv');
    const e = await readTabularFile(p).catch((x: unknown) => x);
    expect(isRnodeError(e, 'IO_ERROR')).toBe(true);
    expect((e as Error).message).toContain(p);
    expect((e as Error).message).toContain('no such file');
    mkdirSync(join(dir, 'd.csv'));
    await expect(readTabularFile(join(dir, 'd.csv'))).rejects.toThrow(/is a directory/);
  });

  it('bad content names the file; an unknown extension is an options error', async () => {
    await expect(readTabularFile(file('bad.csv', '1,2\n3,x\n'))).rejects.toThrow(/bad\.csv: line 2, column 2: not a number: "x"/);
    await expect(readTabularFile(file('bad.npy', 'hello'))).rejects.toThrow(/bad\.npy: not a \.npy file/);
    await expect(readTabularFile(file('a.json', '[]'))).rejects.toThrow(/extension "\.json"/);
  });
});
