// Installing single packages works as it will from npm: pack @rnode/core,
// solvers, adjoint and estimators into tarballs, install only those (with
// @tensorflow/tfjs-core and a backend from the registry) into a fresh project
// outside the workspace, and run an odeint example from ESM and from CommonJS.
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readdirSync, realpathSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '../../..');
const packages = ['core', 'solvers', 'adjoint', 'estimators'];
let dir = '';

const run = (cmd: string, args: string[], cwd: string) =>
  execFileSync(cmd, args, { cwd, encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, npm_config_yes: 'true' } });

const example = (importLine: string) => `${importLine}
async function main() {
  await useBackend('wasm');
  const w = tf.variable(tf.scalar(-1));
  // dy/dt = -y, y(0) = 1: y(1) = e^-1.
  const y0 = tf.tensor1d([1, 2]);
  for (const method of ['dopri5', 'rk4']) {
    const sol = odeint((t, y) => tf.neg(y), y0, [0, 1], method === 'rk4' ? { method, stepSize: 0.05 } : { method });
    const v = sol.ys[1].dataSync();
    const err = Math.max(Math.abs(v[0] - Math.exp(-1)), Math.abs(v[1] - 2 * Math.exp(-1)));
    if (!(err < 1e-4)) throw new Error(method + ' error ' + err);
    console.log(JSON.stringify({ backend: tf.getBackend(), method, y1: Array.from(v), nfe: sol.stats.nfe }));
    sol.ys.forEach((s) => s.dispose());
  }
  const g = tf.variableGrads(() => {
    const sol = odeintAdjoint((t, y) => tf.mul(y, w), y0, [0, 1], [w], { method: 'rk4', stepSize: 0.1 });
    return tf.sum(sol.ys[1]);
  }, [w]);
  // d/dw sum(y0 e^w) at w = -1 = sum(y0) e^-1
  const gw = g.grads[w.name].dataSync()[0];
  if (Math.abs(gw - 3 * Math.exp(-1)) > 1e-3) throw new Error('adjoint gradient ' + gw);
  console.log(JSON.stringify({ adjointGrad: gw, hutchinson: hutchinson.name }));
}
main().catch((e) => { console.error(e); process.exit(1); });
`;

describe('packed packages install alone outside the workspace', () => {
  beforeAll(() => {
    dir = realpathSync(mkdtempSync(join(tmpdir(), 'rnode-install-')));
    const tarballs = packages.map((p) => {
      const out = run('pnpm', ['pack', '--pack-destination', dir], join(root, 'packages', p));
      const name = readdirSync(dir).find((f) => f.startsWith(`rnode-${p}-`) && f.endsWith('.tgz'));
      if (!name) throw new Error(`pnpm pack produced no tarball for ${p}: ${out}`);
      return join(dir, name);
    });
    writeFileSync(join(dir, 'package.json'), JSON.stringify({ name: 'consumer', private: true, version: '0.0.0' }));
    run('npm', ['install', '--no-audit', '--no-fund', '--loglevel=error', ...tarballs,
      '@tensorflow/tfjs-core@4.22.0', '@tensorflow/tfjs-backend-wasm@4.22.0'], dir);
  });
  afterAll(() => {
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it('resolves exactly one copy of @tensorflow/tfjs-core', () => {
    const req = createRequire(join(dir, 'index.js'));
    const copies = new Set(
      ['@rnode/core', '@rnode/solvers', '@rnode/adjoint', '@rnode/estimators'].map((p) =>
        realpathSync(createRequire(req.resolve(p)).resolve('@tensorflow/tfjs-core')),
      ),
    );
    copies.add(realpathSync(req.resolve('@tensorflow/tfjs-core')));
    expect(copies.size).toBe(1);
  });

  it('runs the odeint example from ESM', () => {
    writeFileSync(join(dir, 'esm.mjs'), example(`import * as tf from '@tensorflow/tfjs-core';
import { useBackend } from '@rnode/core';
import { odeint } from '@rnode/solvers';
import { odeintAdjoint } from '@rnode/adjoint';
import { hutchinson } from '@rnode/estimators';`));
    const out = run('node', ['esm.mjs'], dir);
    expect(out).toContain('"backend":"wasm"');
    expect(out).toContain('"method":"dopri5"');
    expect(out).toContain('adjointGrad');
  });

  it('runs the odeint example from CommonJS', () => {
    writeFileSync(join(dir, 'cjs.cjs'), example(`const tf = require('@tensorflow/tfjs-core');
const { useBackend } = require('@rnode/core');
const { odeint } = require('@rnode/solvers');
const { odeintAdjoint } = require('@rnode/adjoint');
const { hutchinson } = require('@rnode/estimators');`));
    const out = run('node', ['cjs.cjs'], dir);
    expect(out).toContain('"backend":"wasm"');
    expect(out).toContain('"method":"rk4"');
  });
});
