// The page: settings, data, two training workers (RNODE, FFJORD), charts and canvases.
import uPlot from 'uplot';
import 'uplot/dist/uPlot.min.css';
import './style.css';
import { drawDensity, drawPoints, drawTrajectories, fitCanvas } from './draw';
import { parsePointsCsv } from './data';
import type { Box, FromWorker, ToWorker, Visuals } from './protocol';
import { ADAPTIVE, DATA_NAMES, SOLVERS, decodeSettings, encodeSettings, type PresetName, type Settings, type SideSettings } from './settings';

const $ = <T extends HTMLElement = HTMLElement>(id: string) => document.getElementById(id) as T;
const SIDES: PresetName[] = ['rnode', 'ffjord'];
const LABEL: Record<string, string> = { rnode: 'RNODE', ffjord: 'FFJORD', loaded: 'Checkpoint' };
const COLOR: Record<PresetName, string> = { rnode: '#d1242f', ffjord: '#1f6feb' };
const DRAW_BOX: Box = [-4, 4, -4, 4];
const TOY_BOX: Box = [-4.5, 4.5, -4.5, 4.5];

interface SideState {
  worker: Worker | null;
  backend: string;
  adapter: string;
  note: string;
  readyMs: number | null;
  firstIterationMs: number | null;
  iteration: number;
  running: boolean;
  done: boolean;
  losses: number[];
  nfeForward: number[];
  nfeBackward: number[];
  /** Seconds of each training step, measured in the worker. */
  seconds: number[];
  evals: Array<{ iteration: number; nll: number; nfe: number }>;
  itPerSec: number;
  visuals: Visuals | null;
  visualsIteration: number;
  error: string | null;
}

const blank = (): SideState => ({
  worker: null, backend: '', adapter: '', note: '', readyMs: null, firstIterationMs: null, iteration: 0, running: false, done: false,
  losses: [], nfeForward: [], nfeBackward: [], seconds: [], evals: [], itPerSec: 0, visuals: null, visualsIteration: 0, error: null,
});

const hash = new URLSearchParams(location.hash.slice(1));
let settings: Settings = decodeSettings(location.hash);
let points: Float32Array | null = null; // drawn or CSV points
const state = {
  sides: { rnode: blank(), ffjord: blank() } as Record<PresetName, SideState>,
  loaded: null as null | (SideState & { info: Extract<FromWorker, { type: 'loaded' }> | null }),
  lastCheckpoint: null as null | { side: PresetName; json: string },
};
// For tests and the curious: the page's state (read-only use).
(globalThis as unknown as { __playground: unknown }).__playground = {
  state,
  get settings() { return settings; },
  get points() { return points; },
};

// ---------------------------------------------------------------------------
// Settings form.

function sideKnobs(p: PresetName): void {
  const fs = $(`knobs-${p}`);
  const id = (k: string) => `${p}-${k}`;
  fs.insertAdjacentHTML('beforeend', `
    <label>Solver <select id="${id('solver')}">${SOLVERS.map((s) => `<option>${s}</option>`).join('')}</select></label>
    <label class="fixed">Step size <input id="${id('stepSize')}" type="number" step="any" min="0.001" max="1" /></label>
    <label class="adaptive">rtol <input id="${id('rtol')}" type="number" step="any" min="0" /></label>
    <label class="adaptive">atol <input id="${id('atol')}" type="number" step="any" min="0" /></label>
    <label><span>λ<sub>K</sub> (kinetic)</span> <input id="${id('lambdaK')}" type="number" step="any" min="0" /></label>
    <label><span>λ<sub>J</sub> (Jacobian)</span> <input id="${id('lambdaJ')}" type="number" step="any" min="0" /></label>`);
}

const NUM_KEYS = ['batchSize', 'lr', 'iterations', 'seed', 'evalEvery', 'vizEvery'] as const;
const SIDE_NUM_KEYS = ['stepSize', 'rtol', 'atol', 'lambdaK', 'lambdaJ'] as const;

function writeForm(): void {
  $<HTMLSelectElement>('data').value = settings.data;
  $<HTMLInputElement>('hidden').value = settings.hidden.join(', ');
  for (const k of NUM_KEYS) $<HTMLInputElement>(k).value = String(settings[k]);
  $<HTMLSelectElement>('backend').value = settings.backend;
  for (const p of SIDES) {
    $<HTMLSelectElement>(`${p}-solver`).value = settings[p].solver;
    for (const k of SIDE_NUM_KEYS) $<HTMLInputElement>(`${p}-${k}`).value = String(settings[p][k]);
    showSolverKnobs(p);
  }
  $('drawbox').hidden = settings.data !== 'drawn';
}

function showSolverKnobs(p: PresetName): void {
  const adaptive = ADAPTIVE.has($<HTMLSelectElement>(`${p}-solver`).value);
  for (const el of $(`knobs-${p}`).querySelectorAll<HTMLElement>('.fixed')) el.hidden = adaptive;
  for (const el of $(`knobs-${p}`).querySelectorAll<HTMLElement>('.adaptive')) el.hidden = !adaptive;
}

function readForm(): Settings {
  const s = structuredClone(settings);
  s.data = $<HTMLSelectElement>('data').value;
  const hidden = $<HTMLInputElement>('hidden').value.split(/[\s,;x-]+/).filter(Boolean).map(Number);
  if (hidden.length && hidden.every((h) => Number.isInteger(h) && h > 0 && h <= 512)) s.hidden = hidden;
  for (const k of NUM_KEYS) {
    const v = Number($<HTMLInputElement>(k).value);
    if (Number.isFinite(v) && v >= 0) s[k] = v;
  }
  s.backend = $<HTMLSelectElement>('backend').value as Settings['backend'];
  for (const p of SIDES) {
    const o: SideSettings = s[p];
    o.solver = $<HTMLSelectElement>(`${p}-solver`).value;
    for (const k of SIDE_NUM_KEYS) {
      const v = Number($<HTMLInputElement>(`${p}-${k}`).value);
      if (Number.isFinite(v) && v >= 0) o[k] = v;
    }
  }
  // Round-trip through the URL encoding: the same validation as a shared link.
  return decodeSettings(encodeSettings(s));
}

function updateUrl(): void {
  const h = encodeSettings(settings);
  history.replaceState(null, '', h ? `#${h}` : location.pathname + location.search);
}

// ---------------------------------------------------------------------------
// Side panels.

function sidePanel(id: string, label: string): void {
  $(id === 'loaded' ? 'side-loaded' : `side-${id}`).innerHTML = `
    <h2>${label} <span class="badge" id="${id}-backend">…</span></h2>
    <p class="note" id="${id}-note"></p>
    <dl class="stats">
      <div><dt>iteration</dt><dd id="${id}-iteration" data-testid="${id}-iteration">0</dd></div>
      <div><dt>loss</dt><dd id="${id}-loss" data-testid="${id}-loss">–</dd></div>
      <div><dt>test NLL</dt><dd id="${id}-nll" data-testid="${id}-nll">–</dd></div>
      <div><dt>NFE fwd + bwd</dt><dd id="${id}-nfe" data-testid="${id}-nfe">–</dd></div>
      <div><dt>it/s</dt><dd id="${id}-its" data-testid="${id}-its">–</dd></div>
    </dl>
    <div class="plots">
      <figure><canvas id="${id}-density" aria-label="${label}: learned density"></canvas><figcaption>density</figcaption></figure>
      <figure><canvas id="${id}-samples" aria-label="${label}: samples"></canvas><figcaption>samples</figcaption></figure>
      <figure><canvas id="${id}-traj" aria-label="${label}: trajectories from data to base"></canvas><figcaption>trajectories, data → base</figcaption></figure>
    </div>`;
}

const fmt = (x: number | undefined, d = 3) => (x === undefined || !Number.isFinite(x) ? '–' : x.toFixed(d));

function renderSide(id: string, s: SideState): void {
  $(`${id}-backend`).textContent = s.backend ? `${s.backend} · ${s.adapter}` : '…';
  $(`${id}-note`).textContent = s.error ?? s.note;
  $(`${id}-note`).classList.toggle('error', !!s.error);
  $(`${id}-iteration`).textContent = String(s.iteration);
  $(`${id}-loss`).textContent = fmt(s.losses[s.losses.length - 1]);
  const e = s.evals[s.evals.length - 1];
  if (id !== 'loaded') $(`${id}-nll`).textContent = e ? `${e.nll.toFixed(4)} (NFE ${e.nfe.toFixed(0)})` : '–';
  const i = s.nfeForward.length - 1;
  $(`${id}-nfe`).textContent = i >= 0 ? `${s.nfeForward[i]} + ${s.nfeBackward[i]}` : '–';
  $(`${id}-its`).textContent = s.itPerSec ? s.itPerSec.toFixed(2) : '–';
}

function drawVisuals(id: string, v: Visuals): void {
  drawDensity($<HTMLCanvasElement>(`${id}-density`), v);
  drawPoints($<HTMLCanvasElement>(`${id}-samples`), v.box, v.samples);
}

// ---------------------------------------------------------------------------
// Charts (uPlot: small, fast, made for live time series).

type Chart = { plot: uPlot; series: (s: SideState) => Array<[number, number]> };
const charts: Chart[] = [];

function chart(el: string, title: string, series: Chart['series'], points = false): void {
  const width = Math.max(260, $(el).clientWidth || 320);
  const plot = new uPlot(
    {
      title, width, height: 200,
      scales: { x: { time: false } },
      series: [{ label: 'iteration' }, ...SIDES.map((p) => ({ label: LABEL[p]!, stroke: COLOR[p], width: 1.5, spanGaps: true, points: { show: points } }))],
      axes: [{}, { size: 56 }],
      legend: { live: false },
    },
    [[], [], []],
    $(el),
  );
  charts.push({ plot, series });
}

function updateCharts(): void {
  for (const c of charts) {
    const rows = new Map<number, [number | null, number | null]>();
    SIDES.forEach((p, k) => {
      for (const [x, y] of c.series(state.sides[p])) {
        const r = rows.get(x) ?? [null, null];
        r[k] = y;
        rows.set(x, r);
      }
    });
    const xs = [...rows.keys()].sort((a, b) => a - b);
    c.plot.setData([xs, xs.map((x) => rows.get(x)![0]), xs.map((x) => rows.get(x)![1])] as uPlot.AlignedData);
  }
}

function resizeCharts(): void {
  for (const c of charts) c.plot.setSize({ width: Math.max(240, c.plot.root.parentElement!.clientWidth), height: 200 });
}

// ---------------------------------------------------------------------------
// Workers.

let frame = 0;
function schedule(): void {
  if (frame) return;
  frame = requestAnimationFrame(() => {
    frame = 0;
    for (const p of SIDES) renderSide(p, state.sides[p]);
    updateCharts();
    updateButtons();
  });
}

function box(): Box {
  if (!points) return TOY_BOX;
  if (settings.data === 'drawn') return DRAW_BOX;
  let [x0, x1, y0, y1] = [Infinity, -Infinity, Infinity, -Infinity];
  for (let i = 0; i < points.length; i += 2) {
    x0 = Math.min(x0, points[i]!); x1 = Math.max(x1, points[i]!);
    y0 = Math.min(y0, points[i + 1]!); y1 = Math.max(y1, points[i + 1]!);
  }
  const cx = (x0 + x1) / 2, cy = (y0 + y1) / 2;
  const h = (Math.max(x1 - x0, y1 - y0) / 2) * 1.2 + 0.3;
  return [cx - h, cx + h, cy - h, cy + h];
}

function onMessage(id: PresetName | 'loaded', s: SideState, m: FromWorker): void {
  switch (m.type) {
    case 'ready':
      Object.assign(s, { backend: m.backend, adapter: m.adapter, note: m.note, readyMs: performance.now() });
      break;
    case 'iteration':
      if (s.firstIterationMs === null) s.firstIterationMs = performance.now();
      s.iteration = m.iteration;
      s.losses.push(m.loss);
      s.nfeForward.push(m.nfeForward);
      s.nfeBackward.push(m.nfeBackward);
      s.seconds.push(m.seconds);
      s.itPerSec = m.itPerSec;
      break;
    case 'evaluation':
      s.evals.push({ iteration: m.iteration, nll: m.nll, nfe: m.nfe });
      break;
    case 'visuals':
      s.visuals = m.visuals;
      s.visualsIteration = m.iteration;
      drawVisuals(id, m.visuals);
      break;
    case 'state':
      s.running = m.running;
      s.done = m.done;
      s.iteration = m.iteration;
      break;
    case 'checkpoint': {
      state.lastCheckpoint = { side: id as PresetName, json: m.json };
      const a = document.createElement('a');
      a.href = URL.createObjectURL(new Blob([m.json], { type: 'application/json' }));
      a.download = `playground-${settings.data}-${id}-${m.iteration}.json`;
      a.click();
      setTimeout(() => URL.revokeObjectURL(a.href), 10_000);
      status(`Saved the ${LABEL[id]} checkpoint at iteration ${m.iteration}: try rnode eval --checkpoint ${a.download}`);
      break;
    }
    case 'loaded':
      if (state.loaded) state.loaded.info = m;
      $('loaded-nll').textContent = m.testNll === null ? 'no test set (not a toy-data run)' : m.testNll.toFixed(4);
      $('loaded-iteration').textContent = String(m.iteration);
      $('loaded-nfe').textContent = m.testNfe === null ? '–' : String(m.testNfe);
      $('loaded-note').textContent = `${m.name}: ${m.preset} on ${m.data}, hidden [${m.hidden.join(', ')}], ${m.testSamples ? `test NLL on ${m.testSamples} points (as rnode eval)` : ''}`;
      break;
    case 'error':
      s.error = m.message;
      s.running = false;
      status(`${LABEL[id]}: ${m.message}`);
      break;
  }
  if (id === 'loaded') {
    $('loaded-backend').textContent = `${s.backend} · ${s.adapter}`;
  } else schedule();
}

function spawn(): Worker {
  return new Worker(new URL('./worker.ts', import.meta.url), { type: 'module' });
}

function stopAll(): void {
  for (const p of SIDES) {
    state.sides[p].worker?.terminate();
    state.sides[p] = blank();
  }
}

function startRun(run: boolean): void {
  stopAll();
  settings = readForm();
  updateUrl();
  const custom = settings.data === 'drawn' || settings.data === 'csv';
  if (custom && (!points || points.length < 4)) {
    status(settings.data === 'drawn' ? 'Draw some points first (at least 2).' : 'Choose or drop a CSV file first.');
    schedule();
    return;
  }
  const b = box();
  // `#…&only=rnode` trains one side (benchmarks: the other would share the CPU).
  const only = hash.get('only');
  for (const p of SIDES) {
    if (only && only !== p) continue;
    const s = state.sides[p];
    const w = (s.worker = spawn());
    w.onmessage = (e: MessageEvent<FromWorker>) => onMessage(p, s, e.data);
    w.onerror = (e) => onMessage(p, s, { type: 'error', message: e.message || 'worker failed to start' });
    const msg: ToWorker = { type: 'start', side: p, backend: settings.backend, settings, points: custom ? points!.slice() : null, box: b, run };
    w.postMessage(msg);
  }
  status(run ? 'Training…' : 'Ready.');
  schedule();
}

function updateButtons(): void {
  const any = SIDES.some((p) => state.sides[p].running);
  const started = SIDES.some((p) => state.sides[p].worker);
  const allDone = SIDES.filter((p) => state.sides[p].worker).every((p) => state.sides[p].done);
  $<HTMLButtonElement>('pause').disabled = !any;
  $<HTMLButtonElement>('start').textContent = !started || allDone ? 'Start' : any ? 'Running' : 'Resume';
  $<HTMLButtonElement>('start').disabled = any;
  if (started && !any && allDone) status('Done.');
}

function status(text: string): void {
  $('status').textContent = text;
}

// ---------------------------------------------------------------------------
// Trajectory animation: t sweeps 0 → T and back.

function animate(now: number): void {
  const u = 0.5 - 0.5 * Math.cos((now / 4000) * Math.PI);
  for (const p of SIDES) {
    const v = state.sides[p].visuals;
    if (v) drawTrajectories($<HTMLCanvasElement>(`${p}-traj`), v, u);
  }
  if (state.loaded?.visuals) drawTrajectories($<HTMLCanvasElement>('loaded-traj'), state.loaded.visuals, u);
  requestAnimationFrame(animate);
}

// ---------------------------------------------------------------------------
// Drawing pad and CSV.

const drawn: number[] = [];
const cursor = { x: 0, y: 0 };

function redrawPad(): void {
  const c = $<HTMLCanvasElement>('draw');
  drawPoints(c, DRAW_BOX, new Float32Array(drawn), '#6e40c9');
  const ctx = fitCanvas(c);
  const [x, y] = [((cursor.x + 4) / 8) * c.width, ((4 - cursor.y) / 8) * c.height];
  if (document.activeElement === c) {
    ctx.strokeStyle = '#000';
    ctx.strokeRect(x - 6, y - 6, 12, 12);
  }
  $('npoints').textContent = `${drawn.length / 2} points`;
  if (settings.data === 'drawn') points = new Float32Array(drawn);
}

function addPoint(x: number, y: number): void {
  if (Math.abs(x) > 4 || Math.abs(y) > 4) return;
  drawn.push(x, y);
  redrawPad();
}

function setupPad(): void {
  const c = $<HTMLCanvasElement>('draw');
  let down = false;
  let last = 0;
  const at = (e: PointerEvent): [number, number] => {
    const r = c.getBoundingClientRect();
    return [((e.clientX - r.left) / r.width) * 8 - 4, 4 - ((e.clientY - r.top) / r.height) * 8];
  };
  c.addEventListener('pointerdown', (e) => {
    down = true;
    c.setPointerCapture?.(e.pointerId);
    addPoint(...at(e));
  });
  c.addEventListener('pointermove', (e) => {
    if (!down || e.timeStamp - last < 12) return;
    last = e.timeStamp;
    addPoint(...at(e));
  });
  const up = () => (down = false);
  c.addEventListener('pointerup', up);
  c.addEventListener('pointercancel', up);
  c.addEventListener('keydown', (e) => {
    const step = e.shiftKey ? 1 : 0.25;
    const moves: Record<string, [number, number]> = { ArrowLeft: [-step, 0], ArrowRight: [step, 0], ArrowUp: [0, step], ArrowDown: [0, -step] };
    if (moves[e.key]) {
      cursor.x = Math.max(-4, Math.min(4, cursor.x + moves[e.key]![0]));
      cursor.y = Math.max(-4, Math.min(4, cursor.y + moves[e.key]![1]));
      e.preventDefault();
      redrawPad();
    } else if (e.key === ' ' || e.key === 'Enter') {
      e.preventDefault();
      addPoint(cursor.x, cursor.y);
    }
  });
  c.addEventListener('focus', redrawPad);
  c.addEventListener('blur', redrawPad);
  $('clear').addEventListener('click', () => {
    drawn.length = 0;
    redrawPad();
  });
}

async function readCsv(file: File): Promise<void> {
  try {
    points = parsePointsCsv(await file.text(), file.name);
    settings.data = 'csv';
    $<HTMLSelectElement>('data').value = 'csv';
    $('drawbox').hidden = true;
    status(`${file.name}: ${points.length / 2} points. Press Start.`);
  } catch (e) {
    status(`${file.name}: ${(e as Error).message}`);
  }
}

// ---------------------------------------------------------------------------
// Checkpoints.

async function loadCheckpoint(file: File): Promise<void> {
  let json: unknown;
  try {
    json = JSON.parse(await file.text());
  } catch (e) {
    status(`${file.name}: not JSON (${(e as Error).message})`);
    return;
  }
  state.loaded?.worker?.terminate();
  const s = (state.loaded = { ...blank(), info: null });
  const el = $('side-loaded');
  el.hidden = false;
  sidePanel('loaded', `Checkpoint ${file.name}`);
  const w = (s.worker = spawn());
  w.onmessage = (e: MessageEvent<FromWorker>) => onMessage('loaded', s, e.data);
  w.postMessage({ type: 'load', backend: settings.backend, checkpoint: json, name: file.name, box: TOY_BOX, grid: 48 } satisfies ToWorker);
  status(`Loading ${file.name}…`);
}

// ---------------------------------------------------------------------------

function init(): void {
  const sel = $<HTMLSelectElement>('data');
  sel.innerHTML = [...DATA_NAMES.map((n) => `<option value="${n}">${n}</option>`), '<option value="drawn">draw your own</option>', '<option value="csv">CSV file</option>'].join('');
  for (const p of SIDES) {
    sideKnobs(p);
    sidePanel(p, LABEL[p]!);
    $(`${p}-solver`).addEventListener('change', () => showSolverKnobs(p));
  }
  writeForm();
  // A link opens ready to train (`#…&paused` waits for Start): the workers start first, the
  // charts and the pad are built while they load.
  startRun(!hash.has('paused') && settings.data !== 'drawn' && settings.data !== 'csv');
  chart('chart-loss', 'training loss', (s) => s.losses.map((y, i) => [i + 1, y]));
  chart('chart-nll', 'test NLL (nats)', (s) => s.evals.map((e) => [e.iteration, e.nll]), true);
  chart('chart-nfe', 'NFE per iteration (forward + backward)', (s) => s.nfeForward.map((f, i) => [i + 1, f + s.nfeBackward[i]!]));
  setupPad();
  redrawPad();
  sel.addEventListener('change', () => {
    settings.data = sel.value;
    $('drawbox').hidden = sel.value !== 'drawn';
    if (sel.value === 'drawn') redrawPad();
    if (sel.value !== 'drawn' && sel.value !== 'csv') points = null;
  });
  $('start').addEventListener('click', () => {
    const started = SIDES.some((p) => state.sides[p].worker) && !SIDES.filter((p) => state.sides[p].worker).every((p) => state.sides[p].done);
    if (started) for (const p of SIDES) state.sides[p].worker?.postMessage({ type: 'resume' } satisfies ToWorker);
    else startRun(true);
  });
  $('pause').addEventListener('click', () => {
    for (const p of SIDES) state.sides[p].worker?.postMessage({ type: 'pause' } satisfies ToWorker);
    status('Paused.');
  });
  $('reset').addEventListener('click', () => startRun(false));
  $('backend').addEventListener('change', () => startRun(SIDES.some((p) => state.sides[p].running)));
  $('share').addEventListener('click', async () => {
    settings = readForm();
    updateUrl();
    try {
      await navigator.clipboard.writeText(location.href);
      status('Link copied.');
    } catch {
      status(`Link: ${location.href}`);
    }
  });
  for (const p of SIDES) $(`save-${p}`).addEventListener('click', () => state.sides[p].worker?.postMessage({ type: 'save' } satisfies ToWorker));
  $<HTMLInputElement>('csv').addEventListener('change', (e) => {
    const f = (e.target as HTMLInputElement).files?.[0];
    if (f) void readCsv(f);
  });
  $<HTMLInputElement>('load').addEventListener('change', (e) => {
    const f = (e.target as HTMLInputElement).files?.[0];
    if (f) void loadCheckpoint(f);
  });
  document.addEventListener('dragover', (e) => e.preventDefault());
  document.addEventListener('drop', (e) => {
    e.preventDefault();
    const f = e.dataTransfer?.files[0];
    if (!f) return;
    if (f.name.endsWith('.json')) void loadCheckpoint(f);
    else void readCsv(f);
  });
  addEventListener('resize', () => {
    resizeCharts();
    redrawPad();
    for (const p of SIDES) if (state.sides[p].visuals) drawVisuals(p, state.sides[p].visuals!);
  });
  requestAnimationFrame(animate);
}

init();
