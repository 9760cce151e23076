import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, test } from 'vitest';
import { rnode } from './testing/run.js';

const tmp = mkdtempSync(join(tmpdir(), 'rnode-cli-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

describe('rnode: help, usage errors and info', () => {
  test.each([
    ['train', ['--data', '--preset', '--solver', '--step-size', '--rtol', '--atol', '--lambda-k', '--lambda-j', '--reduction', '--iterations', '--batch-size', '--lr', '--seed', '--backend', '--out', '--resume', '--eval-every', '--test-samples', '--hidden', '--layer', '--activation', '--blocks', '--time', '--train-time', '--config', '--json']],
    ['eval', ['--checkpoint', '--data', '--solver', '--json']],
    ['sample', ['--checkpoint', '-n, --num', '--out', '--json']],
    ['plot', ['--checkpoint', '--out', '--compare']],
    ['info', ['--json']],
  ])('%s --help lists its flags and exits 0', (command, flags) => {
    const r = rnode([command, '--help']);
    expect(r.code).toBe(0);
    expect(r.stdout).toContain(`Usage: rnode ${command}`);
    for (const f of flags) expect(r.stdout).toContain(f);
  });

  test('rnode --help and no arguments', () => {
    const help = rnode(['--help']);
    expect(help.code).toBe(0);
    for (const c of ['train', 'eval', 'sample', 'plot', 'info']) expect(help.stdout).toContain(c);
    const none = rnode([]);
    expect(none.code).toBe(2);
    expect(none.stderr).toContain('Usage: rnode');
  });

  test('an unknown flag exits 2 and names the flag (with a suggestion)', () => {
    const r = rnode(['train', '--itrations', '5']);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain("unknown option '--itrations'");
    expect(r.stderr).toContain('--iterations');
    expect(r.stderr).not.toMatch(/\n\s+at /); // no stack trace
  });

  test('a bad flag value exits 2 and names the flag', () => {
    for (const [flag, value] of [['--rtol', 'abc'], ['--iterations', '2.5'], ['--hidden', '64,x'], ['--lr', '-1']] as const) {
      const r = rnode(['train', flag, value]);
      expect(r.code, `${flag} ${value}`).toBe(2);
      expect(r.stderr).toContain(flag);
    }
    const preset = rnode(['train', '--preset', 'nope']);
    expect(preset.code).toBe(2);
    expect(preset.stderr).toContain('rnode, ffjord');
  });

  test('an unknown solver exits 2 and lists the registered solvers', () => {
    const r = rnode(['train', '--solver', 'rk5']);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('unknown solver "rk5"');
    for (const s of ['euler', 'rk4', 'dopri5', 'tsit5']) expect(r.stderr).toContain(s);
  });

  test('unknown estimator, adjoint and backend names list the registered ones', () => {
    expect(rnode(['train', '--estimator', 'nope']).stderr).toContain('hutchinson');
    expect(rnode(['train', '--adjoint', 'nope']).stderr).toContain('backsolve');
    const b = rnode(['train', '--backend', 'nope']);
    expect(b.code).toBe(2);
    expect(b.stderr).toMatch(/wasm.*auto/);
  });

  test('an unreadable data file exits 1 and names the file; an unknown dataset name lists the toys', () => {
    const missing = join(tmp, 'missing.csv');
    const r = rnode(['train', '--data', missing]);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain(missing);
    expect(r.stderr).not.toMatch(/\n\s+at /);
    const toy = rnode(['train', '--data', 'pinwhel']);
    expect(toy.code).toBe(2);
    expect(toy.stderr).toContain('pinwheel');
  });

  test('--debug prints the stack trace', () => {
    const r = rnode(['train', '--data', join(tmp, 'missing.npy'), '--debug']);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/\n\s+at /);
  });

  test('a config file with an unknown key or a bad value is a usage error naming the key', () => {
    const bad = join(tmp, 'bad.json');
    writeFileSync(bad, JSON.stringify({ data: 'pinwheel', itrations: 3 }));
    const r = rnode(['train', '--config', bad]);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('"itrations"');
    expect(r.stderr).toContain(bad);
    writeFileSync(bad, JSON.stringify({ 'lambda-k': -1 }));
    const v = rnode(['train', '--config', bad]);
    expect(v.code).toBe(2);
    expect(v.stderr).toContain('lambdaK');
    const notJson = rnode(['train', '--config', join(tmp, 'nothing.json')]);
    expect(notJson.code).toBe(2);
    expect(notJson.stderr).toContain('nothing.json');
  });

  test('info --json lists backends with reasons and the plugins of every kind', () => {
    const r = rnode(['info', '--json']);
    expect(r.code).toBe(0);
    const info = JSON.parse(r.stdout.trim()) as {
      backends: Array<{ name: string; available: boolean; reason?: string }>;
      plugins: Record<string, Array<{ name: string }>>;
    };
    const byName = new Map(info.backends.map((b) => [b.name, b]));
    expect(byName.get('wasm')?.available).toBe(true);
    expect(byName.get('cpu')?.available).toBe(true);
    for (const b of info.backends) if (!b.available) expect(b.reason).toBeTruthy();
    const names = (k: string) => (info.plugins[k] ?? []).map((p) => p.name);
    expect(names('solver')).toEqual(expect.arrayContaining(['euler', 'rk4', 'dopri5']));
    expect(names('adjoint')).toEqual(expect.arrayContaining(['backsolve', 'backprop']));
    expect(names('estimator')).toEqual(expect.arrayContaining(['hutchinson', 'exact']));
    expect(names('regularizer')).toEqual(expect.arrayContaining(['kinetic-energy', 'jacobian-frobenius']));
    expect(names('dataset')).toEqual(expect.arrayContaining(['pinwheel', '8gaussians']));
    expect(Object.keys(info.plugins)).toEqual(['backend', 'solver', 'controller', 'adjoint', 'estimator', 'regularizer', 'dataset']);
  });

  test('info prints a readable table', () => {
    const r = rnode(['info']);
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/wasm\s+available/);
    expect(r.stdout).toContain('solvers:');
  });
});
