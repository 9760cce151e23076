import { closeSync, fsyncSync, mkdirSync, openSync, readFileSync, renameSync, rmSync, writeSync } from 'node:fs';
import { basename, dirname, join, resolve as resolvePath } from 'node:path';
import { RnodeError, checkOptions } from '@rnode/core';
import { validateCheckpoint, type Checkpoint } from '../checkpoint.js';
import type { TrainerEvent } from '../events.js';
export { createWorkerGradients, type WorkerGradientsOptions } from './parallel.js';
import { train as trainCore, type CheckpointStore, type TrainConfig, type TrainResult, type TrainRunOptions } from '../train.js';

/** The file operations `writeCheckpoint` uses (replaceable in tests to simulate a crash). */
export interface CheckpointFs {
  openSync: typeof openSync;
  writeSync: (fd: number, data: string) => number;
  fsyncSync: typeof fsyncSync;
  closeSync: typeof closeSync;
  renameSync: typeof renameSync;
  rmSync: typeof rmSync;
}

const realFs: CheckpointFs = { openSync, writeSync: (fd, data) => writeSync(fd, data), fsyncSync, closeSync, renameSync, rmSync };

let tmpCounter = 0;

/**
 * Write a checkpoint atomically: JSON to a temp file in the same directory, fsync, rename over
 * `path`, fsync the directory. A crash at any moment leaves either the previous file or the
 * new one at `path`, never a partial file; a failed write removes its temp file.
 */
export function writeCheckpoint(path: string, ckpt: Checkpoint, options: { fs?: Partial<CheckpointFs> } = {}): void {
  const fs = { ...realFs, ...(options.fs ?? {}) };
  const text = JSON.stringify(ckpt);
  const dir = dirname(resolvePath(path));
  mkdirSync(dir, { recursive: true });
  const tmp = join(dir, `.${basename(path)}.${typeof process !== 'undefined' ? process.pid : 0}.${tmpCounter++}.tmp`);
  let fd: number | null = null;
  try {
    fd = fs.openSync(tmp, 'w', 0o644);
    const CHUNK = 1 << 20;
    for (let i = 0; i < text.length; i += CHUNK) fs.writeSync(fd, text.slice(i, i + CHUNK));
    fs.fsyncSync(fd);
    fs.closeSync(fd);
    fd = null;
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
      /* best effort */
    }
    throw new RnodeError('IO_ERROR', `could not write checkpoint ${path}: ${(e as Error).message}`, { source: `file:${path}`, cause: e });
  }
  try {
    const dfd = openSync(dir, 'r');
    try {
      fsyncSync(dfd);
    } finally {
      closeSync(dfd);
    }
  } catch {
    /* directories cannot be fsynced on some platforms */
  }
}

/**
 * Read and validate a checkpoint file. Errors name the file: RnodeError('IO_ERROR') when it
 * cannot be read, 'INVALID_CHECKPOINT' when it is not JSON, has the wrong format or version,
 * or its arrays do not fit their shapes.
 */
export function readCheckpoint(path: string): Checkpoint {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (e) {
    throw new RnodeError('IO_ERROR', `cannot read checkpoint ${path}: ${(e as Error).message}`, { source: `file:${path}`, cause: e });
  }
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (e) {
    throw new RnodeError('INVALID_CHECKPOINT', `${path} is not JSON (${(e as Error).message})`, { source: `file:${path}`, cause: e });
  }
  return validateCheckpoint(value, `file:${path}`);
}

/** Checkpoints as `<dir>/last.json` and `<dir>/best.json`, written atomically. */
export function fileCheckpointStore(dir: string): CheckpointStore & { readonly dir: string } {
  return {
    dir,
    async save(kind, ckpt) {
      const path = join(dir, `${kind}.json`);
      writeCheckpoint(path, ckpt);
      return path;
    },
  };
}

export interface MetricsWriter {
  /** Append one event as one JSON line (synchronously, so a crash loses at most the line in flight). */
  write(e: TrainerEvent | Record<string, unknown>): void;
  /** Same as `write`, bound: pass as `onEvent`. */
  readonly onEvent: (e: TrainerEvent) => void;
  close(): void;
}

/** A JSONL metrics file: one event per line (appends to an existing file). */
export function createMetricsWriter(path: string, options: { truncate?: boolean } = {}): MetricsWriter {
  checkOptions(options, ['truncate'], 'metrics-writer');
  mkdirSync(dirname(resolvePath(path)), { recursive: true });
  let fd: number | null;
  try {
    fd = openSync(path, options.truncate ? 'w' : 'a');
  } catch (e) {
    throw new RnodeError('IO_ERROR', `cannot open metrics file ${path}: ${(e as Error).message}`, { source: `file:${path}`, cause: e });
  }
  const write = (e: TrainerEvent | Record<string, unknown>): void => {
    if (fd === null) throw new RnodeError('IO_ERROR', `metrics file ${path} is closed`, { source: `file:${path}` });
    writeSync(fd, `${JSON.stringify(e, (_k, v: unknown) => (typeof v === 'number' && !Number.isFinite(v) ? String(v) : v))}\n`);
  };
  return {
    write,
    onEvent: (e) => write(e),
    close() {
      if (fd !== null) closeSync(fd);
      fd = null;
    },
  };
}

/**
 * `train` with Node file handling: `checkpointDir` (last.json / best.json, atomic),
 * `resume` as a file path, `metricsFile` (JSONL, appended).
 */
export async function train(config: TrainConfig, run: TrainRunOptions = {}): Promise<TrainResult> {
  const { checkpointDir, resume, metricsFile, ...rest } = config ?? ({} as TrainConfig);
  const resumed = typeof resume === 'string' ? readCheckpoint(resume) : resume;
  const metrics = metricsFile !== undefined ? createMetricsWriter(metricsFile) : null;
  const onEvent = run.onEvent;
  try {
    return await trainCore(
      { ...rest, ...(resumed !== undefined ? { resume: resumed } : {}) } as TrainConfig,
      {
        ...run,
        ...(checkpointDir !== undefined && !run.store ? { store: fileCheckpointStore(checkpointDir) } : {}),
        ...(metrics || onEvent
          ? {
              onEvent: (e: TrainerEvent) => {
                metrics?.write(e);
                onEvent?.(e);
              },
            }
          : {}),
      },
    );
  } finally {
    metrics?.close();
  }
}
