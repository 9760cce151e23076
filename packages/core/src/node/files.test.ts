import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync, writeSync } from 'node:fs';
import { hostname, tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, expect, test } from 'vitest';
import { isRnodeError } from '../errors.js';
import { acquireRunLock, appendFileDurable, cleanTempFiles, ensureWritableDir, LOCK_FILE, writeFileAtomic } from './index.js';

const dir = mkdtempSync(join(tmpdir(), 'rnode-core-files-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const enospc = (): never => {
  throw Object.assign(new Error('ENOSPC: no space left on device, write'), { code: 'ENOSPC' });
};

/** A disk that takes `room` more bytes, in short writes of at most 1000, then fails with ENOSPC. */
function fullDisk(room: number) {
  let left = room;
  return (fd: number, b: Uint8Array, off: number, len: number): number => {
    if (left <= 0) enospc();
    const n = Math.min(len, 1000, left);
    left -= n;
    return writeSync(fd, b, off, n);
  };
}

test('writeFileAtomic: short writes are completed; a full disk leaves the previous file byte-identical and no temp file', () => {
  const p = join(dir, 'a', 'last.json');
  const old = 'x'.repeat(5000);
  writeFileAtomic(p, old);
  // Short writes only (at most 1000 bytes per call): looped to completion.
  const big = 'y'.repeat(12_345);
  writeFileAtomic(p, big, { fs: { writeSync: fullDisk(1e9) } });
  expect(readFileSync(p, 'utf8')).toBe(big);
  writeFileAtomic(p, old);
  // Room for 3,000 bytes of 12,345: short writes, then ENOSPC.
  let err: unknown;
  try {
    writeFileAtomic(p, big, { fs: { writeSync: fullDisk(3000) }, what: 'checkpoint ' });
  } catch (e) {
    err = e;
  }
  expect(isRnodeError(err, 'IO_ERROR')).toBe(true);
  expect((err as Error).message).toContain(`could not write checkpoint ${p}: no space left on device (ENOSPC)`);
  expect((err as { details?: { errno?: string } }).details?.errno).toBe('ENOSPC');
  expect(readFileSync(p, 'utf8')).toBe(old);
  expect(readdirSync(join(dir, 'a'))).toEqual(['last.json']);
  // A write that reports 0 bytes (no progress) is ENOSPC too, not an endless loop or a short file.
  expect(() => writeFileAtomic(p, big, { fs: { writeSync: () => 0 } })).toThrow(/ENOSPC/);
  expect(readFileSync(p, 'utf8')).toBe(old);
});

test('writeFileAtomic: a write that claims success but stored other bytes fails the read-back check', () => {
  const p = join(dir, 'b.json');
  writeFileAtomic(p, 'previous');
  // The "disk" reports every byte written but stores a flipped one (the byte count alone cannot tell).
  const liar = (fd: number, b: Uint8Array, off: number, len: number): number => {
    const copy = Buffer.from(b.subarray(off, off + len));
    copy[0] = copy[0]! ^ 1;
    writeSync(fd, copy, 0, len);
    return len;
  };
  expect(() => writeFileAtomic(p, 'the new contents', { fs: { writeSync: liar } })).toThrow(/read-back check failed/);
  expect(readFileSync(p, 'utf8')).toBe('previous');
  expect(readdirSync(dir).filter((n) => n.endsWith('.tmp'))).toEqual([]);
});

test('appendFileDurable: a failed append leaves no torn line', () => {
  const p = join(dir, 'm.jsonl');
  appendFileDurable(p, '{"a":1}\n');
  expect(() => appendFileDurable(p, `{"b":"${'z'.repeat(5000)}"}\n`, { fs: { writeSync: fullDisk(1500) } })).toThrow(/ENOSPC/);
  expect(readFileSync(p, 'utf8')).toBe('{"a":1}\n');
  appendFileDurable(p, '{"c":3}\n');
  expect(readFileSync(p, 'utf8')).toBe('{"a":1}\n{"c":3}\n');
});

test('cleanTempFiles removes the temp files of dead processes, keeps live ones and other files', () => {
  const d = join(dir, 'tmpfiles');
  ensureWritableDir(d);
  const dead = spawnSync(process.execPath, ['-e', 'process.stdout.write(String(process.pid))'], { encoding: 'utf8' });
  const deadPid = Number(dead.stdout);
  writeFileSync(join(d, `.last.json.${deadPid}.0badc0de.tmp`), 'partial');
  writeFileSync(join(d, `.metrics.jsonl.${deadPid}.12345678.tmp`), 'partial');
  writeFileSync(join(d, `.best.json.${deadPid}.3.tmp`), 'left by an older version');
  writeFileSync(join(d, `.best.json.${process.pid}.abcdef01.tmp`), 'in flight');
  writeFileSync(join(d, 'last.json'), '{}');
  expect(cleanTempFiles(d).sort()).toEqual([`.best.json.${deadPid}.3.tmp`, `.last.json.${deadPid}.0badc0de.tmp`, `.metrics.jsonl.${deadPid}.12345678.tmp`]);
  expect(readdirSync(d).sort()).toEqual([`.best.json.${process.pid}.abcdef01.tmp`, 'last.json']);
});

test('acquireRunLock: a live holder is an error naming its pid; a dead one is taken over with a warning', () => {
  const d = join(dir, 'lock');
  ensureWritableDir(d);
  // A live process on this host holds it (the parent of this test: alive for the whole test).
  writeFileSync(join(d, LOCK_FILE), JSON.stringify({ pid: process.ppid, host: hostname(), started: '2020-01-01T00:00:00.000Z', command: 'rnode train' }));
  expect(() => acquireRunLock(d)).toThrow(new RegExp(`in use by another run: pid ${process.ppid} on ${hostname()}`));
  // Another host: cannot tell whether it is alive, so it is an error too.
  writeFileSync(join(d, LOCK_FILE), JSON.stringify({ pid: 1, host: 'elsewhere', started: 'x', command: 'rnode train' }));
  expect(() => acquireRunLock(d)).toThrow(/pid 1 on elsewhere/);
  // A dead process on this host: taken over.
  const deadPid = Number(spawnSync(process.execPath, ['-e', 'process.stdout.write(String(process.pid))'], { encoding: 'utf8' }).stdout);
  writeFileSync(join(d, LOCK_FILE), JSON.stringify({ pid: deadPid, host: hostname(), started: 'then', command: 'rnode train' }));
  const warnings: string[] = [];
  const lock = acquireRunLock(d, { command: 'test', warn: (m) => warnings.push(m) });
  expect(warnings).toEqual([expect.stringContaining(`stale lock ${join(d, LOCK_FILE)} of pid ${deadPid}`)]);
  expect(JSON.parse(readFileSync(lock.path, 'utf8'))).toMatchObject({ pid: process.pid, host: hostname(), command: 'test' });
  expect(() => acquireRunLock(d)).toThrow(/already locked by this process/);
  lock.release();
  expect(existsSync(join(d, LOCK_FILE))).toBe(false);
  expect(readdirSync(d)).toEqual([]);
});

test('ensureWritableDir: a file in the way is a usage error (INVALID_ARGUMENT) naming the path', () => {
  const f = join(dir, 'afile');
  writeFileSync(f, '');
  let err: unknown;
  try {
    ensureWritableDir(join(f, 'sub'));
  } catch (e) {
    err = e;
  }
  expect(isRnodeError(err, 'INVALID_ARGUMENT')).toBe(true);
  expect((err as Error).message).toContain(`cannot use output directory ${join(f, 'sub')}: a parent of it is not a directory (ENOTDIR)`);
  expect(() => ensureWritableDir(f)).toThrow(/(ENOTDIR|EEXIST)/);
});
