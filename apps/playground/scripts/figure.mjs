#!/usr/bin/env node
// docs/figures/playground.png: the page after training both presets on pinwheel on wasm
// (desktop width), for the README. Usage: pnpm --filter @rnode/playground figure
import { existsSync } from 'node:fs';
import { createServer } from 'node:http';
import { fileURLToPath } from 'node:url';
import { chromium } from 'playwright-core';
import sirv from 'sirv';

const DIST = fileURLToPath(new URL('../dist', import.meta.url));
const OUT = fileURLToPath(new URL('../../../docs/figures/playground.png', import.meta.url));
const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
if (!existsSync(`${DIST}/index.html`) || !existsSync(CHROMIUM)) {
  console.error('figure: needs the built app (pnpm --filter @rnode/playground build) and chromium');
  process.exit(1);
}
const hash = process.argv[2] ?? '#data=pinwheel&hidden=32-32&batch=256&lr=0.005&it=300&eval=50&viz=300&backend=wasm';
const handler = sirv(DIST, { dev: true });
const server = createServer((req, res) => handler(req, res, () => ((res.statusCode = 404), res.end())));
await new Promise((ok) => server.listen(0, '127.0.0.1', ok));
const browser = await chromium.launch({ executablePath: CHROMIUM, args: ['--no-sandbox'] });
try {
  const page = await browser.newPage({ viewport: { width: 1280, height: 900 } });
  await page.goto(`http://127.0.0.1:${server.address().port}/${hash}`);
  await page.waitForFunction(() => document.getElementById('status')?.textContent === 'Done.', null, { timeout: 1_200_000, polling: 1000 });
  await page.waitForTimeout(1500); // the trajectories mid-animation
  // The run and its curves: from the side panels to the charts.
  const top = await page.locator('#side-rnode').boundingBox();
  const bottom = await page.locator('#chart-nfe').boundingBox();
  await page.screenshot({ path: OUT, clip: { x: 0, y: top.y - 8, width: 1280, height: bottom.y + bottom.height - top.y + 16 }, fullPage: true });
  console.log(`figure: ${OUT}`);
} finally {
  await browser.close();
  server.close();
}
