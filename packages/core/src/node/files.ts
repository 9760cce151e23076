// Durable, verified file writes for everything a run writes (checkpoints, run.json, metrics,
// samples, figures). Node only: this is the `@rnode/core/node` entry, never the browser one.
import { createHash, randomBytes } from 'node:crypto';
import {
  closeSync,
  constants as fsConstants,
  existsSync,
  fstatSync,
  fsyncSync,
  ftruncateSync,
  mkdirSync,
  openSync,
  readdirSync,
  readFileSync,
  renameSync,
  rmdirSync,
  rmSync,
  statSync,
  writeSync,
} from 'node:fs';
import { basename, dirname, join, resolve as resolvePath } from 'node:path';
import { RnodeError } from '../errors.js';

/**
 * The file operations the writers use; tests replace some of them to simulate a full disk
 * (short writes, ENOSPC) or a crash at any step.
 */
export interface WriteFs {
  openSync: (path: string, flags: string, mode?: number) => number;
  /** Write `length` bytes of `buffer` from `offset`; returns how many were written (may be fewer). */
  writeSync: (fd: number, buffer: Uint8Array, offset: number, length: number) => number;
  fsyncSync: (fd: number) => void;
  closeSync: (fd: number) => void;
  renameSync: (from: string, to: string) => void;
  rmSync: (path: string, options?: { force?: boolean }) => void;
  readFileSync: (path: string) => Uint8Array;
}

const realFs: WriteFs = {
  openSync: (p, f, m) => openSync(p, f, m),
  writeSync: (fd, b, o, l) => writeSync(fd, b, o, l),
  fsyncSync,
  closeSync,
  renameSync,
  rmSync,
  readFileSync: (p) => readFileSync(p),
};

/** What a failed write says about an errno: "no space left on device (ENOSPC)". */
const ERRNO_TEXT: Record<string, string> = {
  ENOSPC: 'no space left on device',
  EDQUOT: 'disk quota exceeded',
  EACCES: 'permission denied',
  EPERM: 'operation not permitted',
  EROFS: 'read-only file system',
  ENOTDIR: 'a parent of it is not a directory',
  EISDIR: 'it is a directory',
  EEXIST: 'it exists and is not a directory',
  EIO: 'input/output error',
};

/** A one-line reason for a file-system error: the errno's meaning and code, or the message. */
export function describeFsError(e: unknown): string {
  const code = (e as NodeJS.ErrnoException | undefined)?.code;
  if (code && ERRNO_TEXT[code]) return `${ERRNO_TEXT[code]} (${code})`;
  return (e as Error | undefined)?.message ?? String(e);
}

/** The error of a failed write: IO_ERROR naming the file, with the errno under details.errno. */
function writeError(path: string, what: string, e: unknown): RnodeError {
  if ((e as RnodeError)?.name === 'RnodeError' && (e as RnodeError).source === `file:${path}`) return e as RnodeError;
  const errno = (e as NodeJS.ErrnoException | undefined)?.code;
  return new RnodeError('IO_ERROR', `could not write ${what}${path}: ${describeFsError(e)}; the previous file (if any) is unchanged`, {
    source: `file:${path}`,
    cause: e,
    ...(errno ? { details: { errno } } : {}),
  });
}

/** A short write that made no progress: the disk is full (write(2) returns 0 or a short count, then ENOSPC). */
function noProgress(): NodeJS.ErrnoException {
  const err = new Error('the write made no progress') as NodeJS.ErrnoException;
  err.code = 'ENOSPC';
  return err;
}

/** Write all of `bytes` to `fd`, looping over short writes; throws when a write makes no progress. */
export function writeAll(fd: number, bytes: Uint8Array, fs: Pick<WriteFs, 'writeSync'> = realFs): void {
  let off = 0;
  while (off < bytes.length) {
    const n = fs.writeSync(fd, bytes, off, Math.min(bytes.length - off, 1 << 20));
    if (!(n > 0)) throw noProgress();
    off += n;
  }
}

const sha256 = (b: Uint8Array): string => createHash('sha256').update(b).digest('hex');

/**
 * Temp files of `writeFileAtomic`: `.<name>.<pid>.<hex>.tmp`, beside their target (and
 * `.<name>.<pid>.<counter>.tmp`, the names of the checkpoint writer before it).
 */
export const TEMP_FILE = /^\..+\.(\d+)\.(?:[0-9a-f]{8}|\d{1,7})\.tmp$/;

/** fsync a directory (so a rename in it is durable); some platforms cannot, which is not an error. */
export function fsyncDir(dir: string): void {
  let fd: number | null = null;
  try {
    fd = openSync(dir, 'r');
    fsyncSync(fd);
  } catch {
    /* directories cannot be opened or fsynced on some platforms */
  } finally {
    if (fd !== null) closeSync(fd);
  }
}

export interface WriteFileAtomicOptions {
  /** Replace some file operations (tests). */
  fs?: Partial<WriteFs>;
  /** File mode of a new file (default 0o644). */
  mode?: number;
  /** Word for the error message: "could not write <what><path>" (e.g. "checkpoint "). */
  what?: string;
}

/**
 * Write `data` to `path` so that `path` holds either its previous bytes or all of the new ones:
 * the bytes go to a temp file beside it (every short write retried, no progress = ENOSPC), which
 * is fsynced, read back and compared by SHA-256 before it is renamed over `path`; then the
 * directory is fsynced. Creates the directory. A failure removes the temp file and throws
 * RnodeError('IO_ERROR') naming `path` and the reason (details.errno: 'ENOSPC', 'EACCES', …).
 */
export function writeFileAtomic(path: string, data: string | Uint8Array, options: WriteFileAtomicOptions = {}): void {
  const fs: WriteFs = { ...realFs, ...(options.fs ?? {}) };
  const bytes = typeof data === 'string' ? Buffer.from(data, 'utf8') : data;
  const dir = dirname(resolvePath(path));
  const tmp = join(dir, `.${basename(path)}.${process.pid}.${randomBytes(4).toString('hex')}.tmp`);
  let fd: number | null = null;
  try {
    mkdirSync(dir, { recursive: true });
    fd = fs.openSync(tmp, 'wx', options.mode ?? 0o644);
    writeAll(fd, bytes, fs);
    fs.fsyncSync(fd);
    fs.closeSync(fd);
    fd = null;
    const back = fs.readFileSync(tmp);
    if (back.length !== bytes.length || sha256(back) !== sha256(bytes)) {
      throw new Error(`read-back check failed: wrote ${bytes.length} bytes, the file holds ${back.length} with a different SHA-256`);
    }
    fs.renameSync(tmp, path);
  } catch (e) {
    if (fd !== null) {
      try {
        fs.closeSync(fd);
      } catch {
        /* already failing */
      }
    }
    try {
      fs.rmSync(tmp, { force: true });
    } catch {
      /* best effort: removed by the next run's cleanTempFiles */
    }
    throw writeError(path, options.what ?? '', e);
  }
  fsyncDir(dir);
}

/**
 * Append `text` to `path` whole or not at all: a short write is retried, and a failed append
 * truncates the file back to its previous length (no torn line), then throws IO_ERROR naming it.
 */
export function appendFileDurable(path: string, text: string, options: { fs?: Partial<WriteFs>; sync?: boolean; what?: string } = {}): void {
  const fs: WriteFs = { ...realFs, ...(options.fs ?? {}) };
  let fd: number | null = null;
  try {
    mkdirSync(dirname(resolvePath(path)), { recursive: true });
    fd = fs.openSync(path, 'a');
    appendToFd(fd, path, text, { ...options, fs });
  } catch (e) {
    throw writeError(path, options.what ?? '', e);
  } finally {
    if (fd !== null) fs.closeSync(fd);
  }
}

/** `appendFileDurable` on an fd opened for appending (the metrics writer keeps one open). */
export function appendToFd(fd: number, path: string, text: string, options: { fs?: Partial<WriteFs>; sync?: boolean; what?: string } = {}): void {
  const fs: WriteFs = { ...realFs, ...(options.fs ?? {}) };
  const size = fstatSync(fd).size;
  try {
    writeAll(fd, Buffer.from(text, 'utf8'), fs);
    if (options.sync) fs.fsyncSync(fd);
  } catch (e) {
    try {
      ftruncateSync(fd, size);
    } catch {
      /* the torn line stays; readers skip lines that are not JSON */
    }
    throw writeError(path, options.what ?? '', e);
  }
}

/** Whether process `pid` is alive on this host (EPERM: alive, owned by someone else). */
export function processAlive(pid: number): boolean {
  if (!Number.isInteger(pid) || pid <= 0) return false;
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/**
 * Remove the temp files `writeFileAtomic` left in `dir` when its process was killed between
 * open and rename (those of live processes are kept). Returns the names removed.
 */
export function cleanTempFiles(dir: string): string[] {
  let names: string[];
  try {
    names = readdirSync(dir);
  } catch {
    return [];
  }
  const removed: string[] = [];
  for (const name of names) {
    const m = TEMP_FILE.exec(name);
    if (!m) continue;
    const pid = Number(m[1]);
    if (pid === process.pid || processAlive(pid)) continue;
    try {
      rmSync(join(dir, name), { force: true });
      removed.push(name);
    } catch {
      /* not ours to remove */
    }
  }
  return removed;
}

/**
 * The errno behind a recursive mkdir's ENOENT (Node reports ENOENT for a read-only or
 * permission-denied parent): a plain mkdir of the first missing directory below an existing one.
 */
function realMkdirError(dir: string, fallback: unknown): unknown {
  const missing: string[] = [];
  let p = resolvePath(dir);
  while (!existsSync(p) && dirname(p) !== p) {
    missing.push(p);
    p = dirname(p);
  }
  const first = missing.at(-1);
  if (first === undefined) return fallback;
  try {
    mkdirSync(first);
    rmdirSync(first);
  } catch (e) {
    return e;
  }
  return fallback;
}

/**
 * Make `dir` (and its parents) a writable directory, or throw: RnodeError('INVALID_ARGUMENT')
 * when `dir` or a parent is a file (a usage problem), IO_ERROR for EACCES/EROFS/… — each naming
 * the path and the reason. Writability is probed by creating and removing a file in it.
 */
export function ensureWritableDir(dir: string, what = 'output directory'): void {
  const fail = (e: unknown): never => {
    const code = (e as NodeJS.ErrnoException).code;
    const usage = code === 'ENOTDIR' || code === 'EEXIST';
    throw new RnodeError(usage ? 'INVALID_ARGUMENT' : 'IO_ERROR', `cannot use ${what} ${dir}: ${describeFsError(e)}`, {
      source: `file:${dir}`,
      cause: e,
      ...(code ? { details: { errno: code } } : {}),
    });
  };
  try {
    mkdirSync(dir, { recursive: true });
  } catch (e) {
    fail((e as NodeJS.ErrnoException).code === 'ENOENT' ? realMkdirError(dir, e) : e);
  }
  try {
    if (!statSync(dir).isDirectory()) fail(Object.assign(new Error('not a directory'), { code: 'ENOTDIR' }));
  } catch (e) {
    if ((e as RnodeError).name === 'RnodeError') throw e;
    fail(e);
  }
  const probe = join(dir, `.rnode-probe.${process.pid}.${randomBytes(4).toString('hex')}.tmp`);
  try {
    closeSync(openSync(probe, fsConstants.O_CREAT | fsConstants.O_EXCL | fsConstants.O_WRONLY, 0o600));
    rmSync(probe, { force: true });
  } catch (e) {
    fail(e);
  }
}
