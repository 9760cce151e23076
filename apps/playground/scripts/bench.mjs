#!/usr/bin/env node
// Speed of the playground page next to Node, same backend, same run (BENCHMARKS.md):
// - iterations/s of the toy2d-rnode settings (shared/bench/WORKLOADS.md: pinwheel, batch 512,
//   ODE net 2-64-64-64-2 concatsquash/tanh, rk38 step 0.25, λK = λJ = 0.01, Adam 1e-3) trained in
//   the page (its RNODE worker alone, `#…&only=rnode`) on wasm and on WebGPU, and `rnode-bench
//   toy2d-rnode` (apps/bench) in Node on the same backend: median seconds per iteration after warm-up;
// - the time from opening the page to its first training iteration (wasm; default settings and
//   toy2d-rnode settings).
// Usage: pnpm --filter @rnode/playground bench [--iterations n] [--warmup n] [--backends wasm,webgpu] [--webgpu-iterations n] [--tries n]
// (`--backends ''`: only the time to the first iteration, `--tries` times each; default 3)
// Needs the built app (dist/), apps/bench/dist, and Debian's chromium (SwiftShader for WebGPU here).
import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { createServer } from 'node:http';
import os from 'node:os';
import { parseArgs } from 'node:util';
import { fileURLToPath } from 'node:url';
import { chromium } from 'playwright-core';
import sirv from 'sirv';

const { values: a } = parseArgs({
  options: {
    iterations: { type: 'string', default: '50' },
    warmup: { type: 'string', default: '5' },
    'webgpu-iterations': { type: 'string', default: '5' },
    'webgpu-warmup': { type: 'string', default: '1' },
    backends: { type: 'string', default: 'wasm,webgpu' },
    tries: { type: 'string', default: '3' },
  },
});
const DIST = fileURLToPath(new URL('../dist', import.meta.url));
const BENCH = fileURLToPath(new URL('../../bench/dist/bench.js', import.meta.url));
const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
const ICD = '/usr/lib/chromium/vk_swiftshader_icd.json';
for (const [f, what] of [[`${DIST}/index.html`, 'pnpm --filter @rnode/playground build'], [BENCH, 'pnpm --filter @rnode/bench build'], [CHROMIUM, 'scripts/install-system-deps.sh (chromium)']]) {
  if (!existsSync(f)) {
    console.error(`bench: ${f} is missing (${what})`);
    process.exit(1);
  }
}
if (existsSync(ICD)) process.env.VK_ICD_FILENAMES ??= ICD;

const median = (xs) => {
  const s = [...xs].sort((x, y) => x - y);
  return s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
};

const handler = sirv(DIST, { dev: true });
const server = createServer((req, res) => handler(req, res, () => ((res.statusCode = 404), res.end())));
await new Promise((ok) => server.listen(0, '127.0.0.1', ok));
const url = `http://127.0.0.1:${server.address().port}/`;
const browser = await chromium.launch({ executablePath: CHROMIUM, args: ['--no-sandbox', '--enable-unsafe-webgpu', '--enable-features=Vulkan', '--use-angle=swiftshader', '--use-webgpu-adapter=swiftshader'] });
const TOY2D = 'data=pinwheel&hidden=64-64-64&batch=512&lr=0.001&eval=0&viz=1000000&only=rnode';

async function page(hash, untilIteration, capMs) {
  const p = await browser.newPage();
  await p.goto(url + hash);
  const t0 = Date.now();
  for (;;) {
    const s = await p.evaluate(() => {
      const r = globalThis.__playground.state.sides.rnode;
      return { iteration: r.iteration, losses: r.losses.length, backend: r.backend, adapter: r.adapter, error: r.error, first: r.firstIterationMs, ready: r.readyMs, nfe: r.nfeForward[0] ?? null, nfeB: r.nfeBackward[0] ?? null };
    });
    if (s.error) throw new Error(s.error);
    if (s.losses >= untilIteration) {
      const seconds = await p.evaluate(() => globalThis.__playground.state.sides.rnode.seconds);
      await p.close();
      return { ...s, seconds };
    }
    if (Date.now() - t0 > capMs) throw new Error(`page: ${s.losses} of ${untilIteration} iterations after ${capMs} ms`);
    await new Promise((r) => setTimeout(r, 200));
  }
}

function node(backend, iterations, warmup) {
  const out = execFileSync(process.execPath, [BENCH, 'toy2d-rnode', '--backends', backend, '--iterations', String(iterations), '--warmup', String(warmup), '--json'], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'inherit'] });
  const r = JSON.parse(out.trim().split('\n').at(-1));
  return { median: r.median_s_per_iter, nfe: r.nfe_forward, nfeB: r.nfe_backward, backend: r.backend, spec: r.spec };
}

const rows = [];
try {
  // Time to the first iteration: default page (both sides) and toy2d settings, on wasm; `--tries` each.
  for (const [label, hash] of [['default settings', '#backend=wasm'], ['toy2d-rnode settings', `#backend=wasm&it=1&${TOY2D}`]]) {
    const firsts = [];
    for (let i = 0; i < Number(a.tries); i++) firsts.push((await page(hash, 1, 120_000)).first);
    console.log(`first iteration after page open (wasm, ${label}): ${firsts.map((x) => `${(x / 1000).toFixed(2)} s`).join(', ')} (median ${(median(firsts) / 1000).toFixed(2)} s)`);
    rows.push({ measure: `time to first iteration, ${label}`, backend: 'wasm', seconds: median(firsts) / 1000, tries: firsts.map((x) => x / 1000) });
  }
  for (const backend of a.backends.split(',').filter(Boolean)) {
    const n = Number(backend === 'webgpu' ? a['webgpu-iterations'] : a.iterations);
    const w = Number(backend === 'webgpu' ? a['webgpu-warmup'] : a.warmup);
    const p = await page(`#backend=${backend}&it=${n + w}&${TOY2D}`, n + w, 1_800_000);
    const pageMedian = median(p.seconds.slice(w));
    const nd = node(backend, n, w);
    const ratio = pageMedian / nd.median;
    console.log(`toy2d-rnode on ${backend} (${p.adapter}): page ${pageMedian.toFixed(4)} s/it (${(1 / pageMedian).toFixed(2)} it/s), node ${nd.median.toFixed(4)} s/it (${(1 / nd.median).toFixed(2)} it/s); page/node ${ratio.toFixed(3)}; NFE page ${p.nfe}+${p.nfeB}, node ${nd.nfe}+${nd.nfeB}; ${n} iterations after ${w} warm-up`);
    rows.push({ measure: 'toy2d-rnode s/iter', backend, adapter: p.adapter, page: pageMedian, node: nd.median, ratio, iterations: n, warmup: w, nodeSpec: nd.spec });
  }
} finally {
  await browser.close();
  server.close();
}
console.log(JSON.stringify({ machine: `${os.cpus()[0]?.model} ×${os.cpus().length}, ${Math.round(os.totalmem() / 2 ** 30)} GiB`, node: process.version, chromium: execFileSync(CHROMIUM, ['--version'], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).trim(), rows }));
