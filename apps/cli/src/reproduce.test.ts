import { existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, test } from 'vitest';
import { rnode } from './testing/run.js';
import { allRuns, experimentRuns, EXPERIMENTS } from './reproduce/experiments.js';
import { readRuns } from './reproduce/runs.js';
import { buildExperiment } from './reproduce/report.js';
import { writeJobResult } from './sweep/results.js';
import { evalWatch } from './watch.js';

// `rnode reproduce`: the experiments' runs are ordinary train runs shared between experiments,
// every experiment writes its figure, data and report, the report is rebuilt from saved runs
// alone, and the analyses (correlation, ablation, instability) read the numbers they claim to.
const dir = mkdtempSync(join(tmpdir(), 'rnode-reproduce-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('the experiments as runs', () => {
  test('shared runs are one run: Figure 4\'s "both" is Figure 2\'s RNODE run, Figure 3 reads Figure 2\'s FFJORD run', () => {
    const o = { scale: 'small' as const };
    expect(experimentRuns('fig4', o).map((r) => r.id)).toEqual(['mnist-none', 'mnist-ke', 'mnist-jf', 'mnist-rnode']);
    expect(experimentRuns('fig2', o).map((r) => r.id)).toEqual(['mnist-rnode', 'mnist-ffjord']);
    expect(experimentRuns('fig3', o).map((r) => r.id)).toEqual(['toy-ffjord', 'mnist-ffjord']);
    const all = allRuns(EXPERIMENTS, o);
    expect(all.map((r) => r.id).sort()).toEqual(['mnist-ffjord', 'mnist-jf', 'mnist-ke', 'mnist-none', 'mnist-rnode', 'toy-ffjord', 'toy-rnode']);
    // Every run monitors both regularizers; the ablation differs only in its weights.
    for (const r of all) expect(r.config.monitor).toEqual(['kinetic-energy', 'jacobian-frobenius']);
    const byId = Object.fromEntries(all.map((r) => [r.id, r.config]));
    expect(byId['mnist-none']).toMatchObject({ preset: 'rnode', lambdaK: 0, lambdaJ: 0 });
    expect(byId['mnist-ke']).toMatchObject({ preset: 'rnode', lambdaJ: 0 });
    expect(byId['mnist-ke']!.lambdaK).toBeUndefined();
    expect(byId['mnist-ffjord']).toMatchObject({ preset: 'ffjord' });
    // The paper scale adds CIFAR-10 runs only with its files.
    expect(allRuns(['table1'], { scale: 'paper', cifarDir: '/data/cifar' }).map((r) => r.id)).toEqual(['mnist-ffjord', 'cifar10-ffjord', 'mnist-rnode', 'cifar10-rnode']);
  });
});

/** A run folder with iteration lines (and a test line unless it failed). */
function writeRun(out: string, id: string, its: Array<{ nfe: number; jf: number; ke: number }>, o: { failed?: string; perEpoch?: number } = {}): void {
  const runDir = join(out, 'runs', id);
  mkdirSync(runDir, { recursive: true });
  const lines = its.map((x, i) =>
    JSON.stringify({ type: 'iteration', iteration: i + 1, loss: 1, nll: 1, nfeForward: x.nfe, nfeBackward: 0, time: 0.5, kineticEnergy: x.ke, jacobianNorm: x.jf, regularizers: {} }),
  );
  if (!o.failed) lines.push(JSON.stringify({ type: 'test', test_bits_per_dim: 1.5, test_nll: 1.5, iterations: its.length, epochs: its.length / (o.perEpoch ?? its.length) }));
  writeFileSync(join(runDir, 'metrics.jsonl'), `${lines.join('\n')}\n`);
  writeJobResult({ id, config: {}, runDir, status: o.failed ? 'failed' : 'done', summary: o.failed ? null : {}, error: o.failed ?? null, attempts: 1 });
}

describe('the analyses read the numbers they report', () => {
  const options = { scale: 'tiny' as const };

  test('Figure 3: NFE that grows with ‖J‖_F holds (Pearson r near 1); NFE that falls with it does not', async () => {
    for (const [sign, verdict] of [
      [1, 'holds'],
      [-1, 'does not hold'],
    ] as const) {
      const out = join(dir, `fig3-${sign}`);
      const its = Array.from({ length: 30 }, (_, i) => ({ jf: (1 + i) ** 2 * 1e-4, ke: 0.1, nfe: 100 + sign * (2 * i + (i % 3)) }));
      for (const r of experimentRuns('fig3', options)) writeRun(out, r.id, its);
      const runs = readRuns(out, experimentRuns('fig3', options), 'rnode reproduce fig3');
      const rep = await buildExperiment('fig3', { out, runs, options, backend: 'cpu' });
      expect(rep.verdict).toBe(verdict);
      // r of (√jf, nfe): √jf is linear in i, so r is that of a line with a small wobble.
      const r = Number(/Pearson r = (-?[\d.]+)/.exec(rep.measured[0]!)![1]);
      expect(Math.abs(r)).toBeGreaterThan(0.99);
      expect(Math.sign(r)).toBe(sign);
      for (const f of ['fig3/fig3-toy-ffjord.png', 'fig3/fig3-toy-ffjord.svg', 'fig3/fig3.csv', 'fig3/fig3.json', 'fig3/report.md']) expect(existsSync(join(out, f)), f).toBe(true);
      const csv = readFileSync(join(out, 'fig3', 'fig3.csv'), 'utf8').trim().split('\n');
      expect(csv[0]).toBe('run,iteration,nfe,nfe_forward,nfe_backward,jacobian_frobenius');
      expect(csv).toHaveLength(1 + 2 * 29); // iteration 1 (‖J‖ = 0 at the start) is left out, two runs
    }
  });

  test('Figure 4: a diverged unregularized run is reported with its message, per-epoch means come from its iterations', async () => {
    const out = join(dir, 'fig4');
    const grow = Array.from({ length: 9 }, (_, i) => ({ jf: 10 ** i, ke: 1 + i, nfe: 48 }));
    const flat = (jf: number, ke: number) => Array.from({ length: 12 }, () => ({ jf, ke, nfe: 48 }));
    writeRun(out, 'mnist-none', grow, { failed: 'training diverged: the loss was 9.1e+05 at iteration 9, above 1.0e+03', perEpoch: 3 });
    writeRun(out, 'mnist-ke', flat(0.5, 0.2), { perEpoch: 3 });
    writeRun(out, 'mnist-jf', flat(0.1, 0.9), { perEpoch: 3 });
    writeRun(out, 'mnist-rnode', flat(0.1, 0.2), { perEpoch: 3 });
    const runs = readRuns(out, experimentRuns('fig4', options), 'rnode reproduce fig4');
    const rep = await buildExperiment('fig4', { out, runs, options, backend: 'cpu' });
    expect(rep.measured.join('\n')).toContain('Without regularization training stopped: training diverged: the loss was 9.1e+05 at iteration 9');
    expect(rep.verdict).toBe('holds');
    const rows = JSON.parse(readFileSync(join(out, 'fig4', 'fig4.json'), 'utf8')).rows as Array<Record<string, number | string>>;
    // The unregularized run's epochs (3 iterations each, from the other runs' summaries): means of 1, 10, 100 / 1e3…1e5 / 1e6…1e8.
    const none = rows.filter((r) => r['run'] === 'mnist-none');
    expect(none.map((r) => r['epoch'])).toEqual([1, 2, 3]);
    expect(none.map((r) => r['mean_jacobian_frobenius_sq'])).toEqual([37, 37000, 37000000]);
    expect(none.map((r) => r['mean_kinetic_energy'])).toEqual([2, 5, 8]);
    // The same runs without the Jacobian term lowering ‖J‖: no longer "holds".
    writeRun(out, 'mnist-ke', flat(1e9, 0.2), { perEpoch: 3 });
    const rep2 = await buildExperiment('fig4', { out, runs: readRuns(out, experimentRuns('fig4', options), 'x'), options, backend: 'cpu' });
    expect(rep2.verdict).toBe('partly holds');
  });

  test('a run that was never trained: --report-only names its folder and the command that trains it', () => {
    const out = join(dir, 'empty');
    const r = rnode(['reproduce', 'fig2', '--scale', 'tiny', '--out', out, '--report-only']);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain(`2 runs have not been trained: mnist-ffjord, mnist-rnode (no metrics.jsonl in ${join(out, 'runs', '<id>')}); train them with: rnode reproduce fig2 --scale tiny --out ${out}`);
  });
});

describe('rnode reproduce all --scale tiny', () => {
  const out = join(dir, 'all');
  const attempts = () => Object.fromEntries(readdirSync(join(out, 'runs')).map((id) => [id, readFileSync(join(out, 'runs', id, 'attempts.jsonl'), 'utf8').trim().split('\n').length]));

  test('trains the 7 runs once and writes every experiment\'s figure, data and report', () => {
    const r = rnode(['reproduce', 'all', '--scale', 'tiny', '--out', out, '--parallel', '2', '--json', '--quiet']);
    expect(r.code, r.stderr).toBe(0);
    const lines = r.stdout.trim().split('\n').map((l) => JSON.parse(l) as Record<string, unknown>);
    expect(lines.filter((l) => l['type'] === 'experiment').map((l) => l['experiment'])).toEqual([...EXPERIMENTS]);
    expect(readdirSync(join(out, 'runs')).sort()).toEqual(['mnist-ffjord', 'mnist-jf', 'mnist-ke', 'mnist-none', 'mnist-rnode', 'toy-ffjord', 'toy-rnode']);
    for (const e of EXPERIMENTS) {
      const files = readdirSync(join(out, e));
      expect(files, e).toContain('report.md');
      expect(files, e).toContain(`${e}.csv`);
      expect(files, e).toContain(`${e}.json`);
      if (e !== 'table1') {
        expect(files.filter((f) => f.endsWith('.png')).length, e).toBeGreaterThan(0);
        expect(files.filter((f) => f.endsWith('.png')).length, e).toBe(files.filter((f) => f.endsWith('.svg')).length);
      }
    }
    expect(readFileSync(join(out, 'fig1', 'trajectories.svg'), 'utf8')).toMatch(/^<svg/);
    const report = readFileSync(join(out, 'report.md'), 'utf8');
    for (const t of ['Figure 1', 'Figure 2', 'Figure 3', 'Figure 4', 'Figure 5', 'Table 1']) expect(report).toContain(`## ${t} —`);
    expect(report).toContain('rnode train --config runs/mnist-none/job.json --out runs/mnist-none');
    expect(report).toContain('| MNIST | RNODE (KE + JF) |');
    // The monitored values reached the report: the ablation runs' ‖J‖ and KE are numbers.
    const fig4 = JSON.parse(readFileSync(join(out, 'fig4', 'fig4.json'), 'utf8')).rows as Array<Record<string, unknown>>;
    expect(fig4.length).toBe(4 * 3);
    for (const row of fig4) expect(row['mean_kinetic_energy']).toBeGreaterThan(0);
    expect(Object.values(attempts())).toEqual([1, 1, 1, 1, 1, 1, 1]);
  });

  test('a figure\'s evaluation has its own time budget, however long the runs before it took', async () => {
    // The process's evaluation clock started 700 s ago (the runs of a long reproduction): Figure 1's solves must not count it.
    evalWatch.begin('the runs');
    (evalWatch as unknown as { started: number }).started -= 700_000;
    const options = { scale: 'tiny' as const };
    const rep = await buildExperiment('fig1', { out, runs: readRuns(out, experimentRuns('fig1', options), 'x'), options, backend: 'cpu' });
    expect(rep.files).toContain(join('fig1', 'trajectories.png'));
  });

  test('again: nothing is trained; --report-only rebuilds the same data from the saved runs', () => {
    const before = readFileSync(join(out, 'fig4', 'fig4.csv'), 'utf8');
    const again = rnode(['reproduce', 'all', '--scale', 'tiny', '--out', out, '--quiet']);
    expect(again.code, again.stderr).toBe(0);
    expect(Object.values(attempts())).toEqual([1, 1, 1, 1, 1, 1, 1]);
    rmSync(join(out, 'fig4'), { recursive: true });
    rmSync(join(out, 'report.md'));
    const r = rnode(['reproduce', 'fig4', '--scale', 'tiny', '--out', out, '--report-only']);
    expect(r.code, r.stderr).toBe(0);
    expect(readFileSync(join(out, 'fig4', 'fig4.csv'), 'utf8')).toBe(before);
    expect(r.stdout).toMatch(/^fig4 /);
    expect(existsSync(join(out, 'report.md'))).toBe(true);
  });
});

test('rnode train --monitor: an unknown regularizer is a usage error naming the flag', () => {
  const r = rnode(['train', '--data', 'pinwheel', '--iterations', '2', '--monitor', 'jacobian-frobenius,kinetik', '--out', join(dir, 'm')]);
  expect(r.code).toBe(2);
  expect(r.stderr).toContain('unknown regularizer "kinetik" (--monitor)');
});
