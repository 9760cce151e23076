// `rnode sweep` and `rnode worker`: grid files (expansion, ids, errors naming the key), a local
// sweep and its table (idempotent: a rerun runs nothing), failed jobs as results, and a real
// distributed sweep: redis-server on a free port, two `rnode worker` processes, one SIGKILLed
// in the middle of a job; every job must finish exactly once, bit-equal to a local run of the
// same grid, the killed job resumed from its checkpoint, and no `rnode train` left running.
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, utimesSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { hostname, tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, test, vi } from 'vitest';
import { MissingPackageError } from './errors.js';
import { expandGrid, readGridFile } from './sweep/grid.js';
import { metricsLines, readJson, runRnode } from './testing/child.js';
import { BIN } from './testing/run.js';

const tmp = mkdtempSync(join(tmpdir(), 'rnode-sweep-'));
const cleanups: Array<() => void> = [];
afterAll(() => {
  for (const c of cleanups.reverse()) c();
  rmSync(tmp, { recursive: true, force: true });
});

const W = 'grid file g.json';
const writeJson = (name: string, v: unknown): string => {
  const p = join(tmp, name);
  writeFileSync(p, typeof v === 'string' ? v : `${JSON.stringify(v, null, 2)}\n`);
  return p;
};
const jsonLines = (text: string) =>
  text
    .trim()
    .split('\n')
    .filter(Boolean)
    .map((l) => JSON.parse(l) as Record<string, unknown>);
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const escapeRe = (x: string) => x.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');

describe('grid files', () => {
  test('the cartesian product in key order, seeds last; each point merged over base as a train config', () => {
    const plan = expandGrid({ name: 'lam', base: { data: 'pinwheel', 'batch-size': 32, hidden: '8,8' }, grid: { lambdaK: [0, 0.01], 'lambda-j': [0, 0.1] }, seeds: [0, 1] }, W);
    expect(plan.name).toBe('lam');
    expect(plan.varying).toEqual(['lambdaK', 'lambdaJ', 'seed']);
    expect(plan.jobs.map((j) => [j.config.lambdaK, j.config.lambdaJ, j.config.seed])).toEqual([
      [0, 0, 0], [0, 0, 1], [0, 0.1, 0], [0, 0.1, 1], [0.01, 0, 0], [0.01, 0, 1], [0.01, 0.1, 0], [0.01, 0.1, 1],
    ]);
    expect(plan.jobs[2]!.config).toEqual({ data: 'pinwheel', batchSize: 32, hidden: [8, 8], lambdaK: 0, lambdaJ: 0.1, seed: 0 });
    expect(new Set(plan.jobs.map((j) => j.id)).size).toBe(8);
    // readable, and stable across machines and releases: the hash of the canonical JSON of the config
    expect(plan.jobs[2]!.id).toBe('lambda-k=0_lambda-j=0.1_seed=0_afd14b84');
    // the same config is the same job whatever the spelling or order of the keys
    const same = expandGrid({ grid: { seed: [0], 'lambda-j': [0.1] }, base: { lambdaK: 0, hidden: [8, 8], batchSize: 32, data: 'pinwheel' } }, W);
    expect(same.jobs[0]!.id.slice(-8)).toBe('afd14b84');
    expect(same.name).toBe('sweep');
  });

  test('a grid point that is the same run as another runs once, with a warning', () => {
    const plan = expandGrid({ base: { lambdaK: 0.01 }, grid: { iterations: [5, 5, 6] } }, W);
    expect(plan.jobs.map((j) => j.config.iterations)).toEqual([5, 6]);
    expect(plan.warnings).toHaveLength(1);
    expect(plan.warnings![0]).toMatch(/grid point iterations=5 is the same run as job 1 \(iterations=5_[0-9a-f]{8}\); it runs once/);
  });

  test.each([
    [[], `${W}: a grid file is a JSON object`],
    [{ grid: { lambdaK: [0, 0.01, -1] } }, `${W}: key "grid.lambdaK[2]": Too small`],
    [{ grid: { preset: ['rnode', 'fjord'] } }, `${W}: key "grid.preset[1]": `],
    [{ grid: { 'hidden': ['8,8', '8,x'] } }, `${W}: key "grid.hidden[1]": expected a comma-separated list`],
    [{ grid: { lambdaKK: [0] } }, `${W}: unknown key "grid.lambdaKK"; a grid takes the keys of rnode train's config files: data, preset,`],
    [{ grid: { lambdaK: 0.01 } }, `${W}: key "grid.lambdaK": expected a non-empty list of values`],
    [{ grid: { lambdaK: [] } }, `${W}: key "grid.lambdaK": expected a non-empty list of values`],
    [{ grid: { lambdaK: [0], 'lambda-k': [1] } }, `${W}: key "grid.lambda-k" is given twice (as "grid.lambdaK" too)`],
    [{ base: { iterations: 0 }, grid: {} }, `${W}: key "base.iterations": Too small`],
    [{ base: { wat: 1 }, grid: {} }, `${W}: unknown key "base.wat"`],
    [{ base: [1], grid: {} }, `${W}: key "base": expected an object`],
    [{ grid: { out: ['a', 'b'] } }, `${W}: key "grid.out" is not allowed in a grid file: each job writes <out>/runs/<id>/`],
    [{ base: { resume: 'x/last.json' }, grid: {} }, `${W}: key "base.resume" is not allowed in a grid file`],
    [{ grid: { force: [true] } }, `${W}: key "grid.force" is not allowed in a grid file`],
    [{ grid: {}, seeds: [0, 1.5] }, `${W}: key "seeds[1]": `],
    [{ grid: {}, seeds: 3 }, `${W}: key "seeds": expected a non-empty list of integers`],
    [{ grid: { seed: [0, 1] }, seeds: [2] }, `${W}: key "seeds" and key "grid.seed" both list seeds`],
    [{ base: { seed: 4 }, grid: {}, seeds: [2] }, `${W}: key "seeds" and key "base.seed" both set the seed`],
    [{ grid: {}, sedes: [1] }, `${W}: unknown key "sedes"; known keys: name, base, grid, seeds`],
    [{ base: { data: 'pinwheel' } }, `${W}: key "grid" is missing`],
    [{ grid: [] }, `${W}: key "grid": expected an object of lists`],
    [{ name: 'a b', grid: {} }, `${W}: key "name": expected a name of letters, digits`],
    [{ base: { regularizers: { 'kinetic-energy': 0.1 } }, grid: { lambdaK: [0.01] } }, `${W}, grid point lambdaK=0.01: the weight of kinetic-energy is given twice`],
  ])('%j: %s', (raw, message) => {
    expect(() => expandGrid(raw, W)).toThrow(message);
    try {
      expandGrid(raw, W);
    } catch (e) {
      expect((e as Error).name).toBe('UsageError');
    }
  });

  test('files: the name defaults to the file\'s, and JSON errors, duplicate keys and missing files name the file', () => {
    const p = writeJson('lambda sweep.json', { grid: { lambdaK: [0, 0.01] } });
    expect(readGridFile(p).name).toBe('lambda-sweep');
    const dup = writeJson('dup.json', '{\n  "grid": {\n    "lambdaK": [0],\n    "lambdaK": [1]\n  }\n}\n');
    expect(() => readGridFile(dup)).toThrow(`grid file ${dup}, line 4: key "grid.lambdaK" is given twice (first on line 3)`);
    const bad = writeJson('bad.json', '{ "grid": { "lambdaK": [0, ] } }');
    expect(() => readGridFile(bad)).toThrow(`grid file ${bad} is not valid JSON`);
    expect(() => readGridFile(join(tmp, 'none.json'))).toThrow(`cannot read grid file ${join(tmp, 'none.json')}: ENOENT`);
  });

  test('rnode sweep: a bad grid file exits 2 naming the file and the key; a bad or unreachable --queue names the URL', async () => {
    const p = writeJson('neg.json', { base: { data: 'pinwheel' }, grid: { lambdaJ: [0.01, -2] } });
    const r = await runRnode(['sweep', p]);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain(`rnode: error: grid file ${p}: key "grid.lambdaJ[1]": Too small`);
    expect(r.stderr).not.toMatch(/\n\s+at /);
    const ok = writeJson('ok.json', { base: { data: 'pinwheel', iterations: 1 }, grid: { lambdaK: [0] } });
    const url = await runRnode(['sweep', ok, '--queue', 'http://127.0.0.1:6379']);
    expect(url.code).toBe(2);
    expect(url.stderr).toContain('--queue http://127.0.0.1:6379: expected a redis:// or rediss:// URL');
    const both = await runRnode(['sweep', ok, '--queue', 'redis://127.0.0.1:6379', '--parallel', '2']);
    expect(both.code).toBe(2);
    expect(both.stderr).toContain('rnode: error: --parallel sets the jobs at a time of a local sweep; with --queue, each rnode worker takes --concurrency jobs at a time');
    const port = await freePort(); // nothing listens there
    const t0 = performance.now();
    const down = await runRnode(['sweep', ok, '--queue', `redis://127.0.0.1:${port}`, '--out', join(tmp, 'down')]);
    expect(down.code).toBe(1);
    expect(down.stderr).toContain(`rnode: error: cannot reach the queue at --queue redis://127.0.0.1:${port}: connect ECONNREFUSED`);
    expect(performance.now() - t0).toBeLessThan(15_000);
    const worker = await runRnode(['worker', '--queue', `redis://127.0.0.1:${port}`]);
    expect(worker.code).toBe(1);
    expect(worker.stderr).toContain(`cannot reach the queue at --queue redis://127.0.0.1:${port}`);
  });
});

// Four tiny jobs: λ_K × seeds on pinwheel, 6 iterations each.
const TINY = { name: 'tiny', base: { data: 'pinwheel', iterations: 6, batchSize: 32, testSamples: 200, hidden: [8, 8] }, grid: { lambdaK: [0, 0.1] }, seeds: [0, 1] };

describe('a local sweep', () => {
  test('4 jobs in a pool of 2: results.jsonl, results.csv, sweep.json, the figure; each job an ordinary train run; a rerun runs nothing', async () => {
    const grid = writeJson('tiny.json', TINY);
    const out = join(tmp, 'tiny');
    const plan = expandGrid(TINY, W);
    const r = await runRnode(['sweep', grid, '--parallel', '2', '--out', out, '--json']);
    expect(r.code, r.stderr).toBe(0);
    const lines = jsonLines(r.stdout);
    expect(lines.at(-1)).toMatchObject({ type: 'sweep', name: 'tiny', jobs: 4, done: 4, failed: 0 });
    expect(r.stderr.match(/ start /g)).toHaveLength(4);

    const rows = jsonLines(readFileSync(join(out, 'results.jsonl'), 'utf8'));
    expect(rows.map((x) => x['id'])).toEqual(plan.jobs.map((j) => j.id));
    expect(lines.slice(0, -1)).toEqual(rows);
    for (const [i, row] of rows.entries()) {
      expect(row).toMatchObject({ status: 'done', error: null, attempts: 1, config: plan.jobs[i]!.config, runDir: join(out, 'runs', plan.jobs[i]!.id) });
      expect(Number.isFinite((row['summary'] as { test_nll: number }).test_nll)).toBe(true);
      expect(readJson(join(out, 'runs', plan.jobs[i]!.id, 'job.json'))).toEqual(plan.jobs[i]!.config);
    }
    const csv = readFileSync(join(out, 'results.csv'), 'utf8').trim().split('\n');
    expect(csv[0]).toBe('id,status,attempts,lambdaK,seed,test_nll,test_bits_per_dim,test_nfe,train_nfe_total,iterations,seconds,error,run_dir');
    expect(csv.slice(1).map((l) => l.split(',').slice(0, 6))).toEqual(
      rows.map((x) => [x['id'], 'done', '1', String((x['config'] as { lambdaK: number }).lambdaK), String((x['config'] as { seed: number }).seed), String((x['summary'] as { test_nll: number }).test_nll)]),
    );
    expect(readJson(join(out, 'sweep.json'))).toMatchObject({ name: 'tiny', varying: ['lambdaK', 'seed'] });
    expect(readFileSync(join(out, 'summary.svg'), 'utf8')).toMatch(/^<svg[\s\S]*<\/svg>\s*$/);
    expect(readFileSync(join(out, 'summary.png')).subarray(1, 4).toString()).toBe('PNG');

    // a job is `rnode train --config runs/<id>/job.json`: the same run gives the same test NLL
    const direct = await runRnode(['train', '--config', join(out, 'runs', plan.jobs[3]!.id, 'job.json'), '--out', join(tmp, 'direct'), '--json', '--quiet']);
    expect(direct.code, direct.stderr).toBe(0);
    expect(jsonLines(direct.stdout).at(-1)!['test_nll']).toBe((rows[3]!['summary'] as { test_nll: number }).test_nll);

    // idempotent: a rerun starts nothing and builds the same table from the result.json files
    const before = readFileSync(join(out, 'results.jsonl'), 'utf8');
    const again = await runRnode(['sweep', grid, '--parallel', '2', '--out', out]);
    expect(again.code, again.stderr).toBe(0);
    expect(again.stderr).not.toContain(' start ');
    expect(again.stderr.match(/ skipped .*: already done/g)).toHaveLength(4);
    expect(readFileSync(join(out, 'results.jsonl'), 'utf8')).toBe(before);
    for (const j of plan.jobs) expect(readFileSync(join(out, 'runs', j.id, 'attempts.jsonl'), 'utf8').trim().split('\n')).toHaveLength(1);
    expect(again.stdout).toMatch(/^id +lambda-k +seed +status +test NLL +seconds$/m);
  });

  test('a diverged job is a result: status failed with the child\'s message, exit 1; a rerun skips it, --retry-failed runs it again', async () => {
    const raw = { name: 'diverge', base: { data: 'pinwheel', iterations: 30, batchSize: 32, testSamples: 100, hidden: [8, 8], divergenceFactor: 1 }, grid: { lr: [0.001, 1000] } };
    const grid = writeJson('diverge.json', raw);
    const out = join(tmp, 'diverge');
    const [good, bad] = expandGrid(raw, W).jobs;
    const r = await runRnode(['sweep', grid, '--parallel', '2', '--out', out]);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain(`rnode: error: 1 of 2 jobs failed (their errors are in ${join(out, 'results.csv')}); rnode sweep ${grid} --retry-failed runs them again`);
    expect(r.stdout).toMatch(new RegExp(`^failed ${escapeRe(bad!.id)}: training diverged: the loss was \\S+ at iteration \\d+`, 'm'));
    const stored = readJson(join(out, 'runs', bad!.id, 'result.json'));
    expect(stored).toMatchObject({ id: bad!.id, status: 'failed', summary: null, attempts: 1 });
    expect(stored['error']).toMatch(/^training diverged: .* at iteration \d+/);
    expect(readJson(join(out, 'runs', good!.id, 'result.json'))).toMatchObject({ status: 'done' });
    const csv = readFileSync(join(out, 'results.csv'), 'utf8');
    expect(csv).toMatch(new RegExp(`^${escapeRe(bad!.id)},failed,1,1000,,,,,,,"training diverged: `, 'm'));

    const again = await runRnode(['sweep', grid, '--out', out]);
    expect(again.code).toBe(1);
    expect(again.stderr).not.toContain(' start ');
    expect(again.stderr).toContain(`skipped ${bad!.id}: already failed`);

    const retry = await runRnode(['sweep', grid, '--out', out, '--retry-failed']);
    expect(retry.code).toBe(1);
    expect(retry.stderr).toMatch(new RegExp(`${escapeRe(bad!.id)} failed before; its files are moved to ${escapeRe(join(out, 'runs', bad!.id, 'archive'))}/`));
    expect(retry.stderr).toContain(`start ${bad!.id}: attempt 1`);
    expect(retry.stderr).not.toContain(`start ${good!.id}`);
    const archived = readdirSync(join(out, 'runs', bad!.id, 'archive'));
    expect(archived).toHaveLength(1);
    expect(readdirSync(join(out, 'runs', bad!.id, 'archive', archived[0]!)).sort()).toEqual(['attempts.jsonl', 'last.json', 'metrics.jsonl', 'result.json', 'run.json']);
  });

  test('a run folder locked by a live run is not a result: nothing is stored, and the next run of the sweep does the job', async () => {
    const raw = { ...TINY, name: 'locked', grid: { lambdaK: [0.1] }, seeds: [3] };
    const grid = writeJson('locked.json', raw);
    const out = join(tmp, 'locked');
    const [job] = expandGrid(raw, W).jobs;
    const runDir = join(out, 'runs', job!.id);
    mkdirSync(runDir, { recursive: true });
    // held by this (live) process, as a killed worker's rnode train holds it while it finishes its step
    writeFileSync(join(runDir, '.rnode.lock'), `${JSON.stringify({ pid: process.pid, host: hostname(), started: new Date().toISOString(), command: 'rnode train' })}\n`);
    const r = await runRnode(['sweep', grid, '--out', out]);
    expect(r.code).toBe(1);
    expect(r.stdout).toMatch(/^failed \S+: .*is in use by another run: pid \d+/m);
    expect(r.stderr).toContain('running the sweep again resumes them');
    expect(existsSync(join(runDir, 'result.json'))).toBe(false);
    rmSync(join(runDir, '.rnode.lock'));
    const again = await runRnode(['sweep', grid, '--out', out]);
    expect(again.code, again.stderr).toBe(0);
    expect(readJson(join(runDir, 'result.json'))).toMatchObject({ status: 'done', attempts: 2 });
  });

  test('a folder held by a run on another host whose lock stopped being renewed (a machine that went down) is taken over: the job runs and finishes there', async () => {
    const raw = { ...TINY, name: 'foreign', grid: { lambdaK: [0.1] }, seeds: [4] };
    const grid = writeJson('foreign.json', raw);
    const out = join(tmp, 'foreign');
    const [job] = expandGrid(raw, W).jobs;
    const runDir = join(out, 'runs', job!.id);
    mkdirSync(runDir, { recursive: true });
    const lock = join(runDir, '.rnode.lock');
    writeFileSync(lock, `${JSON.stringify({ pid: 4242, host: 'gone-host', started: '2026-01-01T00:00:00.000Z', command: 'rnode train', heartbeatMs: 30_000 })}\n`);
    const hourAgo = new Date(Date.now() - 3_600_000);
    utimesSync(lock, hourAgo, hourAgo);
    const r = await runRnode(['sweep', grid, '--out', out]);
    expect(r.code, r.stderr).toBe(0);
    expect(readJson(join(runDir, 'result.json'))).toMatchObject({ status: 'done', attempts: 1 });
    expect(existsSync(lock)).toBe(false);
  });
});

describe('the summary figure', () => {
  test('without sharp, vega and vega-lite (optional peers) it is skipped with a one-line note that says what to install', async () => {
    vi.doMock('./optional.js', () => ({
      importOptional: (name: string, needs: string, install: string = name) =>
        Promise.reject(new MissingPackageError(`${needs} needs the package ${name}, which is not installed: npm install ${install}`)),
    }));
    try {
      const { writeSummaryFigure } = await import('./sweep/figure.js');
      const out = join(tmp, 'no-figure');
      const done = { id: 'a', config: { seed: 0 }, runDir: join(out, 'runs', 'a'), status: 'done' as const, summary: { test_nll: 1.5 }, error: null, attempts: 1 };
      expect(await writeSummaryFigure(out, 'x', [done])).toEqual({
        note: 'no summary figure: a figure (rnode plot, rnode sample --out x.png, rnode sweep, rnode reproduce) needs the package vega-lite, which is not installed: npm install sharp vega vega-lite',
      });
      expect(existsSync(join(out, 'summary.png'))).toBe(false);
      expect(await writeSummaryFigure(out, 'x', [{ ...done, status: 'failed', summary: null }])).toEqual({ note: 'no summary figure: no job has a test result' });
    } finally {
      vi.doUnmock('./optional.js');
    }
  });
});

/** A TCP port nobody listens on (now). */
function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const { port } = s.address() as { port: number };
      s.close(() => resolve(port));
    });
  });
}

const REDIS = spawnSync('redis-server', ['--version'], { encoding: 'utf8' }).status === 0;
const NO_REDIS = 'redis-server is not installed (Debian: apt-get install redis-server; scripts/install-system-deps.sh does)';

/** Start redis-server on a free port of 127.0.0.1, without persistence, in `dir`; stopped after the file. */
async function startRedis(dir: string): Promise<string> {
  const port = await freePort();
  const proc: ChildProcess = spawn('redis-server', ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no', '--dir', dir], { stdio: ['ignore', 'pipe', 'pipe'] });
  cleanups.push(() => proc.kill('SIGKILL'));
  let log = '';
  proc.stdout!.setEncoding('utf8').on('data', (s: string) => (log += s));
  proc.stderr!.setEncoding('utf8').on('data', (s: string) => (log += s));
  for (let i = 0; i < 100 && !/Ready to accept connections/.test(log); i++) {
    if (proc.exitCode !== null) break;
    await sleep(100);
  }
  if (!/Ready to accept connections/.test(log)) throw new Error(`redis-server did not start on port ${port}:\n${log}`);
  return `redis://127.0.0.1:${port}`;
}

interface Proc {
  readonly stdout: string;
  readonly stderr: string;
  readonly exit: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  waitFor(re: RegExp): Promise<boolean>;
  kill(signal: NodeJS.Signals): void;
}

/**
 * `rnode …` as a child, in the environment a user has: not testing/child.ts's startRnode, whose
 * fault preload (inherited by the workers' `rnode train` children) writes to stderr with
 * fs.writeSync, which throws once a killed worker's pipe is gone.
 */
function launch(args: readonly string[]): Proc {
  const proc = spawn(process.execPath, [BIN, ...args], { env: { ...process.env, NO_COLOR: '1' }, stdio: ['ignore', 'pipe', 'pipe'] });
  cleanups.push(() => proc.kill('SIGKILL'));
  const out = { stdout: '', stderr: '' };
  let poke = () => undefined as void;
  proc.stdout.setEncoding('utf8').on('data', (x: string) => ((out.stdout += x), poke()));
  proc.stderr.setEncoding('utf8').on('data', (x: string) => ((out.stderr += x), poke()));
  const exit = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((done) => proc.on('close', (code, signal) => (poke(), done({ code, signal }))));
  return {
    get stdout() {
      return out.stdout;
    },
    get stderr() {
      return out.stderr;
    },
    exit,
    async waitFor(re) {
      while (!re.test(out.stderr)) {
        if (proc.exitCode !== null || proc.signalCode !== null) return false;
        await new Promise<void>((r) => (poke = r));
      }
      return true;
    },
    kill: (signal) => proc.kill(signal),
  };
}

/** Whether a process runs (a zombie does not). */
function running(pid: number): boolean {
  try {
    process.kill(pid, 0);
  } catch {
    return false;
  }
  const stat = `/proc/${pid}/stat`;
  return !existsSync(stat) || !/^\d+ \(.*\) Z/.test(readFileSync(stat, 'utf8'));
}

// Six jobs of ~2–4 s (λ_K × seeds, 150 iterations, a checkpoint every iteration).
const SIX = {
  name: 'six',
  base: { data: 'pinwheel', iterations: 150, batchSize: 32, testSamples: 200, hidden: [8, 8], checkpointEvery: 1, checkpointMinutes: 0 },
  grid: { lambdaK: [0, 0.01, 0.1] },
  seeds: [0, 1],
};

describe('a distributed sweep (BullMQ on a real redis-server)', () => {
  const body = async () => {
    const grid = writeJson('six.json', SIX);
    const plan = expandGrid(SIX, W);
    expect(plan.jobs).toHaveLength(6);

    // the reference: a local run of the same grid (stopped by SIGINT once and run again, which resumes)
    const local = join(tmp, 'six-local');
    const first = launch(['sweep', grid, '--parallel', '2', '--out', local]);
    // SIGINT while the third job is training (past its first checkpoint)
    expect(await first.waitFor(/( start \S+: attempt 1[\s\S]*){3}/)).toBe(true);
    const third = join(local, 'runs', [...first.stderr.matchAll(/ start (\S+): attempt 1/g)][2]![1]!);
    for (let i = 0; i < 400 && metricsLines(third).length < 2; i++) await sleep(25);
    first.kill('SIGINT');
    const stopped = await first.exit;
    expect(stopped.code, first.stderr).toBe(130);
    expect(first.stderr).toMatch(/rnode: interrupted by SIGINT: the running jobs stopped after their current step; run the same command again to resume them/);
    const rest = await runRnode(['sweep', grid, '--parallel', '2', '--out', local]);
    expect(rest.code, rest.stderr).toBe(0);
    expect(rest.stderr).toMatch(new RegExp(`start ${escapeRe(third.split('/').at(-1)!)}: attempt 2, resuming its checkpoint`));

    // the queue, two workers, and the sweep
    const url = await startRedis(tmp);
    const workerArgs = ['worker', '--queue', url, '--lock-seconds', '2'];
    const workers = [launch(workerArgs), launch(workerArgs)];
    for (const w of workers) expect(await w.waitFor(/taking jobs from/)).toBe(true);
    const dist = join(tmp, 'six-dist');
    const sweep = launch(['sweep', grid, '--queue', url, '--out', dist, '--json']);

    // SIGKILL worker 0 in the middle of a job: once that job's metrics.jsonl has 2 lines
    const [victim, survivor] = workers as [Proc, Proc];
    expect(await victim.waitFor(/started rnode train \(pid \d+, attempt 1\) in \S+/)).toBe(true);
    const runDir = /started rnode train \(pid \d+, attempt 1\) in (\S+)/.exec(victim.stderr)![1]!;
    for (let i = 0; i < 400 && metricsLines(runDir).length < 2; i++) await sleep(25);
    expect(metricsLines(runDir).length).toBeGreaterThanOrEqual(2);
    expect(existsSync(join(runDir, 'result.json'))).toBe(false);
    victim.kill('SIGKILL');
    expect((await victim.exit).signal).toBe('SIGKILL');

    const done = await sweep.exit;
    expect(done.code, `${sweep.stderr}\n--- surviving worker:\n${survivor.stderr}`).toBe(0);
    const summary = jsonLines(sweep.stdout).at(-1)!;
    expect(summary).toMatchObject({ type: 'sweep', jobs: 6, done: 6, failed: 0 });

    // every job exactly once, equal bit for bit to the local run
    const rows = jsonLines(readFileSync(join(dist, 'results.jsonl'), 'utf8'));
    const ref = jsonLines(readFileSync(join(local, 'results.jsonl'), 'utf8'));
    expect(rows.map((x) => x['id'])).toEqual(plan.jobs.map((j) => j.id));
    for (const [i, job] of plan.jobs.entries()) {
      const d = join(dist, 'runs', job.id);
      expect(rows[i]!['status']).toBe('done');
      expect((rows[i]!['summary'] as { test_nll: number }).test_nll, job.id).toBe((ref[i]!['summary'] as { test_nll: number }).test_nll);
      const weights = (dir: string) => (readJson(join(dir, 'last.json'))['model'] as { weights: unknown }).weights;
      expect(weights(d), `${job.id}: final parameters`).toEqual(weights(join(local, 'runs', job.id)));
      expect(readJson(join(d, 'last.json'))['iteration']).toBe(150);
      // one test line (the summary): no job was trained to its end twice
      expect(metricsLines(d).filter((l) => l.type === 'test'), job.id).toHaveLength(1);
    }
    // the killed job was stopped by its child (stdin closed → SIGTERM → a checkpoint) and resumed on the other worker
    const killed = rows.find((x) => x['runDir'] === runDir)!;
    expect(killed['attempts']).toBeGreaterThanOrEqual(2);
    const events = metricsLines(runDir).filter((l) => l.type === 'done');
    expect(events[0]).toMatchObject({ reason: 'aborted' });
    expect(events.at(-1)).toMatchObject({ reason: 'iterations', iteration: 150 });
    expect(survivor.stderr).toMatch(new RegExp(`started rnode train \\(pid \\d+, attempt [2-9], resuming its checkpoint\\) in ${escapeRe(runDir)}`));

    // no `rnode train` left behind: every child that any attempt started has exited
    const pids = plan.jobs.flatMap((j) => jsonLines(readFileSync(join(dist, 'runs', j.id, 'attempts.jsonl'), 'utf8')).map((a) => a['pid'] as number));
    for (let i = 0; i < 50 && pids.some(running); i++) await sleep(100);
    expect(pids.filter(running)).toEqual([]);

    // queueing the same grid again is idempotent: all skipped, nothing added, the same table
    const again = await runRnode(['sweep', grid, '--queue', url, '--out', dist]);
    expect(again.code, again.stderr).toBe(0);
    expect(again.stderr.match(/ skipped .*: already done/g)).toHaveLength(6);
    expect(jsonLines(readFileSync(join(dist, 'results.jsonl'), 'utf8'))).toEqual(rows);

    // SIGTERM: the surviving worker closes and exits 0
    survivor.kill('SIGTERM');
    expect((await survivor.exit).code, survivor.stderr).toBe(0);
    expect(survivor.stderr).toMatch(/rnode worker: closed$/m);
  };

  if (REDIS) test('6 jobs, 2 workers, one SIGKILLed mid-job: each job once, bit-equal to the local run, the killed one resumed, no orphans', body);
  else if (process.env['CI']) test('6 jobs, 2 workers, one SIGKILLed mid-job (CI needs redis-server)', () => expect.fail(NO_REDIS));
  else test.skip(`6 jobs, 2 workers, one SIGKILLed mid-job (skipped: ${NO_REDIS})`, body);
});
