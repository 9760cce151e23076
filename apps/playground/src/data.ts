// The data a side trains on: a toy set of @rnode/data by name, or the user's points (drawn
// on the canvas or from a CSV), resampled with a little Gaussian jitter.
import { Random } from '@rnode/core';
import { parseCsv, sampleToy, type ToyName } from '@rnode/data';
import type { RunIdentity } from '@rnode/train';
import type { PresetName, Settings } from './settings';

/** Test points of a loaded checkpoint's run when its run says none: `rnode eval`'s default. */
export const TEST_SAMPLES = 2000;
/** Points of the live test-NLL curve (fewer than `rnode eval`'s, to keep the page fast). */
export const EVAL_POINTS = 500;
/** Standard deviation of the jitter around the user's points. */
export const JITTER = 0.08;

export type Sampler = (n: number, rng: Random) => Float32Array;

export function pointsSampler(points: Float32Array): Sampler {
  const rows = points.length / 2;
  return (n, rng) => {
    const out = new Float32Array(n * 2);
    for (let i = 0; i < n; i++) {
      const r = rng.nextInt(rows);
      out[2 * i] = points[2 * r]! + JITTER * rng.nextNormal();
      out[2 * i + 1] = points[2 * r + 1]! + JITTER * rng.nextNormal();
    }
    return out;
  };
}

/** What `createTrainer` gets as `data`: the toy set's name (as the CLI and Node code pass it) or a sampler. */
export function trainingSampler(s: Settings, points: Float32Array | null): ToyName | Sampler {
  return points ? pointsSampler(points) : (s.data as ToyName);
}

/** The live curve's test points: fixed for a run (seeded as `rnode train`'s test split). */
export function testPoints(s: Settings, points: Float32Array | null): Float32Array {
  const rng = new Random(`${s.seed}:test`);
  return points ? pointsSampler(points)(EVAL_POINTS, rng) : sampleToy(s.data as ToyName, EVAL_POINTS, rng);
}

/** A CSV of 2-D points (header optional; the first two columns). */
export function parsePointsCsv(text: string, name: string): Float32Array {
  const firstLine = text.split(/\r?\n/, 1)[0] ?? '';
  const header = /[a-df-z]/i.test(firstLine.replace(/e[+-]?\d/gi, ''));
  const m = parseCsv(text, { source: name, header });
  if (m.cols < 2) throw new Error(`${name}: needs at least 2 columns, has ${m.cols}`);
  const out = new Float32Array(m.rows * 2);
  for (let i = 0; i < m.rows; i++) {
    out[2 * i] = m.data[i * m.cols]!;
    out[2 * i + 1] = m.data[i * m.cols + 1]!;
  }
  return out;
}

async function sha256(text: string): Promise<string> {
  const subtle = globalThis.crypto?.subtle;
  if (!subtle) return '';
  const d = new Uint8Array(await subtle.digest('SHA-256', new TextEncoder().encode(text)));
  return Array.from(d, (b) => b.toString(16).padStart(2, '0')).join('');
}

/**
 * The run identity the CLI stamps into its checkpoints, so that `rnode eval`/`sample`/`plot`
 * know the data and seed. Toy data: a `{ kind: 'toy', name }` source, as `rnode train` writes.
 * The user's own points have no source the CLI can read: give `rnode eval` a `--data`.
 */
export async function checkpointIdentity(s: Settings, side: PresetName): Promise<RunIdentity> {
  const configHash = await sha256(JSON.stringify({ settings: s, side }));
  const toy = s.data !== 'drawn' && s.data !== 'csv';
  return {
    data: toy ? s.data : `playground:${s.data}`,
    preset: side,
    seed: s.seed,
    configHash,
    ...(toy ? { source: { kind: 'toy', name: s.data }, testSamples: null, standardize: null, plugins: [] } : {}),
    dim: 2,
  };
}
