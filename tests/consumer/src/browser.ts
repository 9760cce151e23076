// The browser half: bundle the page with Vite and with esbuild (the workspace's
// pinned bundlers, run on the temp project, so every import resolves from its
// node_modules), serve the bundles from 127.0.0.1 and open them in headless chromium.
import { copyFileSync, existsSync, mkdirSync, readdirSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import * as esbuild from 'esbuild';
import { chromium, type Browser } from 'playwright-core';
import sirv from 'sirv';
import { build as viteBuild } from 'vite';

export const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
/** A SwiftShader WebGPU adapter without a GPU (navigator.gpu needs a secure context: 127.0.0.1 is one). */
export const CHROMIUM_ARGS = [
  '--no-sandbox',
  '--enable-unsafe-webgpu',
  '--enable-features=Vulkan',
  '--use-angle=swiftshader',
  '--use-webgpu-adapter=swiftshader',
];

export function requireChromium(): void {
  if (!existsSync(CHROMIUM)) {
    throw new Error(`${CHROMIUM} is missing: run scripts/install-system-deps.sh (as root) to install Debian's chromium, or set CHROMIUM_PATH`);
  }
}

/** `vite build` of browser/index.html (an app build) into dist/vite. */
export async function bundleVite(projectDir: string): Promise<string> {
  const outDir = join(projectDir, 'dist', 'vite');
  await viteBuild({
    configFile: false,
    root: join(projectDir, 'browser'),
    base: './',
    logLevel: 'warn',
    build: { outDir, emptyOutDir: true, target: 'es2022', minify: false, reportCompressedSize: false },
  });
  return outDir;
}

/** `esbuild --bundle --platform=browser --format=esm` of browser/main-esbuild.js into dist/esbuild, with the .wasm files copied under wasm/. */
export async function bundleEsbuild(projectDir: string): Promise<string> {
  const outDir = join(projectDir, 'dist', 'esbuild');
  await esbuild.build({
    absWorkingDir: projectDir,
    entryPoints: { main: join(projectDir, 'browser', 'main-esbuild.js') },
    bundle: true,
    platform: 'browser',
    format: 'esm',
    target: 'es2022',
    outdir: outDir,
    logLevel: 'warning',
  });
  const wasmDir = join(projectDir, 'node_modules', '@tensorflow', 'tfjs-backend-wasm', 'dist');
  mkdirSync(join(outDir, 'wasm'), { recursive: true });
  for (const f of readdirSync(wasmDir).filter((f) => f.endsWith('.wasm'))) copyFileSync(join(wasmDir, f), join(outDir, 'wasm', f));
  writeFileSync(
    join(outDir, 'index.html'),
    '<!doctype html><html><head><meta charset="utf-8"><link rel="icon" href="data:,"><title>rnode consumer (esbuild)</title></head><body><script type="module" src="./main.js"></script></body></html>',
  );
  return outDir;
}

/** A static server for `dir` on 127.0.0.1 (sirv sets application/wasm, which streaming compilation needs). */
export async function serve(dir: string): Promise<{ url: string; server: Server }> {
  const handler = sirv(dir, { dev: true });
  const server = createServer((req, res) => handler(req, res, () => {
    res.statusCode = 404;
    res.end('not found');
  }));
  await new Promise<void>((ok) => server.listen(0, '127.0.0.1', ok));
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/`, server };
}

export function launch(): Promise<Browser> {
  return chromium.launch({ executablePath: CHROMIUM, args: CHROMIUM_ARGS, timeout: 60_000 });
}

export interface PageRun {
  results: unknown;
  /** The page did not finish in time: `results` is what it had recorded so far. */
  timedOut: boolean;
  console: string[];
}

/**
 * Opens `url` and waits for window.__rnodeResults while the page makes progress: it fails
 * over after `stallMs` without a new step or training iteration (window.__rnodeTick), or
 * after `capMs` in all, and then takes what the page has recorded so far
 * (window.__rnodePartial). Returns it with the console and page errors.
 */
export async function runPage(browser: Browser, url: string, { stallMs = 60_000, capMs = 240_000 } = {}): Promise<PageRun> {
  const page = await browser.newPage();
  const log: string[] = [];
  page.on('console', (m) => log.push(`[${m.type()}] ${m.text()}`));
  page.on('pageerror', (e) => log.push(`[pageerror] ${e.message}`));
  page.on('requestfailed', (r) => log.push(`[requestfailed] ${r.url()} ${r.failure()?.errorText ?? ''}`));
  page.on('response', (r) => {
    if (r.status() >= 400) log.push(`[http ${r.status()}] ${r.url()}`);
  });
  type Win = { __rnodeResults?: unknown; __rnodePartial?: unknown; __rnodeTick?: number };
  try {
    await page.goto(url);
    const start = Date.now();
    let tick = -1;
    let lastChange = start;
    let timedOut = false;
    for (;;) {
      const s = await page.evaluate(() => ({ done: !!(window as unknown as Win).__rnodeResults, tick: (window as unknown as Win).__rnodeTick ?? 0 }));
      if (s.done) break;
      const now = Date.now();
      if (s.tick !== tick) [tick, lastChange] = [s.tick, now];
      if (now - lastChange > stallMs || now - start > capMs) {
        timedOut = true;
        log.push(`[harness] no results after ${now - start} ms (${now - lastChange} ms since the last progress)`);
        break;
      }
      await new Promise((r) => setTimeout(r, 500));
    }
    const results = await page.evaluate(() => (window as unknown as Win).__rnodeResults ?? (window as unknown as Win).__rnodePartial ?? null);
    return { results, timedOut, console: log };
  } finally {
    await page.close();
  }
}
