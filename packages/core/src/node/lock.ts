// One run owns its folder: a lock file holding pid, host and start time, created atomically
// (link(2) of a complete temp file, which fails if the lock exists), removed when the run ends.
import { randomBytes } from 'node:crypto';
import { closeSync, linkSync, openSync, readFileSync, rmSync } from 'node:fs';
import { hostname } from 'node:os';
import { join } from 'node:path';
import { RnodeError } from '../errors.js';
import { describeFsError, processAlive, writeAll } from './files.js';

/** The lock file's name inside the folder it guards. */
export const LOCK_FILE = '.rnode.lock';

/** What a lock file holds. */
export interface LockInfo {
  pid: number;
  host: string;
  /** ISO time the run started. */
  started: string;
  /** What holds it (e.g. "rnode train"). */
  command: string;
}

export interface RunLock {
  readonly path: string;
  readonly info: LockInfo;
  /** Remove the lock (only if it is still ours); idempotent. */
  release(): void;
}

export interface AcquireLockOptions {
  /** What holds it, recorded in the lock (default "rnode"). */
  command?: string;
  /** Called with a one-line message when a stale lock of a dead process is taken over. */
  warn?: (message: string) => void;
}

function readLock(path: string): LockInfo | null {
  try {
    const v = JSON.parse(readFileSync(path, 'utf8')) as Partial<LockInfo>;
    if (Number.isInteger(v.pid) && typeof v.host === 'string') return { pid: v.pid!, host: v.host, started: String(v.started ?? '?'), command: String(v.command ?? '?') };
  } catch {
    /* unreadable or torn: handled by the caller */
  }
  return null;
}

/**
 * Take the lock of folder `dir` for this process, or throw RnodeError('IO_ERROR') naming the
 * holder's pid, host and start time when a live process (or one on another host) holds it.
 * A lock left by a dead process on this host, or an unreadable one, is taken over with a warning.
 * The lock is released by `release()` and, as a fallback, when the process exits.
 */
export function acquireRunLock(dir: string, options: AcquireLockOptions = {}): RunLock {
  const path = join(dir, LOCK_FILE);
  const info: LockInfo = { pid: process.pid, host: hostname(), started: new Date().toISOString(), command: options.command ?? 'rnode' };
  const tmp = join(dir, `${LOCK_FILE}.${process.pid}.${randomBytes(4).toString('hex')}.tmp`);
  try {
    const fd = openSync(tmp, 'wx', 0o644);
    try {
      writeAll(fd, Buffer.from(`${JSON.stringify(info)}\n`));
    } finally {
      closeSync(fd);
    }
    for (let attempt = 0; ; attempt++) {
      try {
        linkSync(tmp, path);
        break;
      } catch (e) {
        if ((e as NodeJS.ErrnoException).code !== 'EEXIST' || attempt > 2) throw e;
      }
      const held = readLock(path);
      if (held && held.pid === process.pid && held.host === info.host) {
        throw new RnodeError('IO_ERROR', `${dir} is already locked by this process (${path})`, { source: `file:${path}` });
      }
      if (held && (held.host !== info.host || processAlive(held.pid))) {
        throw new RnodeError(
          'IO_ERROR',
          `${dir} is in use by another run: pid ${held.pid} on ${held.host} (${held.command}, started ${held.started}) holds ${path}; wait for it, use another --out, or remove the lock if that process is gone`,
          { source: `file:${path}`, details: { pid: held.pid, host: held.host } },
        );
      }
      options.warn?.(
        held
          ? `taking over the stale lock ${path} of pid ${held.pid} (${held.command}, started ${held.started}), which is no longer running`
          : `taking over the unreadable lock file ${path}`,
      );
      rmSync(path, { force: true });
    }
  } catch (e) {
    if ((e as RnodeError).name === 'RnodeError') throw e;
    throw new RnodeError('IO_ERROR', `cannot lock ${dir} (${path}): ${describeFsError(e)}`, { source: `file:${path}`, cause: e });
  } finally {
    rmSync(tmp, { force: true });
  }
  let released = false;
  const release = (): void => {
    if (released) return;
    released = true;
    process.removeListener('exit', release);
    const now = readLock(path);
    if (now && now.pid === info.pid && now.host === info.host && now.started === info.started) rmSync(path, { force: true });
  };
  process.on('exit', release);
  return { path, info, release };
}
