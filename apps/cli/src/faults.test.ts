// Kill/resume fault injection: the built CLI as a child process, SIGKILLed at seeded random
// moments (during start-up, after an iteration, right after a checkpoint event, while a
// checkpoint's temp file exists), then resumed to the end; SIGINT / SIGTERM stop it cleanly.
// Every interrupted run must end bit-identical to an uninterrupted run of the same settings
// (the final last.json: weights, optimizer, random streams, data position), on cpu and wasm,
// with and without --threads 2. RNODE_FAULT_SEED=<n> picks other moments.
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, test } from 'vitest';
import { metricsLines, readJson, runRnode, seeded, setMaxChildren, startRnode, tempFiles, type Child } from './testing/child.js';

const SEED = Number(process.env['RNODE_FAULT_SEED'] ?? 11);
const tmp = mkdtempSync(join(tmpdir(), 'rnode-faults-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));
setMaxChildren(3); // two cores: a few processes at a time

// A 3-column table (200 rows: 160 train = 5 batches of 32 per epoch).
const csv = join(tmp, 'table.csv');
{
  const r = seeded(7);
  const rows = ['a,b,c'];
  for (let i = 0; i < 200; i++) {
    const u = r() * 2 - 1;
    const v = r() * 2 - 1;
    rows.push([u * 3 + 1, u + v, 2 * v - 5].map((x) => x.toFixed(5)).join(','));
  }
  writeFileSync(csv, `${rows.join('\n')}\n`);
}

const OUTPUT = ['--log-every', '1', '--json']; // progress lines on stderr, checkpoint events on stdout
const TOY = ['--data', 'pinwheel', '--hidden', '8,8', '--batch-size', '32', '--test-samples', '50'];
const TABLE = ['--data', csv, '--hidden', '8,8', '--batch-size', '32', '--test-samples', '10'];
// 20 digits at 14×14, one scale, one block, width 4, Euler with one step: 4 iterations per epoch.
const IMAGE = ['--data', 'mnist', '--subset', '20', '--downsample', '2', '--scales', '1', '--blocks-per-scale', '1', '--width', '4', '--batch-size', '5', '--solver', 'euler', '--step-size', '1', '--eval-every', '0', '--test-samples', '10'];

type KillAt = 'time' | 'iteration' | 'checkpoint' | 'write';
interface Scenario {
  name: string;
  kind: 'toy' | 'tabular' | 'image';
  backend: 'cpu' | 'wasm';
  threads: 1 | 2;
  iterations: number;
  /** `train` and its settings (--out is added). */
  args: string[];
  kills: KillAt[];
}

const scenario = (s: Omit<Scenario, 'args'> & { data: string[]; cadence: string[] }): Scenario => ({
  ...s,
  args: ['train', ...s.data, ...s.cadence, '--iterations', String(s.iterations), '--backend', s.backend, ...(s.threads > 1 ? ['--threads', String(s.threads)] : []), ...OUTPUT],
});

const every = (n: number | 'epoch') => ['--checkpoint-every', String(n), '--checkpoint-minutes', '0'];
const SCENARIOS: Scenario[] = [
  scenario({ name: 'toy-cpu', kind: 'toy', backend: 'cpu', threads: 1, iterations: 40, data: TOY, cadence: every(4), kills: ['iteration', 'time', 'checkpoint', 'write'] }),
  // the wall-clock cadence alone: a checkpoint whenever 0.003 min (0.18 s) have passed
  scenario({ name: 'toy-wasm-minutes', kind: 'toy', backend: 'wasm', threads: 1, iterations: 40, data: TOY, cadence: ['--checkpoint-minutes', '0.003'], kills: ['iteration', 'write', 'time'] }),
  scenario({ name: 'toy-cpu-threads', kind: 'toy', backend: 'cpu', threads: 2, iterations: 30, data: TOY, cadence: every(3), kills: ['iteration', 'checkpoint', 'write'] }),
  scenario({ name: 'tabular-wasm-epoch', kind: 'tabular', backend: 'wasm', threads: 1, iterations: 24, data: TABLE, cadence: every('epoch'), kills: ['time', 'iteration', 'write'] }),
  scenario({ name: 'tabular-cpu-threads', kind: 'tabular', backend: 'cpu', threads: 2, iterations: 24, data: TABLE, cadence: every(3), kills: ['checkpoint', 'iteration', 'time'] }),
  // image runs keep the CLI's default cadence: every epoch (and every 10 minutes)
  scenario({ name: 'image-wasm', kind: 'image', backend: 'wasm', threads: 1, iterations: 12, data: IMAGE, cadence: [], kills: ['iteration', 'write', 'checkpoint'] }),
  scenario({ name: 'image-cpu-threads', kind: 'image', backend: 'cpu', threads: 2, iterations: 8, data: IMAGE, cadence: [], kills: ['iteration', 'checkpoint'] }),
  scenario({ name: 'image-wasm-threads', kind: 'image', backend: 'wasm', threads: 2, iterations: 8, data: IMAGE, cadence: [], kills: ['write', 'time'] }),
];
const byName = (n: string) => SCENARIOS.find((s) => s.name === n)!;

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const hash = (s: string) => [...s].reduce((h, c) => (Math.imul(h, 31) + c.charCodeAt(0)) >>> 0, SEED);

/** Uninterrupted reference runs, one per scenario, started on first use. */
const refs = new Map<string, Promise<string>>();
function reference(s: Scenario): Promise<string> {
  let p = refs.get(s.name);
  if (!p) {
    const out = join(tmp, `${s.name}-ref`);
    p = runRnode([...s.args, '--out', out]).then((r) => {
      if (r.code !== 0) throw new Error(`reference run ${s.name} failed (${r.code}): ${r.stderr}`);
      return out;
    });
    p.catch(() => undefined); // reported where it is awaited
    refs.set(s.name, p);
  }
  return p;
}

/** What each scenario survived, for the report (RELIABILITY.md). */
const survived: Array<{ scenario: string; kind: string; backend: string; threads: number; kills: string[]; replayed: number; duplicates: number }> = [];

const lastIteration = (dir: string): number => (existsSync(join(dir, 'last.json')) ? (readJson(join(dir, 'last.json'))['iteration'] as number) : 0);

/** The arguments that continue the run in `out` (from last.json when there is one, else afresh). */
const continueArgs = (s: Scenario, out: string): string[] => [...s.args, '--out', out, ...(existsSync(join(out, 'last.json')) ? ['--resume', join(out, 'last.json')] : [])];

/** The end state of a run must equal the reference's, bit for bit, and its metrics must agree line by line. */
async function expectSameAsReference(s: Scenario, out: string, replayedAtMost: number): Promise<number> {
  const refDir = await reference(s);
  // `checksum` covers `elapsed` (wall-clock), so it differs whenever elapsed does.
  const { elapsed: _a, checksum: _c, ...want } = readJson(join(refDir, 'last.json'));
  const { elapsed: _b, checksum: _d, ...got } = readJson(join(out, 'last.json'));
  expect(got['iteration'], s.name).toBe(s.iterations);
  expect((got['model'] as { weights: unknown }).weights, `${s.name}: final weights`).toEqual((want['model'] as { weights: unknown }).weights);
  expect(got, `${s.name}: whole checkpoint but elapsed`).toEqual(want);
  // metrics.jsonl: every iteration exactly once (a resume drops the lines past its checkpoint
  // before the replayed iterations are written again), each line equal to the reference's
  const ref = new Map(metricsLines(refDir).filter((l) => l.type === 'iteration').map((l) => [l['iteration'] as number, l]));
  const lines = metricsLines(out).filter((l) => l.type === 'iteration');
  const seen = new Set(lines.map((l) => l['iteration'] as number));
  expect([...seen].sort((a, b) => a - b), `${s.name}: iterations in metrics.jsonl`).toEqual(Array.from({ length: s.iterations }, (_, i) => i + 1));
  for (const l of lines) {
    const r = ref.get(l['iteration'] as number)!;
    expect([l['loss'], l['nll'], l['gradNorm']], `${s.name}: metrics of iteration ${String(l['iteration'])}`).toEqual([r['loss'], r['nll'], r['gradNorm']]);
  }
  expect(lines.length, `${s.name}: iteration lines in metrics.jsonl (${replayedAtMost} replayed after kills)`).toBe(s.iterations);
  return lines.length - s.iterations;
}

/** Start the next run of the chain and SIGKILL it at a seeded moment; returns what it observed. */
async function killOnce(s: Scenario, out: string, at: KillAt, rnd: () => number): Promise<{ plan: string; replayed: number }> {
  const from = lastIteration(out);
  const room = s.iterations - from;
  // 'iteration' needs a few iterations of room before the end; otherwise kill during start-up
  if (at === 'iteration' && room < 4) at = 'time';
  // in the first 60 % of what is left, so that later kills of the chain still find checkpoints to write
  const n = at === 'iteration' ? from + 1 + Math.floor(rnd() * Math.max(1, Math.floor(0.6 * room) - 1)) : 1;
  const delay = Math.floor(rnd() * (at === 'time' ? 1200 : 15)) + (at === 'time' ? 100 : 0);
  const plan = `${at}${at === 'iteration' ? ` ${n}/${s.iterations} +${delay} ms` : at === 'time' ? ` ${delay} ms after spawn` : ''} (resuming from ${from})`;
  const c: Child = await startRnode(continueArgs(s, out), at === 'write' ? { hold: 1 } : {});
  const hit =
    at === 'time'
      ? (await sleep(delay), true)
      : at === 'iteration'
        ? (await c.waitFor('stderr', new RegExp(`^train ${n}/`, 'm'))) && (await sleep(delay), true)
        : at === 'checkpoint'
          ? await c.waitFor('stdout', /"type":"checkpoint","iteration":\d+,"kind":"last"/)
          : await c.waitFor('stderr', /^\[fault\] rename 1 /m);
  c.kill('SIGKILL');
  const e = await c.exit;
  expect(hit && e.signal === 'SIGKILL', `${s.name}: kill at ${plan} missed (exit ${e.code}); stderr:\n${c.stderr.slice(-2000)}`).toBe(true);
  // whatever the moment, last.json is absent or a whole checkpoint
  const ck = join(out, 'last.json');
  const kept = existsSync(ck) ? readJson(ck) : null;
  if (kept) expect(kept['format'], `${s.name}: last.json after a kill at ${plan}`).toBe('rnode-checkpoint');
  if (at === 'write') {
    // killed between the temp file's fsync and its rename: the new checkpoint is only in the
    // temp file, last.json is still the previous one
    const temps = tempFiles(out).map((t) => readJson(t)['iteration'] as number);
    expect(temps.length, `${s.name}: a temp file after a kill during the write`).toBeGreaterThan(0);
    expect(Math.max(...temps)).toBeGreaterThan((kept?.['iteration'] as number | undefined) ?? 0);
  }
  // the iterations past the checkpoint that the resumed run will train again
  const reached = Math.max(0, ...metricsLines(out).filter((l) => l.type === 'iteration').map((l) => l['iteration'] as number));
  return { plan, replayed: kept ? Math.max(0, reached - (kept['iteration'] as number)) : 0 };
}

describe.concurrent(`SIGKILL at random moments, then --resume: bit-identical to an uninterrupted run (seed ${SEED})`, () => {
  for (const s of SCENARIOS) {
    test(`${s.name}: ${s.kills.length} kills (${s.kills.join(', ')})`, async () => {
      void reference(s);
      const rnd = seeded(hash(s.name));
      const out = join(tmp, `${s.name}-kill`);
      const plans: string[] = [];
      let replayed = 0;
      for (const at of s.kills) {
        const k = await killOnce(s, out, at, rnd);
        plans.push(k.plan);
        replayed += k.replayed;
      }
      const r = await runRnode(continueArgs(s, out));
      expect(r.code, `${s.name}: the final resume (${plans.join('; ')}):\n${r.stderr.slice(-2000)}`).toBe(0);
      const duplicates = await expectSameAsReference(s, out, replayed);
      survived.push({ scenario: s.name, kind: s.kind, backend: s.backend, threads: s.threads, kills: plans, replayed, duplicates });
    });
  }

  test('control: without a cadence (the old default, last.json only at the end) a SIGKILL leaves nothing to resume from', async () => {
    const out = join(tmp, 'no-cadence');
    const c = await startRnode(['train', ...TOY, '--iterations', '400', '--backend', 'cpu', '--checkpoint-every', '0', '--checkpoint-minutes', '0', ...OUTPUT, '--out', out]);
    expect(await c.waitFor('stderr', /^train 10\//m)).toBe(true);
    c.kill('SIGKILL');
    expect((await c.exit).signal).toBe('SIGKILL');
    expect(existsSync(join(out, 'last.json'))).toBe(false);
  });

  test('SIGINT (text output): finishes the step, writes last.json, exits 130 with the command that resumes; that command completes the run', async () => {
    const s = byName('toy-cpu');
    void reference(s);
    const out = join(tmp, 'sigint');
    const n = 5 + Math.floor(seeded(hash('sigint'))() * 25);
    const c = await startRnode([...s.args.filter((a) => a !== '--json'), '--out', out]);
    expect(await c.waitFor('stderr', new RegExp(`^train ${n}/`, 'm'))).toBe(true);
    c.kill('SIGINT');
    const e = await c.exit;
    expect(e.code, c.stderr.slice(-1500)).toBe(130);
    expect(c.stderr).toMatch(/SIGINT: stopping after the current step and writing a checkpoint/);
    const m = /^rnode: interrupted by SIGINT at iteration (\d+) of 40, checkpoint (\S+); resume with: (rnode train --resume \S+ .*)$/m.exec(c.stderr);
    expect(m, c.stderr.slice(-1500)).not.toBeNull();
    const at = Number(m![1]);
    expect(at).toBeGreaterThanOrEqual(n);
    expect(at).toBeLessThan(40);
    expect(m![2]).toBe(join(out, 'last.json'));
    expect(lastIteration(out)).toBe(at);
    const events = metricsLines(out);
    expect(events.filter((l) => l.type === 'done').at(-1)).toMatchObject({ reason: 'aborted', iteration: at });
    if (at % 4 !== 0) expect(events.filter((l) => l.type === 'checkpoint').at(-1)).toMatchObject({ iteration: at, trigger: 'aborted' });
    expect(tempFiles(out)).toEqual([]);
    // the printed command, as a user would paste it (our paths need no quoting)
    const r = await runRnode(m![3]!.split(' ').slice(1));
    expect(r.code, r.stderr.slice(-1500)).toBe(0);
    await expectSameAsReference(s, out, 0);
  });

  test('SIGTERM with --json and --threads 2 (tabular): an "interrupted" event, exit 143, workers stopped, resume is bit-identical', async () => {
    const s = byName('tabular-cpu-threads');
    void reference(s);
    const out = join(tmp, 'sigterm');
    const c = await startRnode([...s.args, '--out', out]);
    expect(await c.waitFor('stderr', /^train 7\//m)).toBe(true);
    c.kill('SIGTERM');
    const e = await c.exit;
    expect(e.code, c.stderr.slice(-1500)).toBe(143);
    const event = c.stdout
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l) as Record<string, unknown>)
      .at(-1)!;
    expect(event).toMatchObject({ type: 'interrupted', signal: 'SIGTERM', iterations: 24, checkpoint: join(out, 'last.json'), exit_code: 143 });
    expect(event['iteration']).toBe(lastIteration(out));
    expect(event['resume']).toBe(`rnode train --resume ${join(out, 'last.json')} ${[...s.args.slice(1), '--out', out].join(' ')}`);
    expect(c.stderr).toMatch(/^rnode: interrupted by SIGTERM at iteration \d+ of 24/m);
    const r = await runRnode((event['resume'] as string).split(' ').slice(1));
    expect(r.code, r.stderr.slice(-1500)).toBe(0);
    await expectSameAsReference(s, out, 0);
  });

  test('SIGINT on an image run with --threads 2 (wasm): exit 130 at once after the step, resume is bit-identical', async () => {
    const s = byName('image-wasm-threads');
    void reference(s);
    const out = join(tmp, 'sigint-image');
    const c = await startRnode([...s.args, '--out', out]);
    expect(await c.waitFor('stderr', /^train 3\//m)).toBe(true);
    c.kill('SIGINT');
    const e = await c.exit;
    expect(e.code, c.stderr.slice(-1500)).toBe(130);
    const at = lastIteration(out);
    expect(at).toBeGreaterThanOrEqual(3);
    expect(c.stdout).toContain(`"type":"interrupted","signal":"SIGINT","iteration":${at},"iterations":8`);
    const r = await runRnode(continueArgs(s, out));
    expect(r.code, r.stderr.slice(-1500)).toBe(0);
    await expectSameAsReference(s, out, 0);
  });

  test('a second Ctrl-C exits at once (130), leaving a whole last.json that resumes bit-identically', async () => {
    // An image run on cpu: its steps take long enough (≥ 0.5 s) that the second Ctrl-C, sent as
    // soon as the first is acknowledged, lands while the run is still stopping (a toy step of
    // ~30 ms could finish, checkpoint and exit before it, under load).
    const s = byName('image-cpu-threads');
    void reference(s);
    const out = join(tmp, 'double-sigint');
    const c = await startRnode([...s.args, '--out', out]);
    // Signal only after the first epoch's checkpoint (iteration 4: 20 digits, batch 5) is on disk:
    // the forced exit keeps the last checkpoint written, so before it there is none to keep.
    // (Waiting for "train 3/" raced the first step that writes one; CI lost that race once.)
    expect(await c.waitFor('stdout', /"type":"checkpoint","iteration":4,/)).toBe(true);
    c.kill('SIGINT');
    expect(await c.waitFor('stderr', /SIGINT: stopping after the current step/)).toBe(true);
    c.kill('SIGINT');
    const e = await c.exit;
    expect(e.code, c.stderr.slice(-1500)).toBe(130);
    // the second signal is handled in the step, or while the workers stop; either way at once
    expect(c.stderr).toMatch(/SIGINT: exiting at once \(status 130\); the last checkpoint written is intact/);
    expect(c.stdout).toContain('"type":"interrupted","signal":"SIGINT","forced":true,"exit_code":130');
    expect(readJson(join(out, 'last.json'))['iteration']).toBeGreaterThanOrEqual(4);
    const r = await runRnode(continueArgs(s, out));
    expect(r.code, r.stderr.slice(-1500)).toBe(0);
    await expectSameAsReference(s, out, 40);
  });
});

afterAll(() => {
  const kills = survived.reduce((n, s) => n + s.kills.length, 0);
  console.log(`[faults] seed ${SEED}: ${kills} SIGKILLs survived in ${survived.length} scenarios`);
  for (const s of survived) console.log(`[faults] ${s.scenario} (${s.kind}, ${s.backend}, threads ${s.threads}): ${s.kills.join('; ')}; ${s.replayed} iterations replayed, ${s.duplicates} duplicate metrics lines`);
});
