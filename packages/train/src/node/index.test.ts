import * as tf from '@tensorflow/tfjs-core';
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync, writeSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { isRnodeError } from '@rnode/core';
import { afterAll, expect, test } from 'vitest';
import { createTrainer } from '../trainer.js';
import type { Checkpoint } from '../checkpoint.js';
import type { TrainerEvent } from '../events.js';
import { smallFlow } from '../internal/test-flow.js';
import { createMetricsWriter, readCheckpoint, train, writeCheckpoint } from './index.js';

const dir = mkdtempSync(join(tmpdir(), 'rnode-train-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const makeTrainer = () =>
  createTrainer({ flow: smallFlow(5, [8]), ownsFlow: true, data: '8gaussians', batchSize: 16, lr: 1e-2, warmup: 2, seed: 3 });

async function steps(tr: ReturnType<typeof makeTrainer>, n: number): Promise<number[]> {
  const out: number[] = [];
  for (let i = 0; i < n; i++) out.push((await tr.step()).loss);
  return out;
}

test('resume through writeCheckpoint/readCheckpoint continues exactly as an uninterrupted run', async () => {
  const n0 = tf.memory().numTensors;
  const straight = makeTrainer();
  const all = await steps(straight, 5);
  const first = makeTrainer();
  const head = await steps(first, 2);
  const path = join(dir, 'resume', 'last.json');
  writeCheckpoint(path, await first.checkpoint());
  first.dispose();
  const fresh = makeTrainer();
  fresh.restore(readCheckpoint(path), `file:${path}`);
  const tail = await steps(fresh, 3);
  expect([...head, ...tail]).toEqual(all);
  expect(fresh.flow.params.map((p) => Array.from(p.dataSync()))).toEqual(straight.flow.params.map((p) => Array.from(p.dataSync())));
  straight.dispose();
  fresh.dispose();
  expect(tf.memory().numTensors).toBe(n0);
});

test('readCheckpoint: errors name the file (not JSON, wrong format, wrong version, shape mismatch)', async () => {
  const tr = makeTrainer();
  const good = await tr.checkpoint();
  tr.dispose();
  const cases: Array<[string, string, RegExp]> = [
    ['notjson.json', '{"format": "rnode-checkpoint", ', /not JSON/],
    ['format.json', JSON.stringify({ ...good, format: 'something-else' }), /format/],
    ['version.json', JSON.stringify({ ...good, version: 99 }), /version 99/],
  ];
  const w = Object.entries(good.model.weights)[0]!;
  const badShape = { ...good, model: { ...good.model, weights: { ...good.model.weights, [w[0]]: { ...w[1], shape: [999] } } } };
  cases.push(['shape.json', JSON.stringify(badShape), /values, its shape \[999\]/]);
  for (const [name, text, re] of cases) {
    const p = join(dir, name);
    writeFileSync(p, text);
    let err: unknown;
    try {
      readCheckpoint(p);
    } catch (e) {
      err = e;
    }
    expect(isRnodeError(err, 'INVALID_CHECKPOINT'), name).toBe(true);
    expect((err as Error).message).toContain(p);
    expect((err as Error).message).toMatch(re);
  }
  expect(() => readCheckpoint(join(dir, 'missing.json'))).toThrow(/missing\.json/);
});

test('kill-safety: a write that dies midway leaves the previous checkpoint loadable and no partial file', async () => {
  const sub = join(dir, 'crash');
  const path = join(sub, 'last.json');
  const tr = makeTrainer();
  await steps(tr, 1);
  const ckA = await tr.checkpoint();
  writeCheckpoint(path, ckA);
  await steps(tr, 1);
  const ckB = await tr.checkpoint();
  tr.dispose();

  // 1. The process "dies" after writing half of the temp file.
  const halfWrite = (fd: number, data: string): number => {
    writeSync(fd, data.slice(0, data.length >> 1));
    throw new Error('simulated crash during write');
  };
  expect(() => writeCheckpoint(path, ckB, { fs: { writeSync: halfWrite } })).toThrow(/simulated crash/);
  expect(readCheckpoint(path).iteration).toBe(1);
  expect(readdirSync(sub)).toEqual(['last.json']);

  // 2. Killed before the rename, the half-written temp file left behind (no cleanup ran).
  expect(() =>
    writeCheckpoint(path, ckB, {
      fs: { writeSync: halfWrite, rmSync: () => undefined, closeSync: () => undefined },
    }),
  ).toThrow();
  expect(readdirSync(sub).length).toBe(2); // last.json + the stray temp file
  expect(readCheckpoint(path).iteration).toBe(1);

  // 3. A crash at fsync or at rename: still the old file.
  expect(() => writeCheckpoint(path, ckB, { fs: { renameSync: () => { throw new Error('killed at rename'); } } })).toThrow(/killed at rename/);
  expect(readCheckpoint(path).iteration).toBe(1);

  // 4. The next successful write replaces it whole.
  writeCheckpoint(path, ckB);
  expect(readCheckpoint(path).iteration).toBe(2);
  expect(JSON.parse(readFileSync(path, 'utf8'))).toEqual(JSON.parse(JSON.stringify(ckB)));
});

test('train (Node): checkpoints in a directory, JSONL metrics (one parseable line per event), resume from a path', async () => {
  const sub = join(dir, 'run');
  const metricsFile = join(sub, 'metrics.jsonl');
  const events: TrainerEvent[] = [];
  const base = {
    model: { dim: 2, hidden: [4], layer: 'concatsquash' as const, activation: 'tanh' as const },
    data: '8gaussians' as const,
    batchSize: 16,
    evalEvery: 2,
    evalSamples: 64,
    evaluation: { solver: 'rk38' as const, stepSize: 0.5 },
    checkpointDir: sub,
    metricsFile,
    seed: 1,
  };
  const r1 = await train({ ...base, iterations: 4 }, { onEvent: (e) => events.push(e) });
  r1.trainer.dispose();
  const lines = readFileSync(metricsFile, 'utf8').trimEnd().split('\n');
  expect(lines).toHaveLength(events.length);
  const parsed = lines.map((l) => JSON.parse(l) as TrainerEvent);
  expect(parsed.map((e) => e.type)).toEqual(events.map((e) => e.type));
  expect(parsed.filter((e) => e.type === 'iteration')).toHaveLength(4);
  expect(parsed.filter((e) => e.type === 'evaluation')).toHaveLength(2);
  expect(parsed.at(-1)!.type).toBe('done');
  const it = parsed.find((e) => e.type === 'iteration')!;
  expect(Object.keys(it)).toEqual(expect.arrayContaining(['loss', 'nll', 'kineticEnergy', 'jacobianNorm', 'nfeForward', 'nfeBackward', 'time', 'lr', 'gradNorm']));
  const last = readCheckpoint(join(sub, 'last.json'));
  expect(last.iteration).toBe(4);
  expect(readCheckpoint(join(sub, 'best.json')).iteration).toBeLessThanOrEqual(4);

  const r2 = await train({ ...base, iterations: 6, resume: join(sub, 'last.json') });
  expect(r2.iteration).toBe(6);
  r2.trainer.dispose();
  expect(readCheckpoint(join(sub, 'last.json')).iteration).toBe(6);
});

test('createMetricsWriter writes one JSON line per event, non-finite numbers as strings', () => {
  const p = join(dir, 'm.jsonl');
  const w = createMetricsWriter(p, { truncate: true });
  w.write({ type: 'x', a: 1 });
  w.onEvent({ type: 'checkpoint', iteration: 1, kind: 'last' });
  w.write({ type: 'y', v: NaN });
  w.close();
  const lines = readFileSync(p, 'utf8').trimEnd().split('\n').map((l) => JSON.parse(l) as Record<string, unknown>);
  expect(lines).toEqual([{ type: 'x', a: 1 }, { type: 'checkpoint', iteration: 1, kind: 'last' }, { type: 'y', v: 'NaN' }]);
});

export type { Checkpoint };
