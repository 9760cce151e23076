// `rnode train` records the settings the trainer runs with: for every built-in preset × a
// fixed-grid and an adaptive solver (and the preset's own), with and without --step-size, the
// step reaches the training solve (NFE per iteration) and run.json / the --json summary hold
// exactly the settings of the trainer (the `config` its checkpoint records).
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, test } from 'vitest';
import { lastJson, rnode } from './testing/run.js';

const tmp = mkdtempSync(join(tmpdir(), 'rnode-cli-settings-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

const TOY = ['--data', 'pinwheel', '--hidden', '8,8', '--batch-size', '16', '--test-samples', '16', '--quiet'];
// The tiny image run of image-run.test.ts (one scale, one block of width 8 on 14×14 digits), no evaluation.
const IMAGE = ['--data', 'mnist', '--subset', '64', '--downsample', '2', '--scales', '1', '--blocks-per-scale', '1', '--width', '8', '--batch-size', '16', '--test-samples', '16', '--eval-every', '0', '--quiet'];

const PRESETS = ['rnode', 'ffjord'] as const;
const SOLVERS = [undefined, 'rk38', 'dopri5'] as const; // the preset's own, a fixed grid, an adaptive one
const STEPS = [undefined, 0.5] as const;
const CASES = PRESETS.flatMap((preset) => SOLVERS.flatMap((solver) => STEPS.map((step) => ({ preset, solver, step }))));

/** The solver the run trains with, and the fixed step it should take (the rnode preset's 0.25 unless given; none when adaptive). */
function expected(c: (typeof CASES)[number]): { solver: string; stepSize: number | undefined } {
  const solver = c.solver ?? (c.preset === 'rnode' ? 'rk38' : 'dopri5');
  if (solver === 'dopri5') return { solver, stepSize: c.step };
  return { solver, stepSize: c.step ?? 0.25 };
}

const readJson = (path: string) => JSON.parse(readFileSync(path, 'utf8')) as Record<string, unknown>;
const iterations = (dir: string) =>
  readFileSync(join(dir, 'metrics.jsonl'), 'utf8')
    .trim()
    .split('\n')
    .map((l) => JSON.parse(l) as Record<string, unknown>)
    .filter((l) => l.type === 'iteration');

function train(kind: 'toy' | 'image', c: (typeof CASES)[number]) {
  const out = join(tmp, `${kind}-${c.preset}-${c.solver ?? 'preset'}-${c.step ?? 'default'}`);
  const args = ['train', ...(kind === 'toy' ? TOY : IMAGE), '--iterations', '1', '--preset', c.preset, '--out', out, '--json'];
  if (c.solver) args.push('--solver', c.solver);
  if (c.step !== undefined) args.push('--step-size', String(c.step));
  const r = rnode(args);
  if (expected(c).solver === 'dopri5' && c.step !== undefined) {
    // An explicit step with an adaptive solver is refused up front by the trainer's settings
    // (exit 2, naming the option and the solver), before the run folder gets its run.json.
    expect(r.code, r.stderr).toBe(2);
    expect(r.stderr).toMatch(/option:stepSize.*"stepSize".*"dopri5" is adaptive/);
    expect(existsSync(join(out, 'run.json'))).toBe(false);
    return null;
  }
  expect(r.code, r.stderr).toBe(0);
  const trainer = readJson(join(out, 'last.json')).config as Record<string, unknown>; // describeTraining of the trainer's options
  return { summary: lastJson(r.stdout), run: readJson(join(out, 'run.json')), trainer, its: iterations(out) };
}

/** The forward NFE of one iteration on [0, 1] with one block: 4 per rk38 step. */
function checkNfe(e: { solver: string; stepSize: number | undefined }, its: Array<Record<string, unknown>>): void {
  expect(its).toHaveLength(1);
  if (e.solver === 'rk38') expect(its[0]!.nfeForward).toBe(4 * Math.ceil(1 / e.stepSize!));
  else expect(its[0]!.nfeForward as number).toBeGreaterThan(0);
}

describe('run.json and the --json summary record what the trainer ran with', () => {
  test.each(CASES)('toy: --preset $preset --solver $solver --step-size $step', (c) => {
    const e = expected(c);
    const r = train('toy', c);
    if (!r) return;
    const { summary, run, trainer, its } = r;
    expect(trainer.solver).toBe(e.solver);
    expect(trainer.stepSize).toBe(e.stepSize);
    checkNfe(e, its);
    expect(run.training).toEqual(trainer);
    expect(summary.training).toEqual(trainer);
  });

  test.each(CASES)('image: --preset $preset --solver $solver --step-size $step', (c) => {
    const e = expected(c);
    const r = train('image', c);
    if (!r) return;
    const { summary, run, trainer, its } = r;
    expect(trainer.solver).toBe(e.solver);
    expect(trainer.stepSize).toBe(e.stepSize);
    expect(trainer.nllUnit).toBe('bits-per-dim');
    checkNfe(e, its);
    const config = run.config as Record<string, unknown>;
    expect(config.training).toEqual(trainer);
    expect(config.stepSize).toBe(trainer.stepSize ?? null); // once 0.25 for `--preset rnode --solver dopri5`
    expect(config.solver).toBe(trainer.solver);
    expect(config.lambdaK).toBe(c.preset === 'rnode' ? 0.01 : 0);
    expect(config.evaluation).toEqual({ ...(trainer.evaluation as object), shift: 0.5 });
    expect(summary.config).toEqual(config);
  });
});
