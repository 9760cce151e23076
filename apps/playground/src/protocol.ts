// Messages between the page and a training worker (one worker per side).
import type { BackendChoice, PresetName, Settings } from './settings';

/** [xmin, xmax, ymin, ymax] of the plots. */
export type Box = [number, number, number, number];

export type ToWorker =
  | {
      type: 'start';
      side: PresetName;
      backend: BackendChoice;
      settings: Settings;
      /** Training points for drawn/CSV data (row-major n×2); null for a toy set. */
      points: Float32Array | null;
      box: Box;
      /** Start running at once (else wait for 'resume'). */
      run: boolean;
    }
  | { type: 'load'; backend: BackendChoice; checkpoint: unknown; name: string; box: Box; grid: number }
  | { type: 'pause' }
  | { type: 'resume' }
  | { type: 'viz' }
  | { type: 'save' };

export interface Visuals {
  box: Box;
  /** log p on a grid×grid lattice over the box, row by row from the top (y = ymax) down. */
  grid: number;
  logp: Float32Array;
  samples: Float32Array;
  /** Positions of the same particles at each time, data (t = 0) → base (t = T). */
  times: number[];
  paths: Float32Array[];
}

export type FromWorker =
  | { type: 'ready'; side: string; backend: string; adapter: string; note: string; ms: number }
  | { type: 'iteration'; iteration: number; loss: number; nll: number; nfeForward: number; nfeBackward: number; seconds: number; itPerSec: number }
  | { type: 'evaluation'; iteration: number; nll: number; nfe: number }
  | { type: 'visuals'; iteration: number; visuals: Visuals }
  | { type: 'state'; running: boolean; iteration: number; done: boolean }
  | { type: 'checkpoint'; json: string; iteration: number }
  | { type: 'loaded'; name: string; preset: string; data: string; iteration: number; testNll: number | null; testNfe: number | null; testSamples: number; hidden: number[] }
  | { type: 'error'; message: string };
