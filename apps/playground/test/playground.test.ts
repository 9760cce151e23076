// The playground in a real browser: the built app served on 127.0.0.1, driven by
// playwright-core in Debian's chromium (SwiftShader for WebGPU). Compares what the page
// trains with the same settings trained here in Node through @rnode/train, and checkpoints
// with the built CLI (apps/cli/dist/rnode.js).
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import type { Server } from 'node:http';
import { tmpdir } from 'node:os';
import { basename, join } from 'node:path';
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Random, useBackend } from '@rnode/core';
import { createFlow } from '@rnode/models';
import { createTrainer } from '@rnode/train';
import { decodeSettings, modelConfig, trainerOptions, type PresetName, type Settings } from '../src/settings';
import { APP_DIR, CHROMIUM, haveChromium, launch, logPage, RNODE_CLI, serveApp, snapshot, waitForIterations } from './harness';

if (!haveChromium) {
  console.warn(`[playground] SKIPPED: ${CHROMIUM} is missing. Install Debian's chromium (scripts/install-system-deps.sh, as root) or set CHROMIUM_PATH to run the browser tests.`);
}

// Small enough for SwiftShader WebGPU on a 2-core machine; lr 0.01 so the loss falls in 8 iterations.
const ITERATIONS = 8;
const HASH = (backend: string, extra = '') => `#data=pinwheel&hidden=8&batch=32&lr=0.01&it=${ITERATIONS}&viz=${ITERATIONS}&backend=${backend}&r.h=0.5${extra}`;

/** The same settings trained in Node on wasm: losses and NFE per iteration. */
async function nodeReference(s: Settings, side: PresetName) {
  await useBackend('wasm');
  const flow = createFlow(modelConfig(s), new Random(`${s.seed}:model`));
  const t = createTrainer({ flow, data: 'pinwheel', ...trainerOptions(s, side) });
  const out = { losses: [] as number[], nfeForward: [] as number[], nfeBackward: [] as number[] };
  try {
    for (let i = 0; i < s.iterations; i++) {
      const e = await t.step();
      out.losses.push(e.loss);
      out.nfeForward.push(e.nfeForward);
      out.nfeBackward.push(e.nfeBackward);
    }
  } finally {
    t.dispose();
    flow.dispose();
  }
  return out;
}

const mean = (a: number[]) => a.reduce((x, y) => x + y, 0) / a.length;

function rnode(args: string[], cwd: string): string {
  return execFileSync(process.execPath, [RNODE_CLI, ...args], { cwd, encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
}

describe.skipIf(!haveChromium)('playground in headless chromium', () => {
  let browser: Browser;
  let server: Server;
  let url: string;
  let tmp: string;
  const log: string[] = [];
  const foreign: string[] = [];

  beforeAll(async () => {
    if (!existsSync(RNODE_CLI)) throw new Error(`${RNODE_CLI} is missing: build the CLI (pnpm --filter @rnode/cli build)`);
    ({ url, server } = await serveApp());
    browser = await launch();
    tmp = mkdtempSync(join(tmpdir(), 'rnode-playground-'));
  });
  afterAll(async () => {
    await browser?.close();
    server?.close();
    if (tmp) rmSync(tmp, { recursive: true, force: true });
  });

  async function open(hash: string, viewport = { width: 1280, height: 900 }): Promise<Page> {
    const page = await browser.newPage({ viewport, acceptDownloads: true });
    logPage(page, log);
    page.on('request', (r) => {
      if (!r.url().startsWith(url) && !r.url().startsWith('blob:') && !r.url().startsWith('data:')) foreign.push(r.url());
    });
    await page.goto(url + hash);
    return page;
  }

  it('trains both presets on wasm: the loss falls, losses and NFE equal Node\'s', async () => {
    const s = decodeSettings(HASH('wasm'));
    const page = await open(HASH('wasm'));
    try {
      const got = await waitForIterations(page, ITERATIONS);
      for (const side of ['rnode', 'ffjord'] as const) {
        const ref = await nodeReference(s, side);
        const g = got[side];
        expect(g.backend, side).toBe('wasm');
        expect(g.nfeForward, `${side} NFE forward`).toEqual(ref.nfeForward);
        expect(g.nfeBackward, `${side} NFE backward`).toEqual(ref.nfeBackward);
        g.losses.forEach((l, i) => expect(l, `${side} loss ${i + 1}`).toBeCloseTo(ref.losses[i]!, 4));
        expect(mean(g.losses.slice(-3))).toBeLessThan(mean(g.losses.slice(0, 3)) - 0.1);
      }
      // The paper's point, on screen: RNODE's fixed grid (rk38, step 0.5: 8) vs FFJORD's dopri5.
      expect(got.rnode.nfeForward[0]).toBe(8);
      expect(got.ffjord.nfeForward[0]).toBeGreaterThan(8);
      expect(await page.getByTestId('rnode-nfe').textContent()).toBe(`${got.rnode.nfeForward.at(-1)} + ${got.rnode.nfeBackward.at(-1)}`);
      expect(foreign, 'requests outside the app').toEqual([]);
    } finally {
      await page.close();
    }
  });

  // SwiftShader is slow: each side alone (not sharing the CPU), FFJORD's dopri5 for 3 iterations.
  it('trains both presets on WebGPU (SwiftShader): NFE equal Node\'s, losses to float32 differences', async () => {
    for (const [side, its] of [['rnode', ITERATIONS], ['ffjord', 3]] as const) {
      const hash = HASH('webgpu', `&eval=0&only=${side}`).replace(`it=${ITERATIONS}&viz=${ITERATIONS}`, `it=${its}&viz=${its}`);
      const s = decodeSettings(hash);
      const page = await open(hash);
      try {
        const g = (await waitForIterations(page, its, 300_000, [side]))[side];
        expect(g.backend, side).toBe('webgpu');
        expect(g.adapter.toLowerCase()).toContain('swiftshader');
        expect(g.note, side).toBe('');
        const ref = await nodeReference(s, side);
        expect(g.nfeForward, `${side} NFE forward`).toEqual(ref.nfeForward);
        expect(g.nfeBackward, `${side} NFE backward`).toEqual(ref.nfeBackward);
        g.losses.forEach((l, i) => expect(Math.abs(l - ref.losses[i]!), `${side} loss ${i + 1}`).toBeLessThan(2e-3));
        if (side === 'rnode') expect(mean(g.losses.slice(-3))).toBeLessThan(mean(g.losses.slice(0, 3)) - 0.1);
        else {
          // FFJORD's dopri5 on WebGPU: an adaptive solve (more than RNODE's 8 evaluations), and it learns.
          expect(g.nfeForward[0]).toBeGreaterThan(8);
          expect(g.losses[2]).toBeLessThan(g.losses[0]!);
        }
      } finally {
        await page.close();
      }
    }
  });

  it('loads a checkpoint of `rnode train`: the test NLL shown equals `rnode eval`\'s; one saved from the page works with `rnode eval`', async () => {
    rnode(['train', '--data', 'pinwheel', '--iterations', '3', '--hidden', '8', '--batch-size', '32', '--test-samples', '300', '--out', 'cli', '--quiet'], tmp);
    const cliEval = JSON.parse(rnode(['eval', '--checkpoint', 'cli/last.json', '--json'], tmp).trim().split('\n').at(-1)!);
    const page = await open(HASH('wasm', '&paused'));
    try {
      // Waits for this file's result: the panel names the file with its NLL (a second load would
      // otherwise read the first one's number, or the '–' its fresh panel shows meanwhile).
      const loadAndRead = async (file: string) => {
        await page.locator('#load').setInputFiles(file);
        await page.waitForFunction(
          (name) => (document.getElementById('loaded-note')?.textContent ?? '').startsWith(`${name}:`) && /^-?\d/.test(document.getElementById('loaded-nll')?.textContent ?? ''),
          basename(file),
          { timeout: 120_000 },
        );
        return Number(await page.getByTestId('loaded-nll').textContent());
      };
      const shown = await loadAndRead(join(tmp, 'cli', 'last.json'));
      expect(Math.abs(shown - cliEval.test_nll)).toBeLessThan(1e-3);
      expect(await page.locator('#loaded-iteration').textContent()).toBe('3');

      // Train a few iterations in the page and save the RNODE side's checkpoint.
      await page.locator('#start').click();
      await waitForIterations(page, ITERATIONS);
      const [download] = await Promise.all([page.waitForEvent('download'), page.locator('#save-rnode').click()]);
      const saved = join(tmp, 'page.json');
      await download.saveAs(saved);
      const ck = JSON.parse(readFileSync(saved, 'utf8'));
      expect(ck.format).toBe('rnode-checkpoint');
      expect(ck.iteration).toBe(ITERATIONS);
      expect(ck.run.source).toEqual({ kind: 'toy', name: 'pinwheel' });
      const pageEval = JSON.parse(rnode(['eval', '--checkpoint', 'page.json', '--test-samples', '300', '--json'], tmp).trim().split('\n').at(-1)!);
      expect(pageEval.data).toBe('pinwheel');
      expect(Number.isFinite(pageEval.test_nll)).toBe(true);
      // And back into the page: the same test points (rnode eval's default 2000), the same NLL.
      const fullEval = JSON.parse(rnode(['eval', '--checkpoint', 'page.json', '--json'], tmp).trim().split('\n').at(-1)!);
      const again = await loadAndRead(saved);
      expect(Math.abs(again - fullEval.test_nll)).toBeLessThan(1e-3);
      expect(foreign).toEqual([]);
    } finally {
      await page.close();
    }
  });

  it('draws points with the mouse and trains on them; lays out at desktop and phone sizes', async () => {
    const page = await open('#data=drawn&hidden=8&batch=32&lr=0.01&it=6&viz=6&eval=6&backend=wasm');
    try {
      const pad = page.locator('#draw');
      const b = (await pad.boundingBox())!;
      // Two strokes: a ring's arc and a bar.
      await page.mouse.move(b.x + b.width * 0.3, b.y + b.height * 0.3);
      await page.mouse.down();
      for (let i = 0; i <= 30; i++) {
        const a = (i / 30) * Math.PI * 1.5;
        await page.mouse.move(b.x + b.width * (0.5 + 0.3 * Math.cos(a)), b.y + b.height * (0.5 + 0.3 * Math.sin(a)));
        await page.waitForTimeout(15);
      }
      await page.mouse.up();
      const n = Number((await page.locator('#npoints').textContent())!.split(' ')[0]);
      expect(n).toBeGreaterThanOrEqual(20);
      const pts = await page.evaluate(() => Array.from((globalThis as unknown as { __playground: { points: Float32Array } }).__playground.points));
      expect(pts.length).toBe(2 * n);
      // Inside the pad's box, on a circle of radius 0.3 × 8 = 2.4 around the origin.
      for (let i = 2; i < pts.length; i += 2) expect(Math.hypot(pts[i]!, pts[i + 1]!)).toBeCloseTo(2.4, 0);
      await page.locator('#start').click();
      const got = await waitForIterations(page, 6);
      for (const side of ['rnode', 'ffjord'] as const) {
        expect(got[side].losses.every(Number.isFinite)).toBe(true);
        expect(got[side].iteration).toBe(6);
      }
      await page.waitForFunction(() => document.getElementById('status')?.textContent === 'Done.', null, { timeout: 120_000 });
      const shots = join(APP_DIR, '.tmp');
      mkdirSync(shots, { recursive: true });
      await page.screenshot({ path: join(shots, 'desktop.png'), fullPage: true });
      await page.setViewportSize({ width: 390, height: 844 });
      await page.waitForTimeout(300);
      const overflow = await page.evaluate(() => document.documentElement.scrollWidth - window.innerWidth);
      expect(overflow, 'horizontal overflow at 390 px').toBeLessThanOrEqual(0);
      await page.screenshot({ path: join(shots, 'phone.png'), fullPage: true });
      // Keyboard: Tab reaches the controls; on the pad, arrows + space add a point.
      await pad.focus();
      await page.keyboard.press('ArrowRight');
      await page.keyboard.press('Space');
      expect(Number((await page.locator('#npoints').textContent())!.split(' ')[0])).toBe(n + 1);
      // A CSV of 2-D points (with a header) becomes the data.
      await page.locator('#csv').setInputFiles({ name: 'pts.csv', mimeType: 'text/csv', buffer: Buffer.from('x,y\n1,2\n3,-4.5\n0.5,1e-1\n') });
      await page.waitForFunction(() => /pts\.csv: 3 points/.test(document.getElementById('status')?.textContent ?? ''));
      expect(await page.locator('#data').inputValue()).toBe('csv');
      expect(await page.evaluate(() => Array.from((globalThis as unknown as { __playground: { points: Float32Array } }).__playground.points))).toEqual([1, 2, 3, -4.5, 0.5, Math.fround(0.1)]);
    } finally {
      await page.close();
    }
  });
});
