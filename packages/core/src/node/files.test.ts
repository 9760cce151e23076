import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, utimesSync, writeFileSync, writeSync } from 'node:fs';
import { hostname, tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, expect, test } from 'vitest';
import { isRnodeError } from '../errors.js';
import { acquireRunLock, appendFileDurable, cleanTempFiles, ensureWritableDir, LOCK_FILE, waitForForeignRunLock, writeFileAtomic } from './index.js';

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

test('acquireRunLock on another host: a renewed lock is busy, one whose heartbeat stopped is taken over', () => {
  const d = join(dir, 'lock-hosts');
  ensureWritableDir(d);
  const lockPath = join(d, LOCK_FILE);
  const foreign = (heartbeatMs?: number) => JSON.stringify({ pid: 4242, host: 'elsewhere', started: 'then', command: 'rnode train', ...(heartbeatMs ? { heartbeatMs } : {}) });
  const age = (ms: number) => {
    const t = new Date(Date.now() - ms);
    utimesSync(lockPath, t, t);
  };
  // renewed 10 s ago (heartbeat every 30 s): busy, and the message says when it would be taken over
  writeFileSync(lockPath, foreign(30_000));
  age(10_000);
  expect(() => acquireRunLock(d, { heartbeatMs: 0 })).toThrow(/pid 4242 on elsewhere \(rnode train, started then, renewed 1\d s ago\) holds .*taken over once not renewed for 150 s/);
  // an old lock without a heartbeat: whatever its age, another host cannot tell — busy, as before
  writeFileSync(lockPath, foreign());
  age(3_600_000);
  expect(() => acquireRunLock(d, { heartbeatMs: 0 })).toThrow(/pid 4242 on elsewhere .*remove the lock if that process is gone/);
  // not renewed for an hour: the machine went down with its run — taken over with a warning
  writeFileSync(lockPath, foreign(30_000));
  age(3_600_000);
  const warnings: string[] = [];
  const lock = acquireRunLock(d, { command: 'test', heartbeatMs: 0, warn: (m) => warnings.push(m) });
  expect(warnings).toEqual([expect.stringMatching(/taking over the lock .* of pid 4242 on elsewhere .*not renewed for 36\d\d s \(its heartbeat is every 30 s\)/)]);
  lock.release();
  // a custom staleMs, floored at 4 heartbeats: 100 s silent with staleMs 60 s is stale for a 10 s heartbeat, not for a 40 s one
  writeFileSync(lockPath, foreign(10_000));
  age(100_000);
  acquireRunLock(d, { heartbeatMs: 0, staleMs: 60_000 }).release();
  writeFileSync(lockPath, foreign(40_000));
  age(100_000);
  expect(() => acquireRunLock(d, { heartbeatMs: 0, staleMs: 60_000 })).toThrow(/renewed 10\d s ago/);
  rmSync(lockPath);
});

test('acquireRunLock renews its lock from a worker thread, even while the main thread is blocked', async () => {
  const d = join(dir, 'lock-beat');
  ensureWritableDir(d);
  const lock = acquireRunLock(d, { command: 'test', heartbeatMs: 100 });
  const bytes = readFileSync(lock.path, 'utf8');
  expect(JSON.parse(bytes)).toMatchObject({ heartbeatMs: 100 });
  await new Promise((r) => setTimeout(r, 300)); // the worker is up
  const old = new Date(Date.now() - 3_600_000);
  utimesSync(lock.path, old, old);
  Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 600); // a 600 ms synchronous step
  expect(Date.now() - statSync(lock.path).mtimeMs).toBeLessThan(2_000); // renewed meanwhile
  expect(readFileSync(lock.path, 'utf8')).toBe(bytes); // the same bytes, never torn
  lock.release();
  expect(existsSync(lock.path)).toBe(false);
  // a lock that is no longer ours (taken over) is left alone by the old heartbeat
  const lock2 = acquireRunLock(d, { command: 'test', heartbeatMs: 50 });
  await new Promise((r) => setTimeout(r, 200));
  writeFileSync(lock2.path, JSON.stringify({ pid: 4242, host: 'elsewhere', started: 'now', command: 'other' }));
  await new Promise((r) => setTimeout(r, 300));
  expect(JSON.parse(readFileSync(lock2.path, 'utf8'))).toMatchObject({ pid: 4242, host: 'elsewhere' });
  lock2.release(); // not ours: stays
  expect(existsSync(lock2.path)).toBe(true);
  rmSync(lock2.path);
});

test('waitForForeignRunLock: waits while another host renews the lock, until it is released or goes stale', async () => {
  const d = join(dir, 'lock-wait');
  ensureWritableDir(d);
  const lockPath = join(d, LOCK_FILE);
  const foreign = JSON.stringify({ pid: 4242, host: 'elsewhere', started: 'then', command: 'rnode train', heartbeatMs: 50 });
  // nothing to wait for: free, this host's lock, a lock without a heartbeat
  expect(await waitForForeignRunLock(d)).toBeNull();
  writeFileSync(lockPath, JSON.stringify({ pid: process.pid, host: hostname(), started: 'x', command: 'x', heartbeatMs: 50 }));
  expect(await waitForForeignRunLock(d)).toBeNull();
  writeFileSync(lockPath, JSON.stringify({ pid: 4242, host: 'elsewhere', started: 'x', command: 'x' }));
  expect(await waitForForeignRunLock(d)).toBeNull();
  // a live holder elsewhere renews it; it releases after ~600 ms: the wait ends then
  writeFileSync(lockPath, foreign);
  const renew = setInterval(() => {
    const t = new Date();
    if (existsSync(lockPath)) utimesSync(lockPath, t, t);
  }, 50);
  // (maxWaitMs above the release time: with its default, twice the stale time = 600 ms, the wait could
  // end by giving up just before the release, which would then delete the next case's lock)
  const released = new Promise<void>((resolve) => setTimeout(() => (rmSync(lockPath, { force: true }), resolve()), 600));
  let t0 = Date.now();
  expect(await waitForForeignRunLock(d, { pollMs: 50, staleMs: 300, maxWaitMs: 5_000 })).toMatchObject({ pid: 4242, host: 'elsewhere' });
  expect(Date.now() - t0).toBeGreaterThanOrEqual(550);
  expect(Date.now() - t0).toBeLessThan(3_000);
  expect(existsSync(lockPath)).toBe(false); // it ended because the lock was released
  await released;
  clearInterval(renew);
  // its heartbeat stops (the machine went down): the wait ends once it is stale (300 ms), and the lock can be taken over
  writeFileSync(lockPath, foreign);
  t0 = Date.now();
  expect(await waitForForeignRunLock(d, { pollMs: 50, staleMs: 300 })).toMatchObject({ pid: 4242 });
  expect(Date.now() - t0).toBeGreaterThanOrEqual(250);
  expect(Date.now() - t0).toBeLessThan(3_000);
  const warnings: string[] = [];
  acquireRunLock(d, { heartbeatMs: 0, staleMs: 300, warn: (m) => warnings.push(m) }).release();
  expect(warnings).toEqual([expect.stringContaining('of pid 4242 on elsewhere')]);
  // an abort ends the wait at once; maxWaitMs bounds it
  writeFileSync(lockPath, foreign);
  const renew2 = setInterval(() => utimesSync(lockPath, new Date(), new Date()), 50);
  const ac = new AbortController();
  setTimeout(() => ac.abort(), 200);
  t0 = Date.now();
  expect(await waitForForeignRunLock(d, { pollMs: 5_000, staleMs: 60_000, signal: ac.signal })).toMatchObject({ pid: 4242 });
  expect(Date.now() - t0).toBeLessThan(1_500);
  t0 = Date.now();
  expect(await waitForForeignRunLock(d, { pollMs: 50, staleMs: 60_000, maxWaitMs: 300 })).toMatchObject({ pid: 4242 });
  expect(Date.now() - t0).toBeLessThan(1_500);
  clearInterval(renew2);
  rmSync(lockPath);
  expect(readdirSync(d)).toEqual([]); // no probe files left
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
