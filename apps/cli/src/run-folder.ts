// One run owns its folder (issue 11): the output directory is checked, locked for the run's
// lifetime, cleared of temp files of killed runs, and never silently shared with another run's
// checkpoint. The run's identity (data, preset, seed, config hash) is stamped into each
// checkpoint, and eval/sample/plot/--resume compare it with run.json.
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, renameSync } from 'node:fs';
import { dirname, join, resolve as resolvePath } from 'node:path';
import { acquireRunLock, cleanTempFiles, ensureWritableDir, fsyncDir, type RunLock } from '@rnode/core/node';
import type { Checkpoint, RunIdentity } from '@rnode/train';
import { readCheckpoint } from '@rnode/train/node';
import type { DataSpec } from './data.js';
import { IoError } from './data.js';
import { UsageError } from './errors.js';

/** The files of a run in its folder (what --force archives). */
export const RUN_FILES = ['last.json', 'best.json', 'run.json', 'metrics.jsonl'] as const;

/** Warnings of the file layer: on stderr, whatever --quiet says (they are about the user's files). */
export const warnStderr = (message: string): void => {
  process.stderr.write(`rnode: warning: ${message}\n`);
};

/** SHA-256 (hex) of a JSON-able value: the run's settings, for the identity's configHash. */
export function configHash(settings: unknown): string {
  return createHash('sha256').update(JSON.stringify(settings)).digest('hex');
}

/** The data a run used, as one comparable string: a toy or image name, or a file's absolute path. */
export function sourceKey(src: DataSpec | { kind: string; name?: string; path?: string }): string {
  if (src.kind === 'file' && typeof src.path === 'string') return resolvePath(src.path);
  return String((src as { name?: string }).name);
}

/** What run.json says about a run, as an identity (older checkpoints have none of their own). */
export function identityFromRunFile(run: { data: DataSpec | { kind: string; name?: string }; preset: string; seed: number } | null): RunIdentity | null {
  if (!run || typeof run.data !== 'object' || run.data === null) return null;
  return { data: sourceKey(run.data), preset: run.preset, seed: run.seed, configHash: '', source: run.data };
}

const describe = (id: RunIdentity): string => `${id.data} (preset ${id.preset}, seed ${id.seed})`;

/** Whether two identities are the same run's: data, preset and seed. */
export function sameRun(a: RunIdentity, b: RunIdentity): boolean {
  return a.data === b.data && a.preset === b.preset && a.seed === b.seed;
}

/**
 * Refuse a checkpoint whose own identity disagrees with the run.json beside it: the folder mixes
 * two runs (a crashed or concurrent run rewrote run.json), and its data would be the wrong one.
 */
export function checkRunFileAgrees(checkpointPath: string, ck: Checkpoint, runPath: string, run: Parameters<typeof identityFromRunFile>[0]): void {
  const own = ck.run;
  const beside = identityFromRunFile(run);
  if (!own || !beside || sameRun(own, beside)) return;
  throw new IoError(
    `${checkpointPath} belongs to a run on ${describe(own)}, but ${runPath} describes ${describe(beside)}: this folder mixes two runs, so its data would be the wrong one. Move the checkpoint away from that run.json (its own record is then used) or retrain`,
  );
}

export interface OpenRunFolderOptions {
  out: string;
  identity: RunIdentity;
  /** The checkpoint being resumed (its path). */
  resume?: string;
  /** Archive another run's files into <out>/archive/<time>/ instead of refusing. */
  force?: boolean;
  warn?: (message: string) => void;
}

/**
 * Make `out` this run's: a writable directory (usage error when it cannot be one, IO error when
 * it is read-only or not permitted), locked, without leftover temp files, and holding no other
 * run's checkpoint (an error unless resuming that same run, or --force, which archives it).
 * Returns the lock; release it when the run ends.
 */
export function openRunFolder(o: OpenRunFolderOptions): RunLock {
  const warn = o.warn ?? warnStderr;
  ensureWritableDir(o.out, 'output directory');
  const lock = acquireRunLock(o.out, { command: 'rnode train', warn });
  try {
    const removed = cleanTempFiles(o.out);
    if (removed.length) warn(`removed ${removed.length} temp file${removed.length > 1 ? 's' : ''} left in ${o.out} by a killed run: ${removed.join(', ')}`);
    const existing = ['last.json', 'best.json'].map((f) => join(o.out, f)).find((p) => existsSync(p));
    if (existing !== undefined) {
      let other: RunIdentity | null = null;
      let what = 'unreadable';
      try {
        const ck = readCheckpoint(existing, { warn: () => undefined });
        const { run } = readRunFileAt(join(o.out, 'run.json'));
        other = ck.run ?? identityFromRunFile(run);
        what = `${other ? describe(other) : 'unknown data'}, iteration ${ck.iteration}`;
      } catch {
        /* a corrupt checkpoint is still someone's */
      }
      const resumingHere = o.resume !== undefined && resolvePath(dirname(o.resume)) === resolvePath(o.out);
      const continues = o.resume !== undefined && (other ? sameRun(other, o.identity) : resumingHere);
      if (!continues) {
        if (!o.force) {
          throw new UsageError(
            `${o.out} holds another run's checkpoint (${existing}: ${what}); pass --resume ${existing} to continue it, --force to move that run's files into ${join(o.out, 'archive')}/ and start over, or choose another --out`,
          );
        }
        const dir = archiveRunFiles(o.out);
        warn(`--force: moved the previous run's files (${existing}: ${what}) to ${dir}`);
      }
    }
    return lock;
  } catch (e) {
    lock.release();
    throw e;
  }
}

/** Move the run files of `out` into a fresh `out/archive/<time>/` (never deletes); returns it. */
export function archiveRunFiles(out: string): string {
  const stamp = new Date().toISOString().replace(/[:.]/g, '-');
  let dir = join(out, 'archive', stamp);
  for (let i = 1; existsSync(dir); i++) dir = join(out, 'archive', `${stamp}-${i}`);
  mkdirSync(dir, { recursive: true });
  for (const f of RUN_FILES) if (existsSync(join(out, f))) renameSync(join(out, f), join(dir, f));
  fsyncDir(dir);
  fsyncDir(out);
  return dir;
}

/** run.json at `path` (checkpoint-read.ts's readRunFile takes a checkpoint's path). */
function readRunFileAt(path: string): { run: { data: DataSpec; preset: string; seed: number } | null } {
  try {
    const r = JSON.parse(readFileSync(path, 'utf8')) as { format?: string; data: DataSpec; preset: string; seed: number };
    return { run: r.format === 'rnode-run' ? r : null };
  } catch {
    return { run: null };
  }
}
