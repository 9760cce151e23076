// Checkpoint cadence of `rnode train` (--checkpoint-every, --checkpoint-minutes, config keys),
// and resuming a checkpoint that is already at its target.
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, test } from 'vitest';
import { lastJson, rnode } from './testing/run.js';

const tmp = mkdtempSync(join(tmpdir(), 'rnode-cli-ckpt-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

const TINY = ['--data', 'pinwheel', '--hidden', '8,8', '--batch-size', '16', '--test-samples', '20', '--backend', 'cpu', '--quiet'];
const checkpoints = (dir: string) =>
  readFileSync(join(dir, 'metrics.jsonl'), 'utf8')
    .trim()
    .split('\n')
    .map((l) => JSON.parse(l) as { type: string; iteration: number; kind?: string; trigger?: string })
    .filter((l) => l.type === 'checkpoint')
    .map((l) => [l.iteration, l.trigger]);

describe('rnode train: checkpoint cadence', () => {
  test('--checkpoint-every n writes last.json every n iterations and at the end; the events and the summary record it', () => {
    const out = join(tmp, 'every');
    const r = rnode(['train', ...TINY, '--iterations', '7', '--checkpoint-every', '3', '--out', out, '--json']);
    expect(r.code, r.stderr).toBe(0);
    expect(checkpoints(out)).toEqual([[3, 'iterations'], [6, 'iterations'], [7, 'end']]);
    const events = r.stdout.trim().split('\n').map((l) => JSON.parse(l) as Record<string, unknown>);
    expect(events.filter((e) => e['type'] === 'checkpoint').map((e) => e['iteration'])).toEqual([3, 6, 7]);
    expect(lastJson(r.stdout)).toMatchObject({ checkpoint_every: 3, checkpoint_minutes: 10, iterations: 7, target_iterations: 7 });
  });

  test('--checkpoint-minutes writes last.json on wall-clock time; 0 turns both cadences off (only the end)', () => {
    const out = join(tmp, 'minutes');
    // 1e-5 min = 0.6 ms: every iteration takes longer, so every iteration saves
    const r = rnode(['train', ...TINY, '--iterations', '4', '--checkpoint-minutes', '0.00001', '--out', out, '--json']);
    expect(r.code, r.stderr).toBe(0);
    expect(checkpoints(out)).toEqual([[1, 'minutes'], [2, 'minutes'], [3, 'minutes'], [4, 'minutes']]);
    const off = join(tmp, 'off');
    expect(rnode(['train', ...TINY, '--iterations', '4', '--checkpoint-every', '0', '--checkpoint-minutes', '0', '--out', off]).code).toBe(0);
    expect(checkpoints(off)).toEqual([[4, 'end']]);
  });

  test('config file keys checkpointEvery / checkpoint-minutes; "epoch" on tabular data', () => {
    const rows = ['x,y'];
    for (let i = 0; i < 50; i++) rows.push(`${Math.sin(i)},${Math.cos(i * 1.3)}`);
    const csv = join(tmp, 't.csv');
    writeFileSync(csv, `${rows.join('\n')}\n`);
    const cfg = join(tmp, 'c.json');
    writeFileSync(cfg, JSON.stringify({ data: csv, checkpointEvery: 'epoch', 'checkpoint-minutes': 0, iterations: 7, batchSize: 16, hidden: [8], testSamples: 5 }));
    const out = join(tmp, 'epoch');
    const r = rnode(['train', '--config', cfg, '--backend', 'cpu', '--quiet', '--out', out]);
    expect(r.code, r.stderr).toBe(0);
    expect(checkpoints(out)).toEqual([[3, 'iterations'], [6, 'iterations'], [7, 'end']]); // 40 training rows / 16 = 3 per epoch
  });

  test('bad cadence values are usage errors naming the flag or key; "epoch" needs tabular or image data', () => {
    expect(rnode(['train', ...TINY, '--checkpoint-every', 'often']).stderr).toMatch(/--checkpoint-every.*non-negative integer or "epoch"/);
    expect(rnode(['train', ...TINY, '--checkpoint-minutes', '-1']).code).toBe(2);
    const r = rnode(['train', ...TINY, '--iterations', '2', '--checkpoint-every', 'epoch', '--out', join(tmp, 'toy-epoch')]);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/--checkpoint-every epoch needs tabular or image data/);
    const cfg = join(tmp, 'bad.json');
    writeFileSync(cfg, JSON.stringify({ checkpointMinutes: 'soon' }));
    expect(rnode(['train', '--config', cfg]).stderr).toMatch(/key "checkpointMinutes"/);
  });

  test('--help documents the cadence flags and the signals', () => {
    const h = rnode(['train', '--help']).stdout.replace(/\s+/g, ' ');
    expect(h).toContain('--checkpoint-every <n|epoch>');
    expect(h).toContain('--checkpoint-minutes <m>');
    expect(h).toMatch(/Ctrl-C \(SIGINT\) or SIGTERM finishes the current step, writes last\.json and exits 130 \/ 143/);
  });
});

describe('rnode train --resume of a finished run', () => {
  test('already at or past the target: says so, trains nothing, writes no checkpoint', () => {
    const out = join(tmp, 'done');
    expect(rnode(['train', ...TINY, '--iterations', '3', '--out', out]).code).toBe(0);
    const before = readFileSync(join(out, 'last.json'), 'utf8');
    const r = rnode(['train', ...TINY, '--iterations', '2', '--out', out, '--resume', join(out, 'last.json')]);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toContain(`${join(out, 'last.json')} is already at iteration 3 of 2; nothing to train (raise --iterations to train further)`);
    expect(r.stdout).not.toMatch(/trained .* iterations in/);
    expect(readFileSync(join(out, 'last.json'), 'utf8')).toBe(before);
    const j = rnode(['train', ...TINY, '--iterations', '3', '--out', out, '--resume', join(out, 'last.json'), '--json']);
    expect(lastJson(j.stdout)).toMatchObject({ iterations: 3, iterations_run: 0, target_iterations: 3, nothing_to_train: true });
  });
});
