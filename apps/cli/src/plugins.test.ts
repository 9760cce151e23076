import { copyFileSync, mkdirSync, mkdtempSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, test } from 'vitest';
import { lastJson, rnode } from './testing/run.js';

// Plugin modules import @rnode/*: they live under apps/cli/.tmp (git-ignored), where
// apps/cli/node_modules resolves those packages, as in a project that installed @rnode/cli.
const APP = fileURLToPath(new URL('..', import.meta.url));
mkdirSync(join(APP, '.tmp'), { recursive: true });
const dir = mkdtempSync(join(APP, '.tmp', 'plugins-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
const run = (args: string[]) => rnode(args, { cwd: dir });

copyFileSync(join(APP, 'src', 'examples', 'my-plugins.mjs'), join(dir, 'my-plugins.mjs'));
const PLUGIN = join(dir, 'my-plugins.mjs');
// A second copy: the same names from different objects.
copyFileSync(PLUGIN, join(dir, 'copy.mjs'));
writeFileSync(
  join(dir, 'conflict.mjs'),
  "import { register } from '@rnode/core';\nimport { defineSolver } from '@rnode/solvers';\nregister(defineSolver({ name: 'rk4', order: 4, adaptive: false, step: ({ y0 }) => ({ y1: y0 }) }));\n",
);
writeFileSync(join(dir, 'throws.mjs'), "throw new Error('plugin setup failed: no licence key');\n");
// A 3-D dataset plugin given as a default export (no register call).
writeFileSync(
  join(dir, 'dataset.mjs'),
  `export default { kind: 'dataset', name: 'cube', description: 'uniform on [-1, 1]^3', dim: 3, params: {},
  sample(n, rng) { return rng.uniformArray(n * 3, -1, 1); } };\n`,
);

const TINY = ['--hidden', '8,8', '--batch-size', '32', '--test-samples', '100', '--quiet'];

interface Iteration {
  type: string;
  loss: number;
  nll: number;
  nfeForward: number;
  nfeBackward: number;
  regularizers: Record<string, number>;
}
const iterations = (out: string): Iteration[] =>
  readFileSync(join(dir, out, 'metrics.jsonl'), 'utf8')
    .trim()
    .split('\n')
    .map((l) => JSON.parse(l) as Iteration)
    .filter((l) => l.type === 'iteration');

describe('rnode --plugin', () => {
  let summary: Record<string, unknown>;

  test('train uses the plugin solver and regularizer, and run.json records the module', () => {
    const r = run(['train', '--plugin', './my-plugins.mjs', '--solver', 'ralston2', '--regularizer', 'kinetic-energy-sum=0.5', '--iterations', '3', ...TINY, '--out', 'one', '--json']);
    expect(r.code, r.stderr).toBe(0);
    summary = lastJson(r.stdout);
    // ralston2: 2 evaluations per step, 4 steps of 0.25 forward and 4 backward (rk38 would be 32)
    expect(summary.train_nfe_total).toBe(3 * 16);
    const its = iterations('one');
    expect(its).toHaveLength(3);
    for (const it of its) {
      expect(it.nfeForward).toBe(8);
      expect(it.nfeBackward).toBe(8);
      const { 'kinetic-energy': ke, 'jacobian-frobenius': jf, 'kinetic-energy-sum': keSum } = it.regularizers;
      // The plugin's rate, sum over the 2 dimensions of f², is twice the built-in mean.
      expect(ke).toBeGreaterThan(0);
      expect(keSum! / ke!).toBeCloseTo(2, 5);
      // and it enters the loss with its weight (the preset's 0.01 for the other two)
      expect(it.loss - it.nll).toBeCloseTo(0.01 * ke! + 0.01 * jf! + 0.5 * keSum!, 6);
    }
    const runFile = JSON.parse(readFileSync(join(dir, 'one', 'run.json'), 'utf8')) as { plugins: string[]; regularizers: Record<string, number> };
    expect(runFile.plugins).toEqual([PLUGIN]);
    expect(runFile.regularizers).toEqual({ 'kinetic-energy-sum': 0.5 });
  });

  test('--threads 2: the worker threads load the plugins and train the same model', () => {
    const r = run(['train', '--plugin', './my-plugins.mjs', '--solver', 'ralston2', '--regularizer', 'kinetic-energy-sum=0.5', '--iterations', '3', ...TINY, '--out', 'two', '--threads', '2', '--json']);
    expect(r.code, r.stderr).toBe(0);
    expect(lastJson(r.stdout).train_nfe_total).toBe(3 * 16);
    const a = iterations('one');
    const b = iterations('two');
    expect(b).toHaveLength(3);
    b.forEach((it, i) => {
      expect(it.loss).toBeCloseTo(a[i]!.loss, 5);
      expect(it.regularizers['kinetic-energy-sum']).toBeCloseTo(a[i]!.regularizers['kinetic-energy-sum']!, 5);
    });
  });

  test('eval loads the modules recorded in run.json; a moved module is named with the --plugin to pass', () => {
    const ck = join('one', 'last.json');
    const e = run(['eval', '--checkpoint', ck, '--solver', 'ralston2', '--step-size', '0.25', '--json']);
    expect(e.code, e.stderr).toBe(0);
    expect(lastJson(e.stdout).test_nfe).toBe(8); // 4 ralston2 steps
    renameSync(PLUGIN, join(dir, 'moved.mjs'));
    try {
      const m = run(['eval', '--checkpoint', ck, '--solver', 'ralston2', '--step-size', '0.25']);
      expect(m.code).toBe(2);
      expect(m.stderr).toContain(`trained with --plugin ${PLUGIN}`);
      expect(m.stderr).toContain(`no such file ${PLUGIN}`);
      expect(m.stderr).toContain('Pass --plugin');
      const moved = run(['eval', '--checkpoint', ck, '--solver', 'ralston2', '--step-size', '0.25', '--plugin', './moved.mjs', '--json']);
      expect(moved.code, moved.stderr).toBe(0);
      expect(lastJson(moved.stdout).test_nll).toBe(lastJson(e.stdout).test_nll);
    } finally {
      renameSync(join(dir, 'moved.mjs'), PLUGIN);
    }
  });

  test('a plugin given in --config trains the same run as the flags', () => {
    writeFileSync(
      join(dir, 'cfg.json'),
      JSON.stringify({ plugins: ['./my-plugins.mjs'], solver: 'ralston2', regularizers: { 'kinetic-energy-sum': 0.5 }, iterations: 3, hidden: '8,8', batchSize: 32, testSamples: 100, out: 'cfg' }),
    );
    const r = run(['train', '--config', 'cfg.json', '--quiet', '--json']);
    expect(r.code, r.stderr).toBe(0);
    const s = lastJson(r.stdout);
    expect(s.test_nll).toBe(summary.test_nll);
    expect(s.train_nfe_total).toBe(3 * 16);
    expect(iterations('cfg').map((i) => i.loss)).toEqual(iterations('one').map((i) => i.loss));
    expect((JSON.parse(readFileSync(join(dir, 'cfg', 'run.json'), 'utf8')) as { plugins: string[] }).plugins).toEqual([PLUGIN]);

    writeFileSync(join(dir, 'bad.json'), JSON.stringify({ plugins: ['./my-plugins.mjs'], regularizers: { 'kinetic-energy-summ': 1 } }));
    const bad = run(['train', '--config', 'bad.json']);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toContain('config file bad.json: key "regularizers"');
    expect(bad.stderr).toContain('unknown regularizer "kinetic-energy-summ"');
    expect(bad.stderr).toContain('kinetic-energy-sum');
  });

  test('a dataset plugin (a default export) is trained on with --data', () => {
    const r = run(['train', '--plugin', './dataset.mjs', '--data', 'cube', '--iterations', '1', ...TINY, '--out', 'cube', '--json']);
    expect(r.code, r.stderr).toBe(0);
    const s = lastJson(r.stdout);
    expect(s.data).toBe('cube');
    expect(s.dim).toBe(3);
  });

  test('info lists the plugins by kind, marked with their module', () => {
    const r = run(['info', '--plugin', './my-plugins.mjs', '--json']);
    expect(r.code, r.stderr).toBe(0);
    const info = JSON.parse(r.stdout.trim()) as {
      plugins: Record<string, Array<{ name: string; module?: string }>>;
      modules: Array<{ module: string; plugins: string[] }>;
    };
    const find = (kind: string, name: string) => info.plugins[kind]!.find((p) => p.name === name);
    expect(find('solver', 'ralston2')?.module).toBe(PLUGIN);
    expect(find('regularizer', 'kinetic-energy-sum')?.module).toBe(PLUGIN);
    expect(find('solver', 'rk4')).toBeDefined();
    expect(find('solver', 'rk4')?.module).toBeUndefined();
    expect(info.modules).toEqual([{ module: PLUGIN, plugins: ['solver:ralston2', 'regularizer:kinetic-energy-sum'] }]);

    const text = run(['info', '--plugin', './my-plugins.mjs']);
    expect(text.code).toBe(0);
    expect(text.stdout).toMatch(/ralston2\s+Ralston's 2nd-order method\s+\[--plugin \.\/my-plugins\.mjs\]/);
    expect(text.stdout).toMatch(/kinetic-energy-sum\s+sum over dimensions of f²\s+\[--plugin \.\/my-plugins\.mjs\]/);
    expect(text.stdout).not.toMatch(/dopri5.*\[--plugin/);
  });

  test('a module that is missing, throws or takes a registered name is a usage error naming it', () => {
    const missing = run(['train', '--plugin', './nope.mjs']);
    expect(missing.code).toBe(2);
    expect(missing.stderr).toContain(`--plugin ./nope.mjs: no such file ${join(dir, 'nope.mjs')}`);
    const pkg = run(['train', '--plugin', 'rnode-plugin-nope']);
    expect(pkg.code).toBe(2);
    expect(pkg.stderr).toContain('--plugin rnode-plugin-nope: no such file, and no package "rnode-plugin-nope"');
    const throws = run(['train', '--plugin', './throws.mjs']);
    expect(throws.code).toBe(2);
    expect(throws.stderr).toContain(`--plugin ./throws.mjs: plugin module ${join(dir, 'throws.mjs')} failed to load: plugin setup failed: no licence key`);
    expect(throws.stderr).not.toMatch(/\n\s+at /);
    const builtin = run(['train', '--plugin', './conflict.mjs']);
    expect(builtin.code).toBe(2);
    expect(builtin.stderr).toContain('--plugin ./conflict.mjs: it registers solver "rk4", a name already taken by the built-in solver');
    const twice = run(['info', '--plugin', './my-plugins.mjs', '--plugin', './copy.mjs']);
    expect(twice.code).toBe(2);
    expect(twice.stderr).toContain('--plugin ./copy.mjs: it registers solver "ralston2", a name already taken by the solver of --plugin ./my-plugins.mjs');
  });

  test('plugin names are unknown without --plugin; --regularizer errors name the flag and list the registered regularizers', () => {
    const noPlugin = run(['train', '--solver', 'ralston2']);
    expect(noPlugin.code).toBe(2);
    expect(noPlugin.stderr).toContain('unknown solver "ralston2" (--solver)');
    expect(noPlugin.stderr).toContain('--plugin');
    for (const [value, why] of [
      ['nope=1', 'unknown regularizer "nope"'],
      ['kinetic-energy-sum', 'no weight'],
      ['kinetic-energy-sum=', 'weight "" is not a non-negative number'],
      ['kinetic-energy-sum=NaN', 'weight "NaN" is not a non-negative number'],
      ['kinetic-energy-sum=-1', 'weight "-1" is not a non-negative number'],
    ] as const) {
      const r = run(['train', '--plugin', './my-plugins.mjs', '--regularizer', value]);
      expect(r.code, value).toBe(2);
      expect(r.stderr).toContain(`--regularizer ${value}: ${why}`);
      // the list is the registry after --plugin: the plugin's regularizer is in it
      expect(r.stderr).toContain('(kinetic-energy, jacobian-frobenius, kinetic-energy-sum)');
    }
    const twice = run(['train', '--lambda-k', '0.1', '--regularizer', 'kinetic-energy=0.2']);
    expect(twice.code).toBe(2);
    expect(twice.stderr).toContain('the weight of kinetic-energy is given twice');
  });
});
