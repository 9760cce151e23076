import { createHash } from 'node:crypto';
import { closeSync, existsSync, fsyncSync, mkdirSync, openSync, readFileSync } from 'node:fs';
import { dirname, join, resolve as resolvePath } from 'node:path';
import * as z from 'zod/mini';
import { RnodeError, isRnodeError, parseOptions } from '@rnode/core';
import { appendToFd, writeFileAtomic, type WriteFs } from '@rnode/core/node';
import { validateCheckpoint, type Checkpoint, type RunIdentity } from '../checkpoint.js';
import type { TrainerEvent } from '../events.js';
export { createWorkerGradients, type WorkerGradientsOptions } from './parallel.js';
import { train, type CheckpointStore, type TrainConfig, type TrainResult, type TrainRunOptions } from '../train.js';

/** The file operations `writeCheckpoint` uses (replaceable in tests to simulate a full disk or a crash). */
export type CheckpointFs = WriteFs;

/** `sha256:<hex>` of a checkpoint's JSON without its `checksum` key. */
export function checkpointChecksum(ckpt: Checkpoint): string {
  const { checksum: _c, ...payload } = ckpt;
  return `sha256:${createHash('sha256').update(JSON.stringify(payload)).digest('hex')}`;
}

/**
 * Write a checkpoint atomically and verified (`writeFileAtomic` of `@rnode/core/node`): JSON with
 * a `checksum` (SHA-256 of the rest) to a temp file beside `path`, every byte written, fsynced,
 * read back and compared, renamed over `path`, the directory fsynced. A checkpoint whose weights
 * or optimizer state are not finite is refused (RnodeError('NON_FINITE'), nothing written); a
 * failed write is RnodeError('IO_ERROR') naming `path`, which keeps its previous contents.
 */
export function writeCheckpoint(path: string, ckpt: Checkpoint, options: { fs?: Partial<CheckpointFs> } = {}): void {
  const { checksum: _old, ...payload } = ckpt;
  try {
    validateCheckpoint(payload, `file:${path}`);
  } catch (e) {
    if (isRnodeError(e, 'NON_FINITE')) {
      throw new RnodeError('NON_FINITE', `refusing to write checkpoint ${path} at iteration ${ckpt.iteration}: ${e.message.replace(/^\[rnode\](?: \[[^\]]*\])? /, '')}`, { source: `file:${path}`, cause: e });
    }
    throw e;
  }
  const text = JSON.stringify({ ...payload, checksum: checkpointChecksum(payload as Checkpoint) });
  writeFileAtomic(path, text, { ...(options.fs ? { fs: options.fs } : {}), what: 'checkpoint ' });
}

export interface ReadCheckpointOptions {
  /** Told when the file has no checksum (written by an older version): it loads unverified. Default: `process.emitWarning`. */
  warn?: (message: string) => void;
}

/**
 * Read, verify and validate a checkpoint file. Errors name the file: RnodeError('IO_ERROR') when
 * it cannot be read, 'INVALID_CHECKPOINT' when it is not JSON, its checksum does not match its
 * contents (a flipped character, a torn copy), it has the wrong format or version, or its arrays
 * do not fit their shapes; 'NON_FINITE' when a weight or optimizer moment is NaN/±Infinity.
 * A checkpoint without a checksum (older versions) loads with a warning.
 */
export function readCheckpoint(path: string, options: ReadCheckpointOptions = {}): Checkpoint {
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
  if (typeof value === 'object' && value !== null && !Array.isArray(value)) {
    const c = value as Checkpoint;
    if (c.checksum === undefined) {
      (options.warn ?? ((m: string) => process.emitWarning(m)))(`${path} has no checksum (written by an older rnode): loading it unverified`);
    } else if (typeof c.checksum !== 'string' || checkpointChecksum(c) !== c.checksum) {
      throw new RnodeError(
        'INVALID_CHECKPOINT',
        `${path} is corrupt: its contents do not match its checksum (${String(c.checksum).slice(0, 23)}…); the file was changed or damaged after it was written`,
        { source: `file:${path}` },
      );
    }
  }
  return validateCheckpoint(value, `file:${path}`);
}

/**
 * Checkpoints as `<dir>/last.json` and `<dir>/best.json`, written atomically and verified, each
 * stamped with `identity` (the run it belongs to) when given.
 */
export function fileCheckpointStore(dir: string, options: { identity?: RunIdentity } = {}): CheckpointStore & { readonly dir: string } {
  return {
    dir,
    async save(kind, ckpt) {
      const path = join(dir, `${kind}.json`);
      writeCheckpoint(path, options.identity ? { ...ckpt, run: options.identity } : ckpt);
      return path;
    },
  };
}

export interface MetricsWriter {
  /**
   * Append one event as one JSON line, whole or not at all (a failed append, e.g. a full disk,
   * throws IO_ERROR naming the file and leaves no torn line). Checkpoint events are fsynced.
   */
  write(e: TrainerEvent | Record<string, unknown>): void;
  /** Same as `write`, bound: pass as `onEvent`. */
  readonly onEvent: (e: TrainerEvent) => void;
  close(): void;
}

/** A JSONL metrics file: one event per line (appends to an existing file). */
const metricsWriterOptionsSchema = z.object({
  /** Start a new file instead of appending (default false). */
  truncate: z.optional(z.boolean()),
  /** Replacements for the file system calls (tests: a full disk). */
  fs: z.optional(z.custom<Partial<WriteFs>>()),
});

export function createMetricsWriter(path: string, options: z.input<typeof metricsWriterOptionsSchema> = {}): MetricsWriter {
  parseOptions(metricsWriterOptionsSchema, options, 'metrics-writer');
  mkdirSync(dirname(resolvePath(path)), { recursive: true });
  let fd: number | null;
  try {
    fd = openSync(path, options.truncate ? 'w' : 'a');
  } catch (e) {
    throw new RnodeError('IO_ERROR', `cannot open metrics file ${path}: ${(e as Error).message}`, { source: `file:${path}`, cause: e });
  }
  const write = (e: TrainerEvent | Record<string, unknown>): void => {
    if (fd === null) throw new RnodeError('IO_ERROR', `metrics file ${path} is closed`, { source: `file:${path}` });
    const line = `${JSON.stringify(e, (_k, v: unknown) => (typeof v === 'number' && !Number.isFinite(v) ? String(v) : v))}\n`;
    appendToFd(fd, path, line, { ...(options.fs ? { fs: options.fs } : {}), sync: e.type === 'checkpoint' || e.type === 'done', what: 'metrics file ' });
  };
  return {
    write,
    onEvent: (e) => write(e),
    close() {
      if (fd !== null) {
        try {
          fsyncSync(fd);
        } catch {
          /* nothing more to save */
        }
        closeSync(fd);
      }
      fd = null;
    },
  };
}

/**
 * Make a metrics file agree with a checkpoint at `iteration`: drop the lines of events past it
 * (written after the checkpoint by a run that then crashed) and torn lines, atomically. Returns
 * how many lines were dropped. Lines without an `iteration` (a summary, say) are kept.
 */
export function truncateMetricsAfter(path: string, iteration: number): number {
  if (!existsSync(path)) return 0;
  const lines = readFileSync(path, 'utf8').split('\n');
  if (lines.at(-1) === '') lines.pop();
  const keep = lines.filter((l) => {
    try {
      const e = JSON.parse(l) as { iteration?: unknown };
      return !(typeof e.iteration === 'number' && e.iteration > iteration);
    } catch {
      return false;
    }
  });
  const dropped = lines.length - keep.length;
  if (dropped > 0) writeFileAtomic(path, keep.length ? `${keep.join('\n')}\n` : '', { what: 'metrics file ' });
  return dropped;
}

/** The Node entry's `train` config: `TrainConfig` plus the identity stamped into its checkpoints. */
export interface NodeTrainConfig extends TrainConfig {
  /** The run the checkpoints belong to (data, preset, seed, config hash), written into each one. */
  identity?: RunIdentity;
}

/**
 * `train` of `@rnode/train` (the one training loop) with Node file handling around it:
 * `checkpointDir` (last.json / best.json, atomic, verified, stamped with `identity`; the
 * `store` of the loop), `resume` as a file path, `metricsFile` (JSONL, appended; on resume the
 * lines past the checkpoint's iteration are dropped first, so none is counted twice).
 */
export async function trainWithFiles(config: NodeTrainConfig, run: TrainRunOptions = {}): Promise<TrainResult> {
  const { checkpointDir, resume, metricsFile, identity, ...rest } = config ?? ({} as NodeTrainConfig);
  const resumed = typeof resume === 'string' ? readCheckpoint(resume) : resume;
  if (resumed !== undefined && metricsFile !== undefined) truncateMetricsAfter(metricsFile, (resumed as Checkpoint).iteration);
  const metrics = metricsFile !== undefined ? createMetricsWriter(metricsFile) : null;
  const onEvent = run.onEvent;
  try {
    return await train(
      { ...rest, ...(resumed !== undefined ? { resume: resumed } : {}) } as TrainConfig,
      {
        ...run,
        ...(checkpointDir !== undefined && !run.store ? { store: fileCheckpointStore(checkpointDir, identity ? { identity } : {}) } : {}),
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
