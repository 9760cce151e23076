// The playground's settings: defaults (the paper's presets), and their encoding in the URL
// hash so that a link reproduces a run's settings.
import { presets, type TrainingOptions } from '@rnode/train';
import { toyNames } from '@rnode/data';

export type PresetName = 'rnode' | 'ffjord';
export type BackendChoice = 'auto' | 'webgpu' | 'wasm';

/** The knobs of one side (a preset and its overrides). */
export interface SideSettings {
  solver: string;
  /** Fixed-grid solvers. */
  stepSize: number;
  /** Adaptive solvers. */
  rtol: number;
  atol: number;
  lambdaK: number;
  lambdaJ: number;
}

export interface Settings {
  /** A toy set's name, 'drawn' (points drawn on the canvas) or 'csv' (a dropped file). */
  data: string;
  seed: number;
  hidden: number[];
  batchSize: number;
  lr: number;
  iterations: number;
  /** Test NLL every this many iterations (0: never). */
  evalEvery: number;
  /** Redraw density, samples and trajectories every this many iterations. */
  vizEvery: number;
  backend: BackendChoice;
  rnode: SideSettings;
  ffjord: SideSettings;
}

export const SOLVERS = ['rk38', 'rk4', 'midpoint', 'heun', 'euler', 'dopri5', 'bosh3', 'tsit5'] as const;
export const ADAPTIVE = new Set(['dopri5', 'bosh3', 'tsit5']);

function side(name: PresetName): SideSettings {
  const p = presets[name];
  return {
    solver: String(p.solver),
    stepSize: p.stepSize ?? 0.25,
    rtol: p.rtol ?? 1e-5,
    atol: p.atol ?? 1e-5,
    lambdaK: p.regularizers['kinetic-energy'] ?? 0,
    lambdaJ: p.regularizers['jacobian-frobenius'] ?? 0,
  };
}

export function defaultSettings(): Settings {
  return {
    data: 'pinwheel',
    seed: 0,
    hidden: [32, 32],
    batchSize: 256,
    lr: 1e-3,
    iterations: 1000,
    evalEvery: 50,
    vizEvery: 25,
    backend: 'auto',
    rnode: side('rnode'),
    ffjord: side('ffjord'),
  };
}

export const DATA_NAMES: readonly string[] = [...toyNames];

const SIDE_KEYS: Array<[keyof SideSettings, string]> = [
  ['solver', 'solver'], ['stepSize', 'h'], ['rtol', 'rtol'], ['atol', 'atol'], ['lambdaK', 'lk'], ['lambdaJ', 'lj'],
];

/** Settings → `key=value&…` (only what differs from the defaults). */
export function encodeSettings(s: Settings): string {
  const d = defaultSettings();
  const q = new URLSearchParams();
  if (s.data !== d.data) q.set('data', s.data);
  if (s.seed !== d.seed) q.set('seed', String(s.seed));
  if (s.hidden.join('-') !== d.hidden.join('-')) q.set('hidden', s.hidden.join('-'));
  if (s.batchSize !== d.batchSize) q.set('batch', String(s.batchSize));
  if (s.lr !== d.lr) q.set('lr', String(s.lr));
  if (s.iterations !== d.iterations) q.set('it', String(s.iterations));
  if (s.evalEvery !== d.evalEvery) q.set('eval', String(s.evalEvery));
  if (s.vizEvery !== d.vizEvery) q.set('viz', String(s.vizEvery));
  if (s.backend !== d.backend) q.set('backend', s.backend);
  for (const p of ['rnode', 'ffjord'] as const) {
    for (const [k, short] of SIDE_KEYS) if (s[p][k] !== d[p][k]) q.set(`${p[0]}.${short}`, String(s[p][k]));
  }
  return q.toString();
}

const num = (v: string | null, min: number, max: number, integer = false): number | undefined => {
  if (v === null || v.trim() === '') return undefined;
  const x = Number(v);
  if (!Number.isFinite(x) || x < min || x > max || (integer && !Number.isInteger(x))) return undefined;
  return x;
};

/** `key=value&…` → settings; unknown or invalid values keep the defaults. */
export function decodeSettings(text: string): Settings {
  const s = defaultSettings();
  const q = new URLSearchParams(text.replace(/^[#?]/, ''));
  const data = q.get('data');
  if (data && (DATA_NAMES.includes(data) || data === 'drawn' || data === 'csv')) s.data = data;
  s.seed = num(q.get('seed'), 0, 2 ** 31, true) ?? s.seed;
  const hidden = q.get('hidden')?.split('-').map(Number);
  if (hidden && hidden.length >= 1 && hidden.length <= 5 && hidden.every((h) => Number.isInteger(h) && h >= 1 && h <= 512)) s.hidden = hidden;
  s.batchSize = num(q.get('batch'), 1, 4096, true) ?? s.batchSize;
  s.lr = num(q.get('lr'), 1e-6, 1) ?? s.lr;
  s.iterations = num(q.get('it'), 1, 1e6, true) ?? s.iterations;
  s.evalEvery = num(q.get('eval'), 0, 1e6, true) ?? s.evalEvery;
  s.vizEvery = num(q.get('viz'), 1, 1e6, true) ?? s.vizEvery;
  const b = q.get('backend');
  if (b === 'webgpu' || b === 'wasm' || b === 'auto') s.backend = b;
  for (const p of ['rnode', 'ffjord'] as const) {
    const solver = q.get(`${p[0]}.solver`);
    if (solver && (SOLVERS as readonly string[]).includes(solver)) s[p].solver = solver;
    s[p].stepSize = num(q.get(`${p[0]}.h`), 1e-3, 1) ?? s[p].stepSize;
    s[p].rtol = num(q.get(`${p[0]}.rtol`), 1e-9, 1) ?? s[p].rtol;
    s[p].atol = num(q.get(`${p[0]}.atol`), 1e-9, 1) ?? s[p].atol;
    s[p].lambdaK = num(q.get(`${p[0]}.lk`), 0, 100) ?? s[p].lambdaK;
    s[p].lambdaJ = num(q.get(`${p[0]}.lj`), 0, 100) ?? s[p].lambdaJ;
  }
  return s;
}

/** What `createTrainer` gets for one side (also what the browser test computes in Node). */
export function trainerOptions(s: Settings, p: PresetName): TrainingOptions & { solver: string } {
  const o = s[p];
  const adaptive = ADAPTIVE.has(o.solver);
  return {
    preset: p,
    solver: o.solver,
    ...(adaptive ? { rtol: o.rtol, atol: o.atol } : { stepSize: o.stepSize }),
    regularizers: { 'kinetic-energy': o.lambdaK, 'jacobian-frobenius': o.lambdaJ },
    batchSize: s.batchSize,
    lr: s.lr,
    seed: s.seed,
  } as TrainingOptions & { solver: string };
}

/** The model every side builds: the CLI's 2-D flow with these hidden widths. */
export function modelConfig(s: Settings) {
  return { dim: 2, hidden: [...s.hidden] };
}
