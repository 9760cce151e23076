// A sweep's results: one result.json per finished job (in its run folder, written once, so a
// job that ran twice counts once), and the table built from them (results.jsonl, results.csv).
import { existsSync, readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { writeFileAtomic } from '@rnode/core/node';
import { stringify } from 'csv-stringify/sync';
import type { RunConfig } from '../config.js';
import { canonicalJson } from './grid.js';

/** What became of one job. */
export interface JobResult {
  id: string;
  config: RunConfig;
  runDir: string;
  /** 'failed': training stopped with an error (diverged, a non-finite loss, bad data…): a result too. */
  status: 'done' | 'failed';
  /** The summary `rnode train --json` printed (test_nll or test_bits_per_dim, NFE, seconds…); null when it failed. */
  summary: Record<string, unknown> | null;
  /** The child's `rnode: error:` message (e.g. "training diverged: … at iteration 41 …"); null when done. */
  error: string | null;
  /** How many times `rnode train` was started for it (a resumed run counts each start). */
  attempts: number;
}

/** The file in a run folder that says the job is finished. */
export const RESULT_FILE = 'result.json';

/** The stored result of the job whose run folder is `runDir`, or null when it has none yet. */
export function readJobResult(runDir: string): JobResult | null {
  const path = join(runDir, RESULT_FILE);
  if (!existsSync(path)) return null;
  let v: Partial<JobResult>;
  try {
    v = JSON.parse(readFileSync(path, 'utf8')) as Partial<JobResult>;
  } catch (e) {
    throw new Error(`cannot read the job result ${path}: ${(e as Error).message}; remove it to run the job again`);
  }
  if (typeof v.id !== 'string' || (v.status !== 'done' && v.status !== 'failed') || typeof v.config !== 'object' || v.config === null) {
    throw new Error(`${path} is not a job result (it needs id, status and config); remove it to run the job again`);
  }
  return {
    id: v.id,
    config: v.config,
    runDir,
    status: v.status,
    summary: typeof v.summary === 'object' ? v.summary : null,
    error: typeof v.error === 'string' ? v.error : null,
    attempts: typeof v.attempts === 'number' ? v.attempts : 1,
  };
}

/** Write `<runDir>/result.json` atomically (runDir is not stored: the folder is where it lies). */
export function writeJobResult(r: JobResult): void {
  const { runDir, ...stored } = r;
  writeFileAtomic(join(runDir, RESULT_FILE), `${JSON.stringify(stored, null, 2)}\n`, { what: 'job result ' });
}

/** The config keys whose values differ between results, in first-seen order. */
export function varyingKeys(results: readonly JobResult[]): string[] {
  const keys: string[] = [];
  for (const r of results) for (const k of Object.keys(r.config)) if (!keys.includes(k)) keys.push(k);
  return keys.filter((k) => new Set(results.map((r) => canonicalJson((r.config as Record<string, unknown>)[k] ?? null))).size > 1);
}

/** A summary's number, or null. */
export const summaryNumber = (r: JobResult, key: string): number | null => {
  const v = r.summary?.[key];
  return typeof v === 'number' ? v : null;
};

const SUMMARY_COLUMNS = ['test_nll', 'test_bits_per_dim', 'test_nfe', 'train_nfe_total', 'iterations', 'seconds'] as const;

/**
 * Write `<out>/results.jsonl` (one JobResult per line, runDir absolute) and `<out>/results.csv`
 * (id, status, attempts, the varying config keys, the summary's test numbers, error, run folder).
 */
export function writeResultsTable(out: string, results: JobResult[]): { jsonl: string; csv: string } {
  const jsonl = join(out, 'results.jsonl');
  const csv = join(out, 'results.csv');
  writeFileAtomic(jsonl, results.map((r) => `${JSON.stringify({ ...r, runDir: resolve(r.runDir) })}\n`).join(''));
  const varying = varyingKeys(results);
  const cell = (v: unknown): string | number => (v === undefined || v === null ? '' : typeof v === 'number' || typeof v === 'string' ? v : JSON.stringify(v));
  const rows = results.map((r) => [
    r.id,
    r.status,
    r.attempts,
    ...varying.map((k) => cell((r.config as Record<string, unknown>)[k])),
    ...SUMMARY_COLUMNS.map((k) => cell(summaryNumber(r, k))),
    r.error ?? '',
    resolve(r.runDir),
  ]);
  // Numbers keep every digit (String(x) round-trips a double): the CSV compares bit for bit too.
  const text = stringify(rows, { header: true, columns: ['id', 'status', 'attempts', ...varying, ...SUMMARY_COLUMNS, 'error', 'run_dir'], cast: { number: (x) => String(x) } });
  writeFileAtomic(csv, text);
  return { jsonl, csv };
}
