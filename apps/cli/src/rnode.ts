#!/usr/bin/env node
import { enableRelaxedSimd } from '@rnode/models/node';
import { main } from './main.js';

// WebAssembly relaxed SIMD (fused multiply-add) for the fused CNF kernels: on in browsers and
// Node ≥ 22, behind a V8 flag on Node 20. RNODE_RELAXED_SIMD=0 keeps the plain SIMD kernels.
if (process.env['RNODE_RELAXED_SIMD'] !== '0') enableRelaxedSimd();
const code = await main(process.argv.slice(2));
// RNODE_REPORT_RSS=1: the process's peak resident memory (kB) as the last stderr line (tests, RELIABILITY.md).
if (process.env['RNODE_REPORT_RSS'] === '1') {
  const u = process.resourceUsage();
  process.stderr.write(`rnode: peak-rss-kb ${u.maxRSS} cpu-ms ${Math.round((u.userCPUTime + u.systemCPUTime) / 1000)}\n`);
}
// Flush stdout before leaving (pipes are asynchronous); tfjs backends may keep
// handles open, so exit explicitly.
process.stdout.write('', () => process.exit(code));
