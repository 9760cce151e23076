// Each experiment's outputs from its saved runs: the figure (PNG + SVG), its data (CSV + JSON)
// and a Markdown section that states the paper's claim, what the runs measured, and whether the
// direction holds. Reads only run folders (runs.ts): `--report-only` redraws without training.
import { join, relative } from 'node:path';
import { useBackend, type BackendChoice } from '@rnode/core';
import { writeFileAtomic } from '@rnode/core/node';
import { stringify } from 'csv-stringify/sync';
import { sampleCorrelation, sampleRankCorrelation } from 'simple-statistics';
import { plotFigures } from '../figures.js';
import { imageGridPng } from '../image-run.js';
import { sampleImageCheckpoint } from '../checkpoint-read.js';
import { evalSolve } from '../eval-solve.js';
import { evalWatch } from '../watch.js';
import { importOptional } from '../optional.js';
import { curvePlot, FIGURE_PACKAGES, writePng, type CurveSeries, type FigureFormat } from '../plot/index.js';
import { CLAIMS, PAPER_TABLE1, experimentRuns, imageSets, type Experiment, type ExperimentRun, type ReproduceOptions } from './experiments.js';
import { tailMean, testScore, type RunData } from './runs.js';

export type Verdict = 'holds' | 'partly holds' | 'does not hold' | 'not determined';

export interface ExperimentReport {
  experiment: Experiment;
  title: string;
  claim: string;
  /** Markdown lines: what the runs measured. */
  measured: string[];
  verdict: Verdict;
  /** Why the verdict (the rule and the numbers it used). */
  why: string;
  /** Files written, relative to the reproduction's folder. */
  files: string[];
}

interface Ctx {
  /** The experiment's folder, `<out>/<experiment>`. */
  dir: string;
  runs: Map<string, RunData>;
  o: ReproduceOptions;
  backend: string;
  files: string[];
}

/** A number for a report: `digits` decimals, or 3 significant digits below 0.01 (the monitored integrals are small). */
const fmt = (v: number | null | undefined, digits = 4): string => {
  if (v === null || v === undefined || !Number.isFinite(v)) return '–';
  return v !== 0 && Math.abs(v) < 0.01 ? v.toPrecision(3) : v.toFixed(digits);
};
/** Seconds of training as seconds or minutes. */
const duration = (s: number): string => (s < 120 ? `${s.toFixed(1)} s` : `${(s / 60).toFixed(1)} min`);

function writeData(c: Ctx, name: string, rows: Array<Record<string, unknown>>, extra: Record<string, unknown> = {}): void {
  const csv = join(c.dir, `${name}.csv`);
  const json = join(c.dir, `${name}.json`);
  const columns = [...new Set(rows.flatMap((r) => Object.keys(r)))];
  writeFileAtomic(csv, stringify(rows, { header: true, columns, cast: { number: (v) => String(v) } }), { what: 'data file ' });
  writeFileAtomic(json, `${JSON.stringify({ ...extra, rows }, null, 2)}\n`, { what: 'data file ' });
  c.files.push(csv, json);
}

async function writeFigure(c: Ctx, name: string, render: (format: FigureFormat) => Promise<Uint8Array>): Promise<void> {
  for (const format of ['png', 'svg'] as const) {
    const file = join(c.dir, `${name}.${format}`);
    await writePng(file, await render(format));
    c.files.push(file);
  }
}

const run = (c: Ctx, id: string): RunData => c.runs.get(id)!;
const status = (d: RunData): string => (d.failure ? `stopped: ${d.failure}` : d.test ? 'finished' : 'not finished');

/** Figure 1: the existing `rnode plot --compare` trajectories, and the kinetic energy of both toy runs. */
async function fig1(c: Ctx): Promise<Omit<ExperimentReport, 'experiment' | 'title' | 'claim' | 'files'>> {
  const [r, f] = experimentRuns('fig1', c.o).map((x) => run(c, x.id));
  if (r!.test && f!.test) {
    // Each evaluation of a figure has its own time budget (the watch's clock would otherwise run since the runs began).
    evalWatch.begin('Figure 1 (rnode plot)');
    const files = await evalWatch.guard(() => plotFigures({ checkpoint: join(r!.dir, 'last.json'), compare: join(f!.dir, 'last.json'), backend: c.backend, seed: 0, grid: 60, samples: 2000, particles: 200, out: c.dir, svg: true }));
    c.files.push(...files);
  }
  const rows = [r!, f!].map((d) => ({ run: d.run.id, label: d.run.label, test_nll_nats: testScore(d), kinetic_energy_last10pct: tailMean(d, 'kineticEnergy'), jacobian_norm_last10pct: tailMean(d, 'jacobianNorm'), train_seconds: d.trainSeconds, status: status(d) }));
  writeData(c, 'fig1', rows);
  const [ke, kf] = [tailMean(r!, 'kineticEnergy'), tailMean(f!, 'kineticEnergy')];
  const [nr, nf] = [testScore(r!), testScore(f!)];
  const measured = rows.map((x) => `- ${x.label}: test NLL ${fmt(x.test_nll_nats)} nats, kinetic energy ${fmt(x.kinetic_energy_last10pct, 5)} and ‖J‖²_F ${fmt(x.jacobian_norm_last10pct, 5)} (means over the last 10 % of iterations), ${duration(x.train_seconds)} of training`);
  if (ke === null || kf === null || nr === null || nf === null) return { measured, verdict: 'not determined', why: 'a run did not finish' };
  const straighter = ke < kf;
  const equal = Math.abs(nr - nf) <= 0.1;
  return {
    measured,
    verdict: straighter && equal ? 'holds' : straighter || equal ? 'partly holds' : 'does not hold',
    why: `RNODE's kinetic energy is ${straighter ? 'lower' : 'not lower'} (${fmt(ke, 5)} vs ${fmt(kf, 5)}, ${fmt(kf / ke, 2)}×) and the test NLLs ${equal ? 'agree' : 'differ'} within 0.1 nats (${fmt(nr)} vs ${fmt(nf)})`,
  };
}

/** Validation bits/dim of each evaluation against the training seconds before it. */
function curve(d: RunData): { minutes: number[]; bpd: number[]; iterations: number[] } {
  const cum = new Map<number, number>();
  let s = 0;
  for (const l of d.iterations) cum.set(l.iteration, (s += l.time));
  const ev = d.evaluations.filter((e) => cum.has(e.iteration));
  return { minutes: ev.map((e) => cum.get(e.iteration)! / 60), bpd: ev.map((e) => e.nll), iterations: ev.map((e) => e.iteration) };
}

/** Figure 2 and Table 1 share their comparison: RNODE's final bits/dim within 2 % of FFJORD's, in less training time. */
function compare(r: RunData, f: RunData): { ratio: number | null; nfeRatio: number | null; equal: boolean | null; br: number | null; bf: number | null } {
  const [br, bf] = [testScore(r), testScore(f)];
  const nfeRatio = trainNfe(r) > 0 ? trainNfe(f) / trainNfe(r) : null;
  if (br === null || bf === null || r.trainSeconds === 0) return { ratio: null, nfeRatio, equal: null, br, bf };
  return { ratio: f.trainSeconds / r.trainSeconds, nfeRatio, equal: br <= bf * 1.02, br, bf };
}

/** Function evaluations of training (forward + backward, every iteration): the cost that does not depend on the machine's load. */
const trainNfe = (d: RunData): number => d.iterations.reduce((s, l) => s + l.nfeForward + l.nfeBackward, 0);

function comparisonVerdict(cs: Array<ReturnType<typeof compare> & { name: string }>): { verdict: Verdict; why: string } {
  if (cs.some((x) => x.ratio === null)) return { verdict: 'not determined', why: 'a run did not finish' };
  const faster = cs.every((x) => x.ratio! > 1);
  const equal = cs.every((x) => x.equal);
  return {
    verdict: faster && equal ? 'holds' : faster || equal ? 'partly holds' : 'does not hold',
    why: cs
      .map((x) => `${x.name}: RNODE ${fmt(x.br)} vs FFJORD ${fmt(x.bf)} bits/dim (${x.equal ? 'within' : 'not within'} 2 %), FFJORD took ${fmt(x.ratio, 2)}× RNODE's training time and ${fmt(x.nfeRatio, 2)}× its function evaluations`)
      .join('; '),
  };
}

async function fig2(c: Ctx): Promise<Omit<ExperimentReport, 'experiment' | 'title' | 'claim' | 'files'>> {
  const measured: string[] = [];
  const rows: Array<Record<string, unknown>> = [];
  const cs: Array<ReturnType<typeof compare> & { name: string }> = [];
  for (const s of imageSets(c.o)) {
    const [r, f] = [run(c, `${s.prefix}-rnode`), run(c, `${s.prefix}-ffjord`)];
    const series: CurveSeries[] = [];
    for (const d of [r, f]) {
      const k = curve(d);
      series.push({ name: d.run.label, x: k.minutes, y: k.bpd });
      k.minutes.forEach((m, i) => rows.push({ data: s.name, run: d.run.id, iteration: k.iterations[i], train_minutes: m, bits_per_dim: k.bpd[i] }));
      measured.push(`- ${s.name}, ${d.run.label}: ${k.bpd.map((b) => b.toFixed(3)).join(' → ')} bits/dim over ${duration(d.trainSeconds)} of training (${d.iterations.length} iterations, ${trainNfe(d).toLocaleString('en-US')} function evaluations; ${status(d)})`);
    }
    await writeFigure(c, `fig2-${s.prefix}`, (format) =>
      curvePlot({ series, xLabel: 'training time (minutes, evaluations excluded)', yLabel: 'validation bits/dim', title: `${s.name}: bits/dim against training time`, format }),
    );
    cs.push({ ...compare(r, f), name: s.name });
  }
  writeData(c, 'fig2', rows);
  return { measured, ...comparisonVerdict(cs) };
}

async function fig3(c: Ctx): Promise<Omit<ExperimentReport, 'experiment' | 'title' | 'claim' | 'files'>> {
  const measured: string[] = [];
  const rows: Array<Record<string, unknown>> = [];
  const rs: number[] = [];
  let determined = true;
  for (const x of experimentRuns('fig3', c.o)) {
    const d = run(c, x.id);
    // Iteration 1 starts from a zero last layer (‖J‖ = 0): left out, as the paper's figure starts during training.
    const pts = d.iterations.filter((l) => l.iteration > 1 && typeof l.jacobianNorm === 'number' && Number.isFinite(l.jacobianNorm));
    const nfe = pts.map((l) => l.nfeForward + l.nfeBackward);
    const jf = pts.map((l) => Math.sqrt(l.jacobianNorm!));
    pts.forEach((l, i) => rows.push({ run: x.id, iteration: l.iteration, nfe: nfe[i], nfe_forward: l.nfeForward, nfe_backward: l.nfeBackward, jacobian_frobenius: jf[i] }));
    const varies = new Set(nfe).size > 1 && new Set(jf).size > 1;
    const r = pts.length >= 10 && varies ? sampleCorrelation(jf, nfe) : null;
    const rho = pts.length >= 10 && varies ? sampleRankCorrelation(jf, nfe) : null;
    if (r === null) determined = false;
    else rs.push(r);
    measured.push(
      `- ${x.id} (${x.label}): ${pts.length} iterations, NFE per iteration ${Math.min(...nfe)}–${Math.max(...nfe)}, ‖J‖_F ${fmt(Math.min(...jf), 4)}–${fmt(Math.max(...jf), 4)}; Pearson r = ${fmt(r, 3)}, Spearman ρ = ${fmt(rho, 3)}`,
    );
    await writeFigure(c, `fig3-${x.id}`, (format) =>
      curvePlot({ series: [{ name: x.id, x: jf, y: nfe }], mark: 'point', xLabel: '‖J‖_F = √(∫ ‖∂f/∂z‖²_F dt / d), Hutchinson estimate', yLabel: 'function evaluations per iteration (forward + backward)', title: `NFE vs ‖J‖_F, vanilla FFJORD (${x.id}): Pearson r = ${fmt(r, 2)}`, format }),
    );
  }
  writeData(c, 'fig3', rows);
  if (!determined) return { measured, verdict: 'not determined', why: 'too few iterations (< 10) or an NFE that never changed: no correlation to measure at this scale' };
  const strong = rs.every((r) => r >= 0.5);
  return { measured, verdict: strong ? 'holds' : rs.some((r) => r >= 0.5) ? 'partly holds' : 'does not hold', why: `Pearson r ${rs.map((r) => r.toFixed(3)).join(', ')} (the rule: r ≥ 0.5 in every run)` };
}

/** Per-epoch means of a monitored quantity (an epoch's iterations; 2-D runs have no epochs). */
function perEpoch(d: RunData, key: 'kineticEnergy' | 'jacobianNorm', perEpochIts: number): number[] {
  const means: number[] = [];
  for (let e = 0; e * perEpochIts < d.iterations.length; e++) {
    const xs = d.iterations.slice(e * perEpochIts, (e + 1) * perEpochIts).map((l) => l[key]).filter((v): v is number => typeof v === 'number');
    means.push(xs.length ? xs.reduce((a, b) => a + b, 0) / xs.length : NaN);
  }
  return means;
}

async function fig4(c: Ctx): Promise<Omit<ExperimentReport, 'experiment' | 'title' | 'claim' | 'files'>> {
  const ds = experimentRuns('fig4', c.o).map((x) => run(c, x.id));
  const its = ds.find((d) => d.perEpoch)?.perEpoch ?? null;
  // Iterations per epoch: from a finished run's summary, else from the config (train images / batch).
  const cfg = ds[0]!.run.config;
  const per = its ?? Math.max(1, Math.ceil((cfg.subset ?? 9000) / (cfg.batchSize ?? 200)));
  const rows: Array<Record<string, unknown>> = [];
  const jf = new Map<string, number[]>();
  const ke = new Map<string, number[]>();
  for (const d of ds) {
    jf.set(d.run.id, perEpoch(d, 'jacobianNorm', per));
    ke.set(d.run.id, perEpoch(d, 'kineticEnergy', per));
    jf.get(d.run.id)!.forEach((v, e) => rows.push({ run: d.run.id, label: d.run.label, epoch: e + 1, mean_jacobian_frobenius_sq: v, mean_kinetic_energy: ke.get(d.run.id)![e], status: status(d) }));
  }
  const epochs = (m: Map<string, number[]>) => ds.map((d) => ({ name: d.run.label, x: m.get(d.run.id)!.map((_, e) => e + 1), y: m.get(d.run.id)! }));
  await writeFigure(c, 'fig4a-jacobian', (format) => curvePlot({ series: epochs(jf), xLabel: 'epoch', yLabel: 'mean ‖J‖²_F (integrated, per dimension)', title: 'Figure 4a: Jacobian norm during training (RK4, fixed grid)', logY: true, format }));
  await writeFigure(c, 'fig4b-kinetic', (format) => curvePlot({ series: epochs(ke), xLabel: 'epoch', yLabel: 'mean kinetic energy (integrated, per dimension)', title: 'Figure 4b: kinetic energy during training (RK4, fixed grid)', logY: true, format }));
  writeData(c, 'fig4', rows);
  // Compared at the last epoch every run reached (a run stopped by instability ends early).
  const common = Math.min(...ds.map((d) => jf.get(d.run.id)!.length));
  const last = (m: Map<string, number[]>, id: string) => (common > 0 && Number.isFinite(m.get(id)![common - 1]!) ? m.get(id)![common - 1]! : null);
  const measured = ds.map(
    (d) => `- ${d.run.label} (${d.run.id}): ${status(d)}; mean ‖J‖²_F ${fmt(last(jf, d.run.id), 4)} and kinetic energy ${fmt(last(ke, d.run.id), 4)} in epoch ${common} (${d.iterations.length} iterations, ${per} per epoch)`,
  );
  const [none, keOnly, jfOnly, both] = ds.map((d) => d.run.id) as [string, string, string, string];
  const unstable = run(c, none).failure;
  if (unstable) measured.push(`- Without regularization training stopped: ${unstable}`);
  else measured.push(`- Without regularization training stayed stable for the ${jf.get(none)!.length} epochs of this scale (the paper saw it fail after just under 50 MNIST epochs).`);
  const vals = [none, keOnly, jfOnly, both].map((id) => last(jf, id));
  const kes = [none, keOnly, jfOnly, both].map((id) => last(ke, id));
  if (vals.some((v) => v === null) || kes.some((v) => v === null)) return { measured, verdict: 'not determined', why: 'a run has no monitored values' };
  const controlled = [keOnly, jfOnly, both].every((id) => last(jf, id)! < last(jf, none)!);
  const jacobianBetter = last(jf, jfOnly)! < last(jf, keOnly)!;
  const shorter = last(ke, keOnly)! < last(ke, none)! && last(ke, both)! < last(ke, none)!;
  const parts = [controlled, jacobianBetter, shorter].filter(Boolean).length;
  const pct = (id: string) => `${(100 * (1 - last(jf, id)! / last(jf, none)!)).toFixed(1)} %`;
  return {
    measured,
    verdict: parts === 3 ? 'holds' : parts > 0 ? 'partly holds' : 'does not hold',
    why: `in epoch ${common}, each regularizer ${controlled ? 'lowers' : 'does not lower'} ‖J‖²_F below the unregularized run's (${vals.map((v) => fmt(v, 4)).join(', ')} for none, KE, JF, both: ${[keOnly, jfOnly, both].map(pct).join(', ')} lower), the Jacobian term alone ${jacobianBetter ? 'lowers it more' : 'does not lower it more'} than the kinetic-energy term alone, and the kinetic-energy term ${shorter ? 'lowers' : 'does not lower'} the kinetic energy (${kes.map((v) => fmt(v, 4)).join(', ')}); instability ${unstable ? 'seen' : 'not seen at this scale'}`,
  };
}

async function table1(c: Ctx): Promise<Omit<ExperimentReport, 'experiment' | 'title' | 'claim' | 'files'>> {
  const rows: Array<Record<string, unknown>> = [];
  const cs: Array<ReturnType<typeof compare> & { name: string }> = [];
  const measured = ['| data | method | bits/dim (this run) | training time (this run) | training NFE (this run) | bits/dim (paper) | hours (paper) |', '|---|---|---|---|---|---|---|'];
  for (const s of imageSets(c.o)) {
    const [r, f] = [run(c, `${s.prefix}-rnode`), run(c, `${s.prefix}-ffjord`)];
    for (const [d, key] of [[r, 'rnode'], [f, 'ffjord']] as const) {
      const paper = PAPER_TABLE1[s.name as keyof typeof PAPER_TABLE1][key];
      const epochs = typeof d.test?.['epochs'] === 'number' ? (d.test['epochs'] as number) : null;
      rows.push({ data: s.name, method: key, bits_per_dim: testScore(d), train_seconds: d.trainSeconds, train_nfe: trainNfe(d), epochs, paper_bits_per_dim: paper.bitsPerDim, paper_hours: paper.hours });
      measured.push(`| ${s.name} | ${d.run.label} | ${fmt(testScore(d))} | ${duration(d.trainSeconds)} (${epochs ?? '–'} epochs) | ${trainNfe(d).toLocaleString('en-US')} | ${paper.bitsPerDim} | ${paper.hours} |`);
    }
    const cmp = compare(r, f);
    cs.push({ ...cmp, name: s.name });
    const p = PAPER_TABLE1[s.name as keyof typeof PAPER_TABLE1];
    measured.push(`| ${s.name} | ratio FFJORD / RNODE | | ${fmt(cmp.ratio, 2)}× | ${fmt(cmp.nfeRatio, 2)}× | | ${(p.ffjord.hours / p.rnode.hours).toFixed(2)}× |`);
  }
  writeData(c, 'table1', rows);
  return { measured, ...comparisonVerdict(cs) };
}

/** Figure 5: 64 samples of each flow side by side (PNG; the SVG embeds the two grids). */
async function fig5(c: Ctx): Promise<Omit<ExperimentReport, 'experiment' | 'title' | 'claim' | 'files'>> {
  const measured: string[] = [];
  const rows: Array<Record<string, unknown>> = [];
  await useBackend(c.backend as BackendChoice);
  const { default: sharp } = await importOptional<typeof import('sharp')>('sharp', 'Figure 5 (rnode reproduce fig5)', FIGURE_PACKAGES);
  for (const s of imageSets(c.o)) {
    const grids: Array<{ png: Buffer; width: number; height: number; label: string }> = [];
    for (const id of [`${s.prefix}-rnode`, `${s.prefix}-ffjord`]) {
      const d = run(c, id);
      if (!d.test) continue;
      evalWatch.begin(`Figure 5 samples of ${id}`);
      const { pixels, shape } = await evalWatch.guard(() => sampleImageCheckpoint(join(d.dir, 'last.json'), 64, 0, evalSolve({})));
      const g = await imageGridPng(pixels, 64, shape, { scale: Math.max(1, Math.round(112 / shape[0])) });
      grids.push({ ...g, label: d.run.label });
      rows.push({ data: s.name, run: id, bits_per_dim: testScore(d), samples: 64, seed: 0 });
      measured.push(`- ${s.name}, ${d.run.label}: 64 samples (seed 0); test ${fmt(testScore(d))} bits/dim`);
    }
    if (grids.length === 0) continue;
    const gap = 24;
    const width = grids.reduce((w, g) => w + g.width, 0) + gap * (grids.length - 1);
    const height = Math.max(...grids.map((g) => g.height)) + 28;
    let x = 0;
    const parts = grids.map((g) => {
      const p = { g, x };
      x += g.width + gap;
      return p;
    });
    const svg = `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}"><rect width="100%" height="100%" fill="white"/>${parts
      .map((p) => `<text x="${p.x + p.g.width / 2}" y="18" font-family="sans-serif" font-size="14" text-anchor="middle">${p.g.label}</text><image x="${p.x}" y="28" width="${p.g.width}" height="${p.g.height}" href="data:image/png;base64,${p.g.png.toString('base64')}"/>`)
      .join('')}</svg>`;
    await writeFigure(c, `fig5-${s.prefix}`, async (format) => (format === 'svg' ? Buffer.from(svg, 'utf8') : sharp(Buffer.from(svg)).png().toBuffer()));
  }
  writeData(c, 'fig5', rows);
  return { measured, verdict: 'not determined', why: 'a visual comparison: look at the two grids (the paper finds no qualitative difference)' };
}

const BUILDERS: Record<Experiment, (c: Ctx) => Promise<Omit<ExperimentReport, 'experiment' | 'title' | 'claim' | 'files'>>> = { fig1, fig2, fig3, fig4, fig5, table1 };

/** Build one experiment's figure, data and report section into `<out>/<experiment>/`. */
export async function buildExperiment(e: Experiment, o: { out: string; runs: Map<string, RunData>; options: ReproduceOptions; backend: string }): Promise<ExperimentReport> {
  const c: Ctx = { dir: join(o.out, e), runs: o.runs, o: o.options, backend: o.backend, files: [] };
  const r = await BUILDERS[e](c);
  const report: ExperimentReport = { experiment: e, ...CLAIMS[e], ...r, files: c.files.map((f) => relative(o.out, f)) };
  writeFileAtomic(join(c.dir, 'report.md'), markdownSection(report, 1, e), { what: 'report ' });
  return report;
}

export interface ReportContext {
  out: string;
  options: ReproduceOptions;
  /** The command line that produced the runs (what the report says to run). */
  command: string;
  runs: readonly ExperimentRun[];
  machine: string;
  /** Arguments every run was trained with besides its config (--backend, --threads). */
  trainArgs: readonly string[];
}

/** One experiment's section; image links relative to the experiment's folder (depth 1) or to the top (depth 0). */
export function markdownSection(r: ExperimentReport, depth: 0 | 1, folder: string): string {
  const link = (f: string) => (depth === 1 ? relative(folder, f) : f);
  const figures = r.files.filter((f) => f.endsWith('.png'));
  return [
    `${depth === 1 ? '#' : '##'} ${r.title}`,
    '',
    `**The paper:** ${r.claim}`,
    '',
    `**This run:**`,
    '',
    ...r.measured,
    '',
    `**Direction:** ${r.verdict} — ${r.why}.`,
    '',
    ...figures.map((f) => `![${r.experiment}](${link(f)})`),
    '',
    `Data: ${r.files.filter((f) => /\.(csv|json)$/.test(f)).map((f) => `[${f.split('/').at(-1)}](${link(f)})`).join(', ')}${figures.length ? '; SVG beside each PNG' : ''}.`,
    '',
  ].join('\n');
}

/** The report of several experiments (`rnode reproduce all`, or one): `<out>/report.md`. */
export function writeReport(reports: readonly ExperimentReport[], c: ReportContext): string {
  const file = join(c.out, 'report.md');
  const runLines = c.runs.map((r) => [`rnode train --config ${join('runs', r.id, 'job.json')} --out ${join('runs', r.id)}`, ...c.trainArgs].join(' ') + `   # ${r.label}`);
  const text = [
    `# rnode reproduce: "How To Train Your Neural ODE" (Finlay et al., 2020) at the ${c.options.scale} scale`,
    '',
    ...(c.options.scale === 'tiny' ? ['The tiny scale is a smoke test of the machinery (a few iterations per run): its directions say nothing about the paper.', ''] : []),
    `Machine: ${c.machine}. Every figure and number below is regenerated from the saved runs in \`runs/\` by \`${c.command} --report-only\`.`,
    '',
    '| experiment | direction |',
    '|---|---|',
    ...reports.map((r) => `| ${r.title.split(' — ')[0]} | ${r.verdict} |`),
    '',
    ...reports.map((r) => markdownSection(r, 0, r.experiment)),
    '## Commands',
    '',
    'The whole reproduction:',
    '',
    '```sh',
    c.command,
    '```',
    '',
    'Each run is an ordinary `rnode train` run with its own folder (its settings in `runs/<id>/job.json`); in the reproduction\'s folder:',
    '',
    '```sh',
    ...runLines,
    '```',
    '',
  ].join('\n');
  writeFileAtomic(file, text, { what: 'report ' });
  return file;
}
