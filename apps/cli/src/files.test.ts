// The files of a run are durable, verified and owned (RELIABILITY.md, "Files"): each test runs the
// built CLI as a child process against a real folder, a real full disk (tmpfs) or a real lock.
import { spawn, spawnSync } from 'node:child_process';
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { hostname, tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it, test } from 'vitest';
import { BIN, lastJson, rnode } from './testing/run.js';

const tmp = mkdtempSync(join(tmpdir(), 'rnode-cli-files-'));
const mounts: string[] = [];
afterAll(() => {
  for (const m of mounts) spawnSync('umount', [m]);
  rmSync(tmp, { recursive: true, force: true });
});

const TINY = ['--hidden', '8,8', '--batch-size', '32', '--test-samples', '100', '--quiet'];
const base = join(tmp, 'base');

/** Mount a tmpfs of `bytes` (root only); returns the reason it could not when it cannot. */
function mountTmpfs(dir: string, options: string): string | null {
  if (process.getuid?.() !== 0) return 'not root: cannot mount a tmpfs';
  mkdirSync(dir, { recursive: true });
  const r = spawnSync('mount', ['-t', 'tmpfs', '-o', options, 'tmpfs', dir], { encoding: 'utf8' });
  if (r.status !== 0) return `mount -t tmpfs failed: ${(r.stderr || r.error?.message || '').trim()}`;
  mounts.push(dir);
  return null;
}

const canMount = (() => {
  const probe = join(tmp, 'probe-mount');
  const why = mountTmpfs(probe, 'size=64k');
  if (why) console.warn(`[files.test] skipping the tmpfs tests: ${why}`);
  return why === null;
})();

const iterationLines = (dir: string) =>
  readFileSync(join(dir, 'metrics.jsonl'), 'utf8')
    .trim()
    .split('\n')
    .map((l) => JSON.parse(l) as { type: string; iteration?: number })
    .filter((e) => e.type === 'iteration')
    .map((e) => e.iteration);

const deadPid = (): number => Number(spawnSync(process.execPath, ['-e', 'process.stdout.write(String(process.pid))'], { encoding: 'utf8' }).stdout);

beforeAll(() => {
  const r = rnode(['train', '--data', 'pinwheel', '--iterations', '3', ...TINY, '--out', base, '--json']);
  expect(r.code, r.stderr).toBe(0);
});

describe('rnode train: durable, verified files', () => {
  it.skipIf(!canMount)('disk full for real (tmpfs): resume fails with exit 1 naming last.json, which survives byte-identical', () => {
    // A checkpoint of ~150-250 KB (64,64,64), trained on a normal disk.
    const big = join(tmp, 'big');
    const t = rnode(['train', '--data', 'pinwheel', '--iterations', '1', '--hidden', '64,64,64', '--batch-size', '32', '--test-samples', '100', '--quiet', '--out', big]);
    expect(t.code, t.stderr).toBe(0);
    const size = statSync(join(big, 'last.json')).size;
    expect(size).toBeGreaterThan(100_000);
    // A tmpfs with room for that checkpoint and 64 KB more: not for a second copy beside it.
    const d = join(tmp, 'full');
    expect(mountTmpfs(d, `size=${Math.ceil(size / 4096) * 4096 + 65536}`)).toBeNull();
    for (const f of ['last.json', 'run.json', 'metrics.jsonl']) copyFileSync(join(big, f), join(d, f));
    const before = readFileSync(join(d, 'last.json'));
    const r = rnode(['train', '--resume', join(d, 'last.json'), '--out', d, '--iterations', '3', '--hidden', '64,64,64', '--batch-size', '32', '--test-samples', '100', '--quiet']);
    expect(r.code, r.stderr).toBe(1);
    expect(r.stderr).toContain(`could not write checkpoint ${join(d, 'last.json')}: no space left on device (ENOSPC)`);
    expect(readFileSync(join(d, 'last.json')).equals(before)).toBe(true);
    expect(readdirSync(d).filter((n) => n.endsWith('.tmp'))).toEqual([]);
    const ev = rnode(['eval', '--checkpoint', join(d, 'last.json'), '--json']);
    expect(ev.code, ev.stderr).toBe(0);
  });

  test('one flipped base64 character in a checkpoint: eval fails naming the file', () => {
    const p = join(tmp, 'flipped.json');
    const text = readFileSync(join(base, 'last.json'), 'utf8');
    const at = text.indexOf('"data":"', text.indexOf('"weights":')) + 20;
    writeFileSync(p, text.slice(0, at) + (text[at] === 'A' ? 'B' : 'A') + text.slice(at + 1));
    copyFileSync(join(base, 'run.json'), join(tmp, 'run.json'));
    const r = rnode(['eval', '--checkpoint', p]);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain(`${p} is corrupt: its contents do not match its checksum`);
  });

  test('resuming NaN optimizer state is an error and writes nothing', () => {
    const ck = JSON.parse(readFileSync(join(base, 'last.json'), 'utf8')) as { optimizer: { params: Array<{ m: { data: string } }> }; checksum?: string };
    const raw = Buffer.from(ck.optimizer.params[0]!.m.data, 'base64');
    const m = new Float32Array(raw.buffer.slice(raw.byteOffset, raw.byteOffset + raw.length));
    m[0] = NaN;
    ck.optimizer.params[0]!.m.data = Buffer.from(m.buffer).toString('base64');
    delete ck.checksum; // as an older version (or another tool) would have written it
    const src = join(tmp, 'nan-src');
    mkdirSync(src);
    writeFileSync(join(src, 'last.json'), JSON.stringify(ck));
    const out = join(tmp, 'nan-out');
    const r = rnode(['train', '--data', 'pinwheel', '--resume', join(src, 'last.json'), '--out', out, '--iterations', '4', ...TINY]);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/optimizer state ".*"\.m holds a non-finite value \(NaN at index 0\)/);
    expect(existsSync(join(out, 'last.json'))).toBe(false);
  });

  test('crash + resume: metrics hold each iteration once; leftover temp files are removed', () => {
    const d = join(tmp, 'crashed');
    mkdirSync(d);
    for (const f of ['last.json', 'run.json', 'metrics.jsonl']) copyFileSync(join(base, f), join(d, f));
    // The crash: iterations 4 and 5 were logged but never checkpointed; a killed write left a temp file.
    const lines = readFileSync(join(d, 'metrics.jsonl'), 'utf8').trim().split('\n');
    const it3 = lines.find((l) => l.startsWith('{"type":"iteration"') && l.includes('"iteration":3'))!;
    writeFileSync(join(d, 'metrics.jsonl'), `${[...lines, it3.replace('"iteration":3', '"iteration":4'), it3.replace('"iteration":3', '"iteration":5')].join('\n')}\n`);
    const stray = `.last.json.${deadPid()}.0badc0de.tmp`;
    writeFileSync(join(d, stray), '{"format":"rnode-checkpoint","trunc');
    const r = rnode(['train', '--data', 'pinwheel', '--resume', join(d, 'last.json'), '--out', d, '--iterations', '6', ...TINY]);
    expect(r.code, r.stderr).toBe(0);
    expect(iterationLines(d)).toEqual([1, 2, 3, 4, 5, 6]);
    expect(existsSync(join(d, stray))).toBe(false);
  });
});

describe('rnode train: one run owns its folder', () => {
  test('a folder locked by a live run: a second run fails naming its pid; a dead run\'s lock is taken over', async () => {
    const d = join(tmp, 'shared');
    const first = spawn(process.execPath, [BIN, 'train', '--data', 'pinwheel', '--iterations', '100000', ...TINY, '--out', d], { stdio: 'ignore' });
    try {
      const t0 = Date.now();
      while (!existsSync(join(d, '.rnode.lock')) && Date.now() - t0 < 60_000) await new Promise((r) => setTimeout(r, 100));
      const second = rnode(['train', '--data', 'pinwheel', '--iterations', '2', ...TINY, '--out', d]);
      expect(second.code).toBe(1);
      expect(second.stderr).toContain(`is in use by another run: pid ${first.pid} on ${hostname()}`);
    } finally {
      first.kill('SIGKILL');
      await new Promise((r) => first.once('exit', r));
    }
    // The killed run's lock is stale now: the next run takes it over (its folder has no checkpoint yet).
    const third = rnode(['train', '--data', 'pinwheel', '--iterations', '2', ...TINY, '--out', d]);
    expect(third.code, third.stderr).toBe(0);
    expect(third.stderr).toContain(`taking over the stale lock ${join(d, '.rnode.lock')} of pid ${first.pid}`);
    expect(existsSync(join(d, '.rnode.lock'))).toBe(false);
  });

  test('a fake lock of a live process on this host blocks the run', () => {
    const d = join(tmp, 'locked');
    mkdirSync(d);
    writeFileSync(join(d, '.rnode.lock'), JSON.stringify({ pid: process.pid, host: hostname(), started: '2024-01-01T00:00:00.000Z', command: 'rnode train' }));
    const r = rnode(['train', '--data', 'pinwheel', '--iterations', '2', ...TINY, '--out', d]);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain(`pid ${process.pid}`);
    expect(existsSync(join(d, 'run.json'))).toBe(false);
  });

  test('a reused folder: an error without --resume/--force; --force archives the old files', () => {
    const d = join(tmp, 'reused');
    mkdirSync(d);
    for (const f of ['last.json', 'run.json', 'metrics.jsonl']) copyFileSync(join(base, f), join(d, f));
    const oldCk = readFileSync(join(d, 'last.json'));
    const r = rnode(['train', '--data', 'moons', '--iterations', '2', ...TINY, '--out', d]);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain(`${d} holds another run's checkpoint (${join(d, 'last.json')}: pinwheel`);
    expect(readFileSync(join(d, 'last.json')).equals(oldCk)).toBe(true);
    expect(JSON.parse(readFileSync(join(d, 'run.json'), 'utf8')).data).toEqual({ kind: 'toy', name: 'pinwheel' });
    const f = rnode(['train', '--data', 'moons', '--iterations', '2', ...TINY, '--out', d, '--force']);
    expect(f.code, f.stderr).toBe(0);
    const archives = readdirSync(join(d, 'archive'));
    expect(archives).toHaveLength(1);
    const a = join(d, 'archive', archives[0]!);
    expect(readdirSync(a).sort()).toEqual(['last.json', 'metrics.jsonl', 'run.json']);
    expect(readFileSync(join(a, 'last.json')).equals(oldCk)).toBe(true);
    expect(JSON.parse(readFileSync(join(d, 'run.json'), 'utf8')).data).toEqual({ kind: 'toy', name: 'moons' });
    const ev = rnode(['eval', '--checkpoint', join(d, 'last.json'), '--json']);
    expect(ev.code, ev.stderr).toBe(0);
    expect(lastJson(ev.stdout).data).toBe('moons');
  });

  test('eval on a folder whose run.json disagrees with the checkpoint refuses (never scores the wrong data)', () => {
    const d = join(tmp, 'mixed');
    mkdirSync(d);
    copyFileSync(join(base, 'last.json'), join(d, 'last.json')); // a pinwheel model …
    const run = JSON.parse(readFileSync(join(base, 'run.json'), 'utf8')) as Record<string, unknown>;
    writeFileSync(join(d, 'run.json'), JSON.stringify({ ...run, data: { kind: 'toy', name: 'moons' } })); // … beside a moons run.json
    const r = rnode(['eval', '--checkpoint', join(d, 'last.json')]);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain(`${join(d, 'last.json')} belongs to a run on pinwheel`);
    expect(r.stderr).toContain(`${join(d, 'run.json')} describes moons`);
    expect(r.stdout).not.toContain('NLL');
    // Without run.json the checkpoint's own record is used: pinwheel.
    rmSync(join(d, 'run.json'));
    const ok = rnode(['eval', '--checkpoint', join(d, 'last.json'), '--json']);
    expect(ok.code, ok.stderr).toBe(0);
    expect(lastJson(ok.stdout).data).toBe('pinwheel');
  });

  test('--resume with another --data or --preset is a usage error (exit 2) naming both', () => {
    const d = join(tmp, 'resume-other');
    const r = rnode(['train', '--data', 'moons', '--resume', join(base, 'last.json'), '--iterations', '5', ...TINY, '--out', d]);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain(`--resume ${join(base, 'last.json')} continues a run on pinwheel, but --data is moons`);
    const p = rnode(['train', '--preset', 'ffjord', '--resume', join(base, 'last.json'), '--iterations', '5', ...TINY, '--out', d]);
    expect(p.code).toBe(2);
    expect(p.stderr).toContain('continues a run with --preset rnode, but --preset is ffjord');
    expect(existsSync(d)).toBe(false);
  });

  test('an --out that cannot be a directory is exit 2 naming it; a read-only one exit 1', () => {
    const file = join(tmp, 'a-file');
    writeFileSync(file, 'x');
    const r = rnode(['train', '--data', 'pinwheel', '--iterations', '1', ...TINY, '--out', join(file, 'run')]);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain(`cannot use output directory ${join(file, 'run')}: a parent of it is not a directory (ENOTDIR)`);
  });

  it.skipIf(!canMount)('a read-only --out (tmpfs mounted ro) is exit 1: read-only file system, naming it', () => {
    const ro = join(tmp, 'ro');
    expect(mountTmpfs(ro, 'ro,size=64k')).toBeNull();
    const r = rnode(['train', '--data', 'pinwheel', '--iterations', '1', ...TINY, '--out', join(ro, 'run')]);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain(`cannot use output directory ${join(ro, 'run')}: read-only file system (EROFS)`);
  });
});
