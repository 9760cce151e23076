// The packages as a user gets them from npm: every publishable library packed into a
// tarball and installed with npm into a fresh project in the OS temp dir, next to tfjs
// from the registry. Then:
//   (a) Node: one process imports and requires every entry (ESM first, CJS first, and
//       from a .cjs main), runs odeint, odeintAdjoint, checkSolver + odeint and 20
//       training steps on a mix of the two copies, and must have one registry;
//   (b) browser: a page bundled by Vite and by esbuild runs in headless chromium on
//       wasm and WebGPU (SwiftShader); its training loss must match Node's;
//   (c) the packed CLI, run with npx (the marked block at the end).
// The scripts and the page live in ../fixtures and are copied into the project.
// Run: pnpm --filter @rnode/test-consumer test:package (after pnpm build); needs
// /usr/bin/chromium (scripts/install-system-deps.sh) and the npm registry.
// RNODE_CONSUMER_KEEP=1 keeps the temp project (its path is printed) to rerun a
// script by hand: cd <dir> && node node/esm-first.mjs
import { readFileSync, rmSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { realpathSync } from 'node:fs';
import type { Browser } from 'playwright-core';
import type { Server } from 'node:http';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { bundleEsbuild, bundleVite, launch, requireChromium, runPage, serve } from '../src/browser.js';
import { createProject, publishable, run, type Project } from '../src/project.js';

const E1 = Math.exp(-1);
const BUILTIN_SOLVERS = ['euler', 'midpoint', 'heun', 'rk4', 'rk38', 'dopri5', 'bosh3', 'tsit5'];
const LOSS_RTOL = 1e-4;
const keep = process.env.RNODE_CONSUMER_KEEP === '1';

interface Step {
  ok: boolean;
  error?: string;
  stack?: string;
  [k: string]: unknown;
}
type Steps = Record<string, Step | undefined>;
interface NodeResult {
  label: string;
  entries: string[];
  loadErrors: Record<string, string>;
  backends: Record<string, Steps>;
  registry: Steps;
  checkSolverThenOdeint?: Step;
  odeintThenCheckSolver?: Step;
}
interface PageResult {
  bundler: string;
  fatal?: string;
  adapter?: { vendor?: string; architecture?: string; error?: string };
  backends: Record<string, Steps>;
}

/** The step's values, or a failure that carries the library's error text. */
function ok(step: Step | undefined, what: string): Step {
  if (!step) throw new Error(`${what}: did not run (an earlier step failed)`);
  if (!step.ok) throw new Error(`${what}: ${step.error}\n${step.stack ?? ''}`);
  return step;
}
const rel = (a: number, b: number) => Math.abs(a - b) / Math.abs(b);

let project: Project;
/** The Node reference (ESM only, nothing mixed): training on cpu and wasm. */
let reference: { backends: Record<string, Steps> };
/** Final losses by where they were computed, printed at the end (CI logs keep them). */
const losses: Record<string, number | string> = {};
const refLoss = (backend: 'cpu' | 'wasm') => ok(reference.backends[backend]?.training, `Node reference training on ${backend}`).loss as number;

async function runNode(script: string): Promise<{ result: unknown; stderr: string }> {
  const { stdout, stderr } = await run(process.execPath, [join('node', script)], project.dir, {}, 240_000);
  const line = stdout.split('\n').find((l) => l.startsWith('__RESULT__ '));
  if (!line) throw new Error(`${script} printed no result\nstdout:\n${stdout}\nstderr:\n${stderr}`);
  return { result: JSON.parse(line.slice('__RESULT__ '.length)), stderr };
}

beforeAll(async () => {
  project = await createProject();
  reference = (await runNode('reference.mjs')).result as typeof reference;
  for (const b of ['cpu', 'wasm']) {
    const t = reference.backends[b]?.training;
    losses[`node reference, ${b}`] = t?.ok ? (t.loss as number) : `failed: ${t?.error}`;
  }
}, 600_000);

afterAll(() => {
  console.log(`final training losses (${20} steps):\n${Object.entries(losses).map(([k, v]) => `  ${k}: ${v}`).join('\n')}`);
  if (project && !keep) rmSync(project.dir, { recursive: true, force: true });
  else if (project) console.log(`kept ${project.dir}`);
});

describe('install', () => {
  it('installs every publishable library from its tarball', () => {
    const req = createRequire(join(project.dir, 'index.js'));
    for (const { name } of publishable()) {
      const pkgJson = realpathSync(req.resolve(`${name}/package.json`));
      expect(pkgJson.startsWith(join(project.dir, 'node_modules'))).toBe(true);
    }
    expect(project.tarballs.length).toBe(publishable().length);
  });

  it('resolves exactly one copy of @tensorflow/tfjs-core', () => {
    const req = createRequire(join(project.dir, 'index.js'));
    const copies = new Set(
      publishable().map(({ name }) => realpathSync(createRequire(req.resolve(`${name}/package.json`)).resolve('@tensorflow/tfjs-core'))),
    );
    copies.add(realpathSync(req.resolve('@tensorflow/tfjs-core')));
    expect([...copies]).toHaveLength(1);
  });
});

// ---------------------------------------------------------------- (a) Node
const nodeResults: Record<string, NodeResult> = {};
const scripts = [
  { script: 'esm-first.mjs', backends: ['wasm', 'cpu'] },
  { script: 'cjs-first.mjs', backends: ['wasm'] },
  { script: 'cjs-main.cjs', backends: ['wasm'] },
];

describe.each(scripts)('Node, one process: $script', ({ script, backends }) => {
  let r: NodeResult;
  beforeAll(async () => {
    r = (await runNode(script)).result as NodeResult;
    nodeResults[script] = r;
  }, 300_000);

  it('imports and requires every entry', () => {
    for (const { name } of publishable()) {
      expect(r.entries).toContain(name);
      expect(r.entries).toContain(`${name}/testing`);
    }
    for (const name of ['@rnode/data', '@rnode/models', '@rnode/train']) expect(r.entries).toContain(`${name}/node`);
    expect(r.loadErrors).toEqual({});
  });

  describe.each(backends)('on %s', (backend) => {
    const steps = () => r.backends[backend] ?? {};
    it('useBackend', () => {
      expect(ok(steps().useBackend, 'useBackend').tfBackend).toBe(backend);
    });
    it('odeint (dopri5) of y\' = -y gives e^-1 at t = 1 to 1e-5', () => {
      const s = ok(steps().odeint, 'odeint');
      expect(s.status).toBe('ok');
      expect(Math.abs((s.y1 as number) - E1)).toBeLessThan(1e-5);
    });
    it('odeintAsync gives e^-1 to 1e-5', () => {
      const s = ok(steps().odeintAsync, 'odeintAsync');
      expect(Math.abs((s.y1 as number) - E1)).toBeLessThan(1e-5);
    });
    it('odeintAdjoint gives the gradient 3 e^-1', () => {
      const s = ok(steps().odeintAdjoint, 'odeintAdjoint');
      expect(rel(s.grad as number, 3 * E1)).toBeLessThan(1e-4);
    });
    it('trains a 2-D flow for 20 steps: no leaked tensors, the reference process\'s loss to 1e-4', () => {
      const s = ok(steps().training, 'training');
      losses[`node ${script}, ${backend}`] = s.loss as number;
      expect(s.iterations).toBe(20);
      expect(s.tfBackend).toBe(backend);
      expect(s.leakedTensors).toBe(0);
      expect(rel(s.loss as number, refLoss(backend as 'cpu' | 'wasm'))).toBeLessThan(LOSS_RTOL);
    });
  });

  it('checkSolver (@rnode/solvers/testing) then odeint', () => {
    const s = ok(r.checkSolverThenOdeint, 'checkSolver then odeint');
    expect(s.checkOk, JSON.stringify(s.problems)).toBe(true);
    expect(Math.abs((s.y1 as number) - E1)).toBeLessThan(1e-5);
  });
  it('odeint then checkSolver', () => {
    const s = ok(r.odeintThenCheckSolver, 'odeint then checkSolver');
    expect(s.checkOk, JSON.stringify(s.problems)).toBe(true);
  });

  it('has one registry: import and require give the same register function', () => {
    const s = ok(r.registry.identity, 'registry');
    expect(s.sharedStore).toBe(true);
    expect(s.sameTf).toBe(true);
    expect(s.sameRegister).toBe(true);
  });
  it('has one registry: each built-in solver once, the same plugin object from import and require', () => {
    const s = ok(r.registry.identity, 'registry');
    expect(s.builtinCounts).toEqual(Object.fromEntries(BUILTIN_SOLVERS.map((n) => [n, 1])));
    expect(s.samePlugin).toEqual(Object.fromEntries(BUILTIN_SOLVERS.map((n) => [n, true])));
  });
});

// ---------------------------------------------------------------- (b) browser
describe('browser (headless chromium)', () => {
  let browser: Browser | undefined;
  let server: Server | undefined;
  let url = '';
  const pages: Record<string, PageResult> = {};
  const bundleErrors: Record<string, string> = {};

  beforeAll(async () => {
    requireChromium();
    for (const [name, bundle] of [['vite', bundleVite], ['esbuild', bundleEsbuild]] as const) {
      try {
        await bundle(project.dir);
      } catch (e) {
        bundleErrors[name] = (e as Error).message;
      }
    }
    ({ url, server } = await serve(join(project.dir, 'dist')));
    browser = await launch();
    for (const bundler of ['vite', 'esbuild']) {
      if (bundleErrors[bundler]) continue;
      const { results, timedOut, console: log } = await runPage(browser, `${url}${bundler}/index.html`);
      pages[bundler] = results as PageResult;
      if (timedOut) console.warn(`${bundler} page: no results within the time limit; console:\n${log.join('\n')}`);
    }
  }, 600_000);

  afterAll(async () => {
    await browser?.close();
    server?.close();
  });

  describe.each(['vite', 'esbuild'])('bundled with %s', (bundler) => {
    const page = () => {
      if (bundleErrors[bundler]) throw new Error(`${bundler} build failed: ${bundleErrors[bundler]}`);
      const p = pages[bundler];
      if (!p) throw new Error(`${bundler}: the page gave no results`);
      if (p.fatal) throw new Error(`${bundler}: the page failed: ${p.fatal}`);
      return p;
    };
    const steps = (backend: string) => page().backends[backend] ?? {};

    it('builds', () => {
      expect(bundleErrors[bundler]).toBeUndefined();
    });

    it('wasm: useBackend(wasmBackend) with the .wasm files located by setWasmPaths', () => {
      expect(ok(steps('wasm').useBackend, 'useBackend(wasm)').tfBackend).toBe('wasm');
    });
    it('wasm: odeint gives e^-1 to 1e-5', () => {
      const s = ok(steps('wasm').odeint, 'odeint on wasm');
      expect(s.status).toBe('ok');
      expect(Math.abs((s.y1 as number) - E1)).toBeLessThan(1e-5);
    });
    it('wasm: the final training loss equals Node\'s (wasm) to 1e-4', () => {
      const s = ok(steps('wasm').training, 'training on wasm');
      losses[`browser ${bundler}, wasm`] = s.loss as number;
      expect(s.iterations).toBe(20);
      expect(s.tfBackend).toBe('wasm');
      expect(rel(s.loss as number, refLoss('wasm'))).toBeLessThan(LOSS_RTOL);
    });

    it('webgpu: the adapter is SwiftShader', () => {
      expect(page().adapter).toMatchObject({ architecture: 'swiftshader' });
    });
    it('webgpu: useBackend(webgpuBackend)', () => {
      expect(ok(steps('webgpu').useBackend, 'useBackend(webgpu)').tfBackend).toBe('webgpu');
    });
    it('webgpu: odeintAsync gives e^-1 to 1e-5', () => {
      const s = ok(steps('webgpu').odeintAsync, 'odeintAsync on webgpu');
      expect(Math.abs((s.y1 as number) - E1)).toBeLessThan(1e-5);
    });
    it('webgpu: the final training loss equals Node\'s (cpu) to 1e-4', () => {
      const s = ok(steps('webgpu').training, 'training on webgpu');
      losses[`browser ${bundler}, webgpu`] = s.loss as number;
      expect(s.iterations).toBe(20);
      expect(s.tfBackend).toBe('webgpu');
      expect(rel(s.loss as number, refLoss('cpu'))).toBeLessThan(LOSS_RTOL);
    });
    it.each(['wasm', 'webgpu'])('%s: synchronous adaptive odeint (dopri5, throw: false) is correct or throws naming odeintAsync', (backend) => {
      const s = ok(steps(backend).syncAdaptive, `sync adaptive odeint on ${backend}`);
      if (s.outcome === 'threw') {
        expect(s.error).toMatch(/odeintAsync/);
      } else {
        const y = s.y as number[];
        expect(s.status, `returned status ${s.status} with y = ${JSON.stringify(y)}`).toBe('ok');
        expect(y).toHaveLength(2);
        expect(Math.abs(y[0]! - E1), `y = ${JSON.stringify(y)}`).toBeLessThan(1e-4);
        expect(Math.abs(y[1]! - 2 * E1), `y = ${JSON.stringify(y)}`).toBeLessThan(2e-4);
      }
    });
  });
});

// ---------------------------------------------------------------- (c) CLI
// The packed @rnode/cli, installed next to the libraries, run with npx as its README says.
// More CLI checks go here (each runs `npx rnode …` in project.dir).
describe('CLI (npx rnode, from its tarball)', () => {
  const rnode = async (args: string[]) => {
    const { stdout } = await run('npx', ['--no-install', 'rnode', ...args, '--json', '--quiet'], project.dir, {}, 180_000);
    const lines = stdout.trim().split('\n').filter((l) => l.startsWith('{'));
    return { lines: lines.map((l) => JSON.parse(l) as Record<string, unknown>), stdout };
  };
  const readJson = (path: string) => JSON.parse(readFileSync(join(project.dir, path), 'utf8')) as Record<string, unknown>;
  const metrics = (dir: string) =>
    readFileSync(join(project.dir, dir, 'metrics.jsonl'), 'utf8').trim().split('\n').map((l) => JSON.parse(l) as Record<string, unknown>);

  it('resolves its @rnode dependencies to the installed tarballs (one copy each)', () => {
    const req = createRequire(join(project.dir, 'index.js'));
    const cliReq = createRequire(req.resolve('@rnode/cli/package.json'));
    for (const { name } of publishable()) {
      expect(realpathSync(cliReq.resolve(`${name}/package.json`))).toBe(realpathSync(req.resolve(`${name}/package.json`)));
    }
  });

  it('rnode train --data pinwheel --iterations 5', async () => {
    const { lines, stdout } = await rnode(['train', '--data', 'pinwheel', '--iterations', '5', '--out', 'out/pinwheel']);
    expect(lines.length, stdout).toBeGreaterThan(0);
    const its = metrics('out/pinwheel').filter((e) => e.type === 'iteration');
    expect(its.map((e) => e.iteration)).toHaveLength(5);
    for (const e of its) expect(Number.isFinite(e.loss)).toBe(true);
    expect(readJson('out/pinwheel/last.json')).toMatchObject({ format: 'rnode-checkpoint', iteration: 5 });
  });

  it('rnode train --plugin ./my-plugins.mjs --solver ralston2 --regularizer kinetic-energy-sum=0.05 (the README\'s module)', async () => {
    const { stdout } = await rnode([
      'train', '--plugin', './my-plugins.mjs', '--solver', 'ralston2', '--regularizer', 'kinetic-energy-sum=0.05',
      '--data', 'pinwheel', '--iterations', '5', '--out', 'out/ralston2',
    ]);
    const its = metrics('out/ralston2').filter((e) => e.type === 'iteration');
    expect(its, stdout).toHaveLength(5);
    const regs = its[its.length - 1]!.regularizers as Record<string, number>;
    expect(Number.isFinite(regs['kinetic-energy-sum'])).toBe(true);
    expect(JSON.stringify(readJson('out/ralston2/run.json'))).toContain('my-plugins.mjs');
  });

  it('the same plugin run with --threads 2: the worker threads load the module and train the same model', async () => {
    const { stdout } = await rnode([
      'train', '--plugin', './my-plugins.mjs', '--solver', 'ralston2', '--regularizer', 'kinetic-energy-sum=0.05',
      '--data', 'pinwheel', '--iterations', '5', '--out', 'out/ralston2-t2', '--threads', '2',
    ]);
    const one = metrics('out/ralston2').filter((e) => e.type === 'iteration');
    const two = metrics('out/ralston2-t2').filter((e) => e.type === 'iteration');
    expect(two, stdout).toHaveLength(5);
    for (let i = 0; i < 5; i++) {
      // shards share the probe stream: the same training up to float32 rounding of the gradient sum
      expect(two[i]!.loss as number).toBeCloseTo(one[i]!.loss as number, 4);
      expect(Number.isFinite((two[i]!.regularizers as Record<string, number>)['kinetic-energy-sum'])).toBe(true);
    }
  });
});
