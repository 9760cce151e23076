import * as tf from '@tensorflow/tfjs-core';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync, writeSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { isRnodeError } from '@rnode/core';
import { afterAll, expect, test } from 'vitest';
import { createTrainer } from '../trainer.js';
import type { Checkpoint } from '../checkpoint.js';
import type { TrainerEvent } from '../events.js';
import { smallFlow } from '../internal/test-flow.js';
import { createMetricsWriter, readCheckpoint, trainWithFiles as train, truncateMetricsAfter, writeCheckpoint } from './index.js';

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
  const halfWrite = (fd: number, data: Uint8Array, off: number, len: number): number => {
    writeSync(fd, data, off, len >> 1);
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
  const { checksum, ...written } = JSON.parse(readFileSync(path, 'utf8')) as Checkpoint;
  expect(written).toEqual(JSON.parse(JSON.stringify(ckB)));
  expect(checksum).toMatch(/^sha256:[0-9a-f]{64}$/);
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

const errorOf = (f: () => unknown): Error & { code?: string } => {
  try {
    f();
  } catch (e) {
    return e as Error & { code?: string };
  }
  throw new Error('expected an error');
};

test('disk full (fs shim: short writes, then ENOSPC): the previous checkpoint stays byte-identical, the error names the file', async () => {
  const sub = join(dir, 'full');
  const path = join(sub, 'last.json');
  const tr = makeTrainer();
  await steps(tr, 1);
  writeCheckpoint(path, await tr.checkpoint());
  const before = readFileSync(path);
  await steps(tr, 1);
  const next = await tr.checkpoint();
  tr.dispose();
  let room = 900;
  const shortThenFull = (fd: number, b: Uint8Array, off: number, len: number): number => {
    if (room <= 0) throw Object.assign(new Error('ENOSPC: no space left on device, write'), { code: 'ENOSPC' });
    const n = Math.min(len, 300, room);
    room -= n;
    return writeSync(fd, b, off, n);
  };
  const err = errorOf(() => writeCheckpoint(path, next, { fs: { writeSync: shortThenFull } }));
  expect(isRnodeError(err, 'IO_ERROR')).toBe(true);
  expect(err.message).toContain(`could not write checkpoint ${path}: no space left on device (ENOSPC)`);
  expect(readFileSync(path).equals(before)).toBe(true);
  expect(readdirSync(sub)).toEqual(['last.json']);
  // A disk that silently takes short writes (returns fewer bytes, no error) does not truncate either.
  const shortOnly = (fd: number, b: Uint8Array, off: number, len: number): number => writeSync(fd, b, off, Math.min(len, 4096));
  writeCheckpoint(path, next, { fs: { writeSync: shortOnly } });
  expect(readCheckpoint(path).iteration).toBe(2);
});

test('checksum: one flipped base64 character is a clear error naming the file; a checkpoint without one loads with a warning', async () => {
  const tr = makeTrainer();
  await steps(tr, 1);
  const ck = await tr.checkpoint();
  tr.dispose();
  const path = join(dir, 'flip.json');
  writeCheckpoint(path, ck);
  const text = readFileSync(path, 'utf8');
  const w = Object.values(ck.model.weights)[0]!.data;
  const at = text.indexOf(w) + 5;
  const flipped = text.slice(0, at) + (text[at] === 'A' ? 'B' : 'A') + text.slice(at + 1);
  expect(flipped.length).toBe(text.length);
  writeFileSync(path, flipped);
  const err = errorOf(() => readCheckpoint(path));
  expect(isRnodeError(err, 'INVALID_CHECKPOINT')).toBe(true);
  expect(err.message).toContain(`${path} is corrupt: its contents do not match its checksum`);
  // Older checkpoints (no checksum): loaded, with a warning naming the file.
  const { checksum: _c, ...old } = JSON.parse(text) as Checkpoint;
  writeFileSync(path, JSON.stringify(old));
  const warnings: string[] = [];
  expect(readCheckpoint(path, { warn: (m) => warnings.push(m) }).iteration).toBe(1);
  expect(warnings).toEqual([`${path} has no checksum (written by an older rnode): loading it unverified`]);
});

test('non-finite optimizer state or weights: refused on write (nothing written) and on read', async () => {
  const tr = makeTrainer();
  await steps(tr, 1);
  const ck = await tr.checkpoint();
  tr.dispose();
  const p0 = ck.optimizer.params[0]!;
  const nanM = new Float32Array(Math.max(1, p0.m.shape.reduce((a: number, b: number) => a * b, 1))).fill(0);
  nanM[0] = NaN;
  const b64 = Buffer.from(nanM.buffer).toString('base64');
  const bad: Checkpoint = { ...ck, optimizer: { ...ck.optimizer, params: [{ ...p0, m: { ...p0.m, data: b64 } }, ...ck.optimizer.params.slice(1)] } };
  const path = join(dir, 'nan', 'last.json');
  const err = errorOf(() => writeCheckpoint(path, bad));
  expect(isRnodeError(err, 'NON_FINITE')).toBe(true);
  expect(err.message).toMatch(/refusing to write checkpoint .*last\.json at iteration 1: optimizer state ".*"\.m holds a non-finite value \(NaN at index 0\)/);
  expect(existsSync(join(dir, 'nan'))).toBe(false);
  // Read: a file holding NaN optimizer state (as an older version could write it) is refused too.
  const file = join(dir, 'nan-read.json');
  writeFileSync(file, JSON.stringify(bad));
  const err2 = errorOf(() => readCheckpoint(file, { warn: () => undefined }));
  expect(isRnodeError(err2, 'NON_FINITE')).toBe(true);
  expect(err2.message).toContain(file);
});

test('resume drops metrics lines past the checkpoint: one line per iteration after a crash + resume', async () => {
  const sub = join(dir, 'crash-resume');
  const metricsFile = join(sub, 'metrics.jsonl');
  const base = {
    model: { dim: 2, hidden: [4], layer: 'concatsquash' as const, activation: 'tanh' as const },
    data: '8gaussians' as const,
    batchSize: 16,
    checkpointDir: sub,
    metricsFile,
    seed: 1,
  };
  const r1 = await train({ ...base, iterations: 3 });
  r1.trainer.dispose();
  // The "crash": iterations 4 and 5 were logged, their checkpoint never written, and a torn line.
  const lines = readFileSync(metricsFile, 'utf8').trimEnd().split('\n');
  const it3 = lines.find((l) => l.includes('"iteration":3') && l.startsWith('{"type":"iteration"'))!;
  writeFileSync(metricsFile, `${lines.join('\n')}\n${it3.replace('"iteration":3', '"iteration":4')}\n${it3.replace('"iteration":3', '"iteration":5')}\n{"type":"itera`);
  const r2 = await train({ ...base, iterations: 6, resume: join(sub, 'last.json') });
  r2.trainer.dispose();
  const events = readFileSync(metricsFile, 'utf8').trimEnd().split('\n').map((l) => JSON.parse(l) as { type: string; iteration: number });
  expect(events.filter((e) => e.type === 'iteration').map((e) => e.iteration)).toEqual([1, 2, 3, 4, 5, 6]);
  expect(truncateMetricsAfter(metricsFile, 6)).toBe(0);
  expect(truncateMetricsAfter(metricsFile, 2)).toBeGreaterThanOrEqual(4);
});

export type { Checkpoint };
