import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { BIN } from './run.js';

/** The preload that announces (and can hold) the renames of checkpoint temp files. */
export const FAULT_PRELOAD = fileURLToPath(new URL('./fault-preload.mjs', import.meta.url));

export interface Exit {
  code: number | null;
  signal: NodeJS.Signals | null;
}

/** `rnode …` as a running child process whose output can be waited on. */
export interface Child {
  readonly proc: ChildProcess;
  readonly stdout: string;
  readonly stderr: string;
  readonly exit: Promise<Exit>;
  /** Resolves true once `re` has matched `count` times in the stream, false if the process ended first. */
  waitFor(stream: 'stdout' | 'stderr', re: RegExp, count?: number): Promise<boolean>;
  kill(signal: NodeJS.Signals): void;
}

let running = 0;
let maxChildren = Infinity;
const queue: Array<() => void> = [];

/** At most `n` children at a time (startRnode waits for a slot; a slot frees when a child exits). */
export function setMaxChildren(n: number): void {
  maxChildren = n;
}

async function slot(): Promise<() => void> {
  if (running >= maxChildren) await new Promise<void>((resolve) => queue.push(resolve));
  running += 1;
  return () => {
    running -= 1;
    queue.shift()?.();
  };
}

export async function startRnode(args: readonly string[], o: { hold?: number; cwd?: string } = {}): Promise<Child> {
  if (!existsSync(BIN)) throw new Error(`${BIN} is missing: build the CLI first (pnpm --filter @rnode/cli build)`);
  const release = await slot();
  const proc = spawn(process.execPath, [BIN, ...args], {
    cwd: o.cwd ?? process.cwd(),
    env: {
      ...process.env,
      NO_COLOR: '1',
      NODE_OPTIONS: `--import=${pathToFileURL(FAULT_PRELOAD).href}`,
      ...(o.hold ? { RNODE_FAULT_HOLD: String(o.hold) } : {}),
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const out = { stdout: '', stderr: '' };
  const waiters: Array<() => void> = [];
  const poke = () => waiters.splice(0).forEach((w) => w());
  proc.stdout!.setEncoding('utf8').on('data', (s: string) => ((out.stdout += s), poke()));
  proc.stderr!.setEncoding('utf8').on('data', (s: string) => ((out.stderr += s), poke()));
  let ended = false;
  const exit = new Promise<Exit>((resolve) =>
    proc.on('close', (code, signal) => {
      ended = true;
      release();
      poke();
      resolve({ code, signal });
    }),
  );
  const count = (text: string, re: RegExp) => text.match(new RegExp(re.source, re.flags.includes('g') ? re.flags : `${re.flags}g`))?.length ?? 0;
  return {
    proc,
    get stdout() {
      return out.stdout;
    },
    get stderr() {
      return out.stderr;
    },
    exit,
    waitFor(stream, re, n = 1) {
      return new Promise((resolve) => {
        const check = () => {
          if (count(out[stream], re) >= n) resolve(true);
          else if (ended) resolve(false);
          else waiters.push(check);
        };
        check();
      });
    },
    kill(signal) {
      proc.kill(signal);
    },
  };
}

/** Run `rnode …` to its end. */
export async function runRnode(args: readonly string[], o: { cwd?: string } = {}): Promise<Exit & { stdout: string; stderr: string }> {
  const c = await startRnode(args, o);
  const e = await c.exit;
  return { ...e, stdout: c.stdout, stderr: c.stderr };
}

/** A checkpoint file, parsed (throws if it is not whole JSON). */
export function readJson(path: string): Record<string, unknown> {
  return JSON.parse(readFileSync(path, 'utf8')) as Record<string, unknown>;
}

/** The checkpoint temp files left in a folder (`.last.json.<pid>.<n>.tmp`). */
export function tempFiles(dir: string): string[] {
  return existsSync(dir) ? readdirSync(dir).filter((f) => /^\.last\.json\..*\.tmp$/.test(f)).map((f) => join(dir, f)) : [];
}

/** The JSON lines of a metrics file, by type (every line must parse). */
export function metricsLines(dir: string): Array<Record<string, unknown> & { type: string }> {
  const path = join(dir, 'metrics.jsonl');
  if (!existsSync(path)) return [];
  return readFileSync(path, 'utf8')
    .split('\n')
    .filter(Boolean)
    .map((l) => JSON.parse(l) as Record<string, unknown> & { type: string });
}

/** mulberry32: a small seeded generator for the kill moments (failures reproduce with the same seed). */
export function seeded(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}
