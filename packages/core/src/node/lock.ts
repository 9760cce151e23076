// One run owns its folder: a lock file holding pid, host and start time, created atomically
// (link(2) of a complete temp file, which fails if the lock exists), removed when the run ends.
// While held, a heartbeat (a worker thread, so a long synchronous training step does not stop it)
// rewrites the same bytes every `heartbeatMs`, which moves the file's mtime: a run on another
// host, which cannot ask whether the holder's pid is alive, takes over a lock not renewed for
// `staleMs` (a machine that went down with its run).
import { randomBytes } from 'node:crypto';
import { closeSync, linkSync, openSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { Worker } from 'node:worker_threads';
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
  /** How often the holder renews the lock (ms); absent in locks that are never renewed. */
  heartbeatMs?: number;
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
  /** Renew the lock every this many ms while it is held (default 30,000; 0: never). */
  heartbeatMs?: number;
  /**
   * A lock of another host whose holder renews it is taken over once it has not been renewed for
   * this long (ms; default 150,000, and at least 4 of the holder's heartbeats), measured against
   * the mtime of a file this process has just written in the same folder (the same clock).
   */
  staleMs?: number;
}

const DEFAULT_HEARTBEAT_MS = 30_000;
const DEFAULT_STALE_MS = 150_000;

// The heartbeat: rewrites the lock's exact bytes in place (no truncation, so a reader never sees a
// torn file) while they are still ours; stops when they are not, or the file is gone.
const HEARTBEAT = `
const { workerData } = require('node:worker_threads');
const fs = require('node:fs');
const mine = Buffer.from(workerData.content);
const timer = setInterval(() => {
  try {
    const fd = fs.openSync(workerData.path, 'r+');
    try {
      const now = Buffer.alloc(mine.length + 1);
      const n = fs.readSync(fd, now, 0, now.length, 0);
      if (n !== mine.length || !now.subarray(0, n).equals(mine)) return clearInterval(timer);
      fs.writeSync(fd, mine, 0, mine.length, 0);
    } finally {
      fs.closeSync(fd);
    }
  } catch {
    clearInterval(timer);
  }
}, workerData.ms);
`;

function readLock(path: string): LockInfo | null {
  try {
    const v = JSON.parse(readFileSync(path, 'utf8')) as Partial<LockInfo>;
    if (Number.isInteger(v.pid) && typeof v.host === 'string') {
      const beat = typeof v.heartbeatMs === 'number' && v.heartbeatMs > 0 ? { heartbeatMs: v.heartbeatMs } : {};
      return { pid: v.pid!, host: v.host, started: String(v.started ?? '?'), command: String(v.command ?? '?'), ...beat };
    }
  } catch {
    /* unreadable or torn: handled by the caller */
  }
  return null;
}

/** Seconds, for messages. */
const secs = (ms: number) => `${Math.round(ms / 1000)} s`;

/** How long another host's lock may go without renewal: the stale time, and at least 4 of its heartbeats. */
function staleAfterMs(staleMs: number | undefined, held: LockInfo | null): number {
  return Math.max(staleMs ?? DEFAULT_STALE_MS, 4 * (held?.heartbeatMs ?? 0));
}

/** Since when the lock at `path` was last renewed, on the folder's clock: the mtime of `probe`, a file just written beside it. */
function silenceMs(probe: string, path: string): number {
  return statSync(probe).mtimeMs - statSync(path).mtimeMs;
}

/**
 * Take the lock of folder `dir` for this process, or throw RnodeError('IO_ERROR') naming the
 * holder's pid, host and start time when a live process holds it (on another host: one that has
 * renewed it within `staleMs`, or an old lock without a heartbeat). A lock left by a dead process
 * on this host, one of another host not renewed for `staleMs`, or an unreadable one, is taken
 * over with a warning. The lock is released by `release()` and, as a fallback, when the process exits.
 */
export function acquireRunLock(dir: string, options: AcquireLockOptions = {}): RunLock {
  const path = join(dir, LOCK_FILE);
  const heartbeatMs = options.heartbeatMs ?? DEFAULT_HEARTBEAT_MS;
  const info: LockInfo = {
    pid: process.pid,
    host: hostname(),
    started: new Date().toISOString(),
    command: options.command ?? 'rnode',
    ...(heartbeatMs > 0 ? { heartbeatMs } : {}),
  };
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
      // Another host: stale when its heartbeat stopped (ages on this folder's clock: our temp file's mtime)
      let silentMs: number | null = null;
      if (held && held.host !== info.host && held.heartbeatMs) {
        try {
          silentMs = silenceMs(tmp, path);
        } catch {
          silentMs = null;
        }
      }
      const staleAfter = staleAfterMs(options.staleMs, held);
      const foreignStale = silentMs !== null && silentMs > staleAfter;
      if (held && ((held.host !== info.host && !foreignStale) || (held.host === info.host && processAlive(held.pid)))) {
        const renewed = silentMs !== null ? `, renewed ${secs(Math.max(0, silentMs))} ago` : '';
        const gone =
          held.host !== info.host && held.heartbeatMs
            ? `; it is taken over once not renewed for ${secs(staleAfter)}`
            : '; wait for it, use another --out, or remove the lock if that process is gone';
        throw new RnodeError(
          'IO_ERROR',
          `${dir} is in use by another run: pid ${held.pid} on ${held.host} (${held.command}, started ${held.started}${renewed}) holds ${path}${gone}`,
          { source: `file:${path}`, details: { pid: held.pid, host: held.host } },
        );
      }
      options.warn?.(
        !held
          ? `taking over the unreadable lock file ${path}`
          : foreignStale
            ? `taking over the lock ${path} of pid ${held.pid} on ${held.host} (${held.command}, started ${held.started}): not renewed for ${secs(silentMs!)} (its heartbeat is every ${secs(held.heartbeatMs!)})`
            : `taking over the stale lock ${path} of pid ${held.pid} (${held.command}, started ${held.started}), which is no longer running`,
      );
      rmSync(path, { force: true });
    }
  } catch (e) {
    if ((e as RnodeError).name === 'RnodeError') throw e;
    throw new RnodeError('IO_ERROR', `cannot lock ${dir} (${path}): ${describeFsError(e)}`, { source: `file:${path}`, cause: e });
  } finally {
    rmSync(tmp, { force: true });
  }
  let beat: Worker | null = null;
  if (heartbeatMs > 0) {
    beat = new Worker(HEARTBEAT, { eval: true, workerData: { path, content: `${JSON.stringify(info)}\n`, ms: heartbeatMs } });
    beat.unref(); // never keeps the process alive
    beat.on('error', () => undefined); // a heartbeat that fails only lets the lock age
  }
  let released = false;
  const release = (): void => {
    if (released) return;
    released = true;
    process.removeListener('exit', release);
    if (beat) void beat.terminate();
    const now = readLock(path);
    if (now && now.pid === info.pid && now.host === info.host && now.started === info.started) rmSync(path, { force: true });
  };
  process.on('exit', release);
  return { path, info, release };
}

export interface WaitForLockOptions {
  /** Stops the wait (resolves to the holder seen last). */
  signal?: AbortSignal;
  /** How often to look (ms; default 2,000). */
  pollMs?: number;
  /** As `acquireRunLock`'s (default 150,000; at least 4 of the holder's heartbeats). */
  staleMs?: number;
  /** Give up after this long (ms; default twice the stale time): the caller's run then meets the lock. */
  maxWaitMs?: number;
}

/**
 * Wait while a run on another host holds `dir` and renews its lock: resolves when the lock is
 * gone, or has not been renewed for the stale time (the caller's run then takes it over), or
 * after `maxWaitMs`. Resolves at once when the folder is free, held on this host (a pid this
 * process can check), or held by a lock without a heartbeat. Returns the holder it waited for,
 * or null when it did not wait. For job runners: a retried job whose folder is still held by a
 * machine that went down waits out the stale time instead of spending its attempts.
 */
export async function waitForForeignRunLock(dir: string, options: WaitForLockOptions = {}): Promise<LockInfo | null> {
  const path = join(dir, LOCK_FILE);
  const here = hostname();
  const pollMs = options.pollMs ?? 2_000;
  const t0 = Date.now();
  let waited: LockInfo | null = null;
  for (;;) {
    const held = readLock(path);
    if (!held || held.host === here || !held.heartbeatMs) return waited;
    const staleAfter = staleAfterMs(options.staleMs, held);
    const maxWait = options.maxWaitMs ?? 2 * staleAfter;
    // this folder's clock: the mtime of a file written now, beside the lock
    const probe = join(dir, `${LOCK_FILE}.${process.pid}.${randomBytes(4).toString('hex')}.tmp`);
    let silentMs: number;
    try {
      writeFileSync(probe, '');
      silentMs = silenceMs(probe, path);
    } catch {
      return waited; // gone meanwhile, or the folder cannot be written: the run will say so
    } finally {
      rmSync(probe, { force: true });
    }
    if (silentMs > staleAfter || Date.now() - t0 >= maxWait || options.signal?.aborted) return held;
    waited = held;
    await new Promise<void>((resolve) => {
      const done = () => {
        clearTimeout(timer);
        options.signal?.removeEventListener('abort', done);
        resolve();
      };
      const timer = setTimeout(done, Math.min(pollMs, Math.max(1, maxWait - (Date.now() - t0))));
      options.signal?.addEventListener('abort', done, { once: true });
    });
  }
}
