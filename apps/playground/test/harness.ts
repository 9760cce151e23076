// Serve the built playground on 127.0.0.1 and drive it in headless chromium (Debian's, with a
// SwiftShader WebGPU adapter), as tests/consumer does. Shared by the test and the bench script.
import { existsSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { fileURLToPath } from 'node:url';
import { chromium, type Browser, type Page } from 'playwright-core';
import sirv from 'sirv';

export const APP_DIR = fileURLToPath(new URL('..', import.meta.url));
export const DIST = fileURLToPath(new URL('../dist', import.meta.url));
export const RNODE_CLI = fileURLToPath(new URL('../../cli/dist/rnode.js', import.meta.url));
export const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
export const CHROMIUM_ARGS = ['--no-sandbox', '--enable-unsafe-webgpu', '--enable-features=Vulkan', '--use-angle=swiftshader', '--use-webgpu-adapter=swiftshader'];
export const ICD = '/usr/lib/chromium/vk_swiftshader_icd.json';

export const haveChromium = existsSync(CHROMIUM);

/** The built app on 127.0.0.1 (a secure context: navigator.gpu is exposed there). */
export async function serveApp(): Promise<{ url: string; server: Server }> {
  if (!existsSync(`${DIST}/index.html`)) throw new Error(`${DIST} is not built: run \`pnpm --filter @rnode/playground build\``);
  const handler = sirv(DIST, { dev: true });
  const server = createServer((req, res) => handler(req, res, () => {
    res.statusCode = 404;
    res.end('not found');
  }));
  await new Promise<void>((ok) => server.listen(0, '127.0.0.1', ok));
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/`, server };
}

export function launch(): Promise<Browser> {
  if (existsSync(ICD)) process.env.VK_ICD_FILENAMES ??= ICD;
  return chromium.launch({ executablePath: CHROMIUM, args: CHROMIUM_ARGS, timeout: 60_000 });
}

export interface SideSnapshot {
  backend: string;
  adapter: string;
  note: string;
  error: string | null;
  iteration: number;
  done: boolean;
  losses: number[];
  nfeForward: number[];
  nfeBackward: number[];
  evals: Array<{ iteration: number; nll: number; nfe: number }>;
  itPerSec: number;
  readyMs: number | null;
  firstIterationMs: number | null;
  visualsIteration: number;
}

export async function snapshot(page: Page): Promise<Record<'rnode' | 'ffjord', SideSnapshot>> {
  return page.evaluate(() => {
    const st = (globalThis as unknown as { __playground: { state: { sides: Record<string, Record<string, unknown>> } } }).__playground.state;
    const pick = (s: Record<string, unknown>) => {
      const { worker: _w, visuals: _v, ...rest } = s;
      return rest;
    };
    return { rnode: pick(st.sides.rnode!), ffjord: pick(st.sides.ffjord!) } as never;
  });
}

/** Wait until both sides reach `iterations` (or one fails), up to `capMs`. */
export async function waitForIterations(page: Page, iterations: number, capMs = 240_000, sides: Array<'rnode' | 'ffjord'> = ['rnode', 'ffjord']) {
  const t0 = Date.now();
  for (;;) {
    const s = await snapshot(page);
    const failed = sides.find((p) => s[p].error);
    if (failed) throw new Error(`${failed}: ${s[failed].error}`);
    if (sides.every((p) => s[p].iteration >= iterations && s[p].losses.length >= iterations)) return s;
    if (Date.now() - t0 > capMs) throw new Error(`timed out after ${capMs} ms: ${JSON.stringify(Object.fromEntries(sides.map((p) => [p, s[p].iteration])))}`);
    await new Promise((r) => setTimeout(r, 250));
  }
}

export function logPage(page: Page, log: string[]): void {
  page.on('console', (m) => log.push(`[${m.type()}] ${m.text()}`));
  page.on('pageerror', (e) => log.push(`[pageerror] ${e.message}`));
  page.on('requestfailed', (r) => log.push(`[requestfailed] ${r.url()}`));
}
