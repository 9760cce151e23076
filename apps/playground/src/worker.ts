// One side's training (RNODE or FFJORD) in a Web Worker: the page never freezes. Uses only
// the public entries of the rnode packages, as an outside user would.
import * as tf from '@tensorflow/tfjs-core';
import { Random } from '@rnode/core';
import { sampleToy, type ToyName } from '@rnode/data';
import { createFlow, loadModel, standardNormalLogProb, type Flow, type ModelFile } from '@rnode/models';
import { createTrainer, validateCheckpoint, type Checkpoint, type Trainer } from '@rnode/train';
import { selectBackend } from './backend';
import type { Box, FromWorker, ToWorker, Visuals } from './protocol';
import { modelConfig, trainerOptions, type PresetName, type Settings } from './settings';
import { checkpointIdentity, testPoints, TEST_SAMPLES, trainingSampler } from './data';

const post = (m: FromWorker, transfer: Transferable[] = []) => (self as unknown as Worker).postMessage(m, transfer);
const t0 = performance.now();

let trainer: Trainer | null = null;
let flow: Flow | null = null;
let settings: Settings | null = null;
let side: PresetName = 'rnode';
let box: Box = [-4, 4, -4, 4];
let test: Float32Array | null = null;
let running = false;
let vizPending = false;
let trainPoints: Float32Array | null = null;
let savePending = false;

const VIZ_GRID = 48;
const VIZ_SAMPLES = 600;
const VIZ_PARTICLES = 120;
const VIZ_TIMES = 17;
// Display solves: looser than the test solve (1e-5), they only draw.
const VIZ_SOLVE = { method: 'dopri5', rtol: 1e-4, atol: 1e-4 } as const;

function fail(e: unknown): void {
  const err = e as { code?: string; message?: string };
  post({ type: 'error', message: `${err.code ? `${err.code}: ` : ''}${err.message ?? String(e)}` });
}

async function endTime(f: Flow): Promise<number> {
  let T = 0;
  for (const b of f.blocks) T += b.sqrtT ? (await b.sqrtT.data())[0]! ** 2 : b.config.T;
  return T;
}

/** Density on a grid, samples, and trajectories of data points over t: what the page draws. */
async function visuals(f: Flow, data: Float32Array, seed: number): Promise<Visuals> {
  const [x0, x1, y0, y1] = box;
  const g = VIZ_GRID;
  const pts = new Float32Array(g * g * 2);
  for (let r = 0; r < g; r++) {
    for (let c = 0; c < g; c++) {
      pts[(r * g + c) * 2] = x0 + ((c + 0.5) / g) * (x1 - x0);
      pts[(r * g + c) * 2 + 1] = y1 - ((r + 0.5) / g) * (y1 - y0);
    }
  }
  const xg = tf.tensor2d(pts, [g * g, 2]);
  const lp = await f.logProbAsync(xg, VIZ_SOLVE);
  const logp = (await lp.data()) as Float32Array;
  tf.dispose([xg, lp]);
  const s = await f.sampleAsync(VIZ_SAMPLES, new Random(`${seed}:sample`), VIZ_SOLVE);
  const samples = (await s.data()) as Float32Array;
  s.dispose();
  const n = Math.min(VIZ_PARTICLES, data.length / 2);
  const T = await endTime(f);
  const times = Array.from({ length: VIZ_TIMES }, (_, i) => (T * i) / (VIZ_TIMES - 1));
  const xp = tf.tensor2d(data.subarray(0, n * 2), [n, 2]);
  // Fixed grid: no device reads inside the solve (fine on WebGPU).
  const zs = f.trajectories(xp, times, { method: 'rk4', stepSize: T / 32 });
  const paths = await Promise.all(zs.map(async (z) => (await z.data()) as Float32Array));
  tf.dispose([xp, ...zs]);
  return { box, grid: g, logp, samples, times, paths };
}

async function postVisuals(): Promise<void> {
  if (!flow || !settings) return;
  const data = trainPoints ?? test!;
  const v = await visuals(flow, data, settings.seed);
  post({ type: 'visuals', iteration: trainer?.iteration ?? 0, visuals: v }, [v.logp.buffer, v.samples.buffer, ...v.paths.map((p) => p.buffer)]);
}

async function trainLoop(): Promise<void> {
  const s = settings!;
  const t = trainer!;
  let window: number[] = [];
  while (running && t.iteration < s.iterations) {
    const a = performance.now();
    const e = await t.step();
    const now = performance.now();
    window.push(now - a);
    if (window.length > 20) window = window.slice(-20);
    const itPerSec = 1000 / (window.reduce((x, y) => x + y, 0) / window.length);
    post({ type: 'iteration', iteration: e.iteration, loss: e.loss, nll: e.nll, nfeForward: e.nfeForward, nfeBackward: e.nfeBackward, seconds: (now - a) / 1000, itPerSec });
    if (s.evalEvery > 0 && (e.iteration % s.evalEvery === 0 || e.iteration === s.iterations)) {
      const ev = await t.evaluate(test!);
      post({ type: 'evaluation', iteration: e.iteration, nll: ev.nll, nfe: ev.nfePerSolve });
    }
    if (vizPending || e.iteration % s.vizEvery === 0 || e.iteration === s.iterations) {
      vizPending = false;
      await postVisuals();
    }
    if (savePending) {
      savePending = false;
      await save();
    }
  }
  const done = t.iteration >= s.iterations;
  running = false;
  post({ type: 'state', running: false, iteration: t.iteration, done });
}

function startLoop(): void {
  if (running || !trainer) return;
  running = true;
  post({ type: 'state', running: true, iteration: trainer.iteration, done: false });
  void trainLoop().catch((e) => {
    running = false;
    fail(e);
  });
}

async function start(m: Extract<ToWorker, { type: 'start' }>): Promise<void> {
  settings = m.settings;
  side = m.side;
  box = m.box;
  const opts = trainerOptions(m.settings, m.side);
  const b = await selectBackend(m.backend);
  trainPoints = m.points;
  test = testPoints(m.settings, m.points);
  flow = createFlow(modelConfig(m.settings), new Random(`${m.settings.seed}:model`));
  trainer = createTrainer({ flow, data: trainingSampler(m.settings, m.points), ...opts });
  post({ type: 'ready', side: m.side, backend: b.name, adapter: b.adapter, note: b.note, ms: performance.now() - t0 });
  if (m.run) startLoop();
  else await postVisuals();
}

/** The test NLL of a loaded checkpoint, computed as `rnode eval` does (same test points, solver and estimator). */
async function testNll(f: Flow, data: Float32Array, seed: number): Promise<{ nll: number; nfe: number }> {
  const rows = data.length / 2;
  const x = tf.tensor2d(data, [rows, 2]);
  const out = await f.forwardAsync(x, { method: 'dopri5', rtol: 1e-5, atol: 1e-5, estimator: 'exact', noiseRng: new Random(`${seed}:eval-noise`) });
  const s = tf.tidy(() => tf.sum(tf.sub(out.deltaLogp, standardNormalLogProb(out.z))));
  const sum = (await s.data())[0]!;
  const nfe = out.stats.nfe;
  tf.dispose([x, s]);
  out.dispose();
  return { nll: sum / rows, nfe };
}

async function load(m: Extract<ToWorker, { type: 'load' }>): Promise<void> {
  const ck: Checkpoint = validateCheckpoint(m.checkpoint, m.name);
  box = m.box;
  await selectBackend(m.backend).then((b) => post({ type: 'ready', side: 'loaded', backend: b.name, adapter: b.adapter, note: b.note, ms: performance.now() - t0 }));
  flow = loadModel(ck.model as unknown as ModelFile);
  const run = ck.run;
  const src = run?.source as { kind?: string; name?: string } | undefined;
  const seed = run?.seed ?? 0;
  const n = (run?.testSamples as number | null | undefined) ?? TEST_SAMPLES;
  let nll: { nll: number; nfe: number } | null = null;
  let data: Float32Array;
  if (src?.kind === 'toy' && src.name && flow.dim === 2) {
    data = sampleToy(src.name as ToyName, n, new Random(`${seed}:test`));
    nll = await testNll(flow, data, seed);
  } else {
    data = (await (await flow.sampleAsync(VIZ_PARTICLES, new Random(1), VIZ_SOLVE)).data()) as Float32Array;
  }
  const hidden = (ck.model.config as { blocks?: Array<{ net?: { hidden?: number[] } }> }).blocks?.[0]?.net?.hidden ?? [];
  post({ type: 'loaded', name: m.name, preset: run?.preset ?? String(ck.config.presetName ?? '?'), data: src?.name ?? run?.data ?? 'unknown', iteration: ck.iteration, testNll: nll?.nll ?? null, testNfe: nll?.nfe ?? null, testSamples: nll ? n : 0, hidden });
  settings = { seed } as Settings;
  trainPoints = data;
  await postVisuals();
}

async function save(): Promise<void> {
  if (!trainer || !settings) return;
  const ck = await trainer.checkpoint();
  const run = await checkpointIdentity(settings, side);
  if (run) ck.run = run;
  post({ type: 'checkpoint', json: JSON.stringify(ck), iteration: ck.iteration });
}

self.onmessage = (e: MessageEvent<ToWorker>) => {
  const m = e.data;
  const job = (async () => {
    switch (m.type) {
      case 'start': return start(m);
      case 'load': return load(m);
      case 'pause': running = false; return;
      case 'resume': return startLoop();
      case 'viz':
        if (running) vizPending = true;
        else await postVisuals();
        return;
      case 'save':
        // Between two iterations: a checkpoint read during a step would mix two states.
        if (running) savePending = true;
        else await save();
        return;
    }
  })();
  job.catch(fail);
};
